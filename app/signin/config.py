"""The settings sign-in needs outside a request (in the mailer, in the delivery workers'
renderer), set once per process by `configure`."""

from __future__ import annotations

from datetime import timedelta

from app.config import PLACEHOLDER_SECRET, Settings


class SignInConfig:
    secret = PLACEHOLDER_SECRET
    link_url = "http://127.0.0.1:8000/sign-in?token={token}"
    link_ttl = timedelta(minutes=15)
    token_ttl = timedelta(days=7)
    per_address_per_hour = 5
    per_client_per_hour = 30


def configure(settings: Settings) -> None:
    SignInConfig.secret = settings.secret_key.get_secret_value()
    SignInConfig.link_url = settings.sign_in_url or (
        settings.public_base_url.rstrip("/") + "/sign-in?token={token}"
    )
    SignInConfig.link_ttl = timedelta(minutes=settings.sign_in_link_minutes)
    SignInConfig.token_ttl = timedelta(hours=settings.sign_in_token_hours)
    SignInConfig.per_address_per_hour = settings.sign_in_per_address_per_hour
    SignInConfig.per_client_per_hour = settings.sign_in_per_client_per_hour
