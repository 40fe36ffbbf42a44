"""Wiring feedback into a process: its settings, its notice wording, its rate limiter."""

from __future__ import annotations

from fastapi import FastAPI

from app.auth.rate_limit import RateLimiter
from app.config import Settings
from app.feedback import config, notices


def configure(settings: Settings) -> None:
    """For every process that resolves tickets or sends notices (API and workers)."""
    config.configure(settings)
    notices.register()


def install(app: FastAPI, settings: Settings) -> None:
    """The API's part (its settings come with app.wiring.configure)."""
    # The survey link is used without a token, so it is limited per client address.
    app.state.survey_rate_limiter = RateLimiter(
        settings.survey_rate_limit_per_minute, settings.survey_rate_limit_burst
    )
