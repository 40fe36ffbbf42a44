"""The few settings feedback needs outside a request (in the resolution path, in the
delivery workers), set once per process by `app.feedback.setup.configure`."""

from __future__ import annotations

from datetime import timedelta

from app.config import PLACEHOLDER_SECRET, Settings


class FeedbackConfig:
    secret = PLACEHOLDER_SECRET
    public_base_url = "http://127.0.0.1:8000"
    survey_expiry = timedelta(days=14)
    low_rating = 2
    low_rating_reopens = True


def configure(settings: Settings) -> None:
    FeedbackConfig.secret = settings.secret_key.get_secret_value()
    FeedbackConfig.public_base_url = settings.public_base_url.rstrip("/")
    FeedbackConfig.survey_expiry = timedelta(days=settings.survey_expiry_days)
    FeedbackConfig.low_rating = settings.survey_low_rating
    FeedbackConfig.low_rating_reopens = settings.survey_low_rating_reopens
