"""Settings: one class, read from `HELPDESK_*` environment variables (and `.env`)."""

from __future__ import annotations

import json
from datetime import timedelta
from email.utils import parseaddr
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.denied_files import DEFAULT_DENIED_EXTENSIONS, DEFAULT_DENIED_TYPES

PLACEHOLDER_SECRET = "change-me-in-production"  # noqa: S105 - the placeholder production refuses


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HELPDESK_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Environment = Environment.DEVELOPMENT
    database_url: str | None = Field(
        default=None,
        description="postgresql+asyncpg://user:pass@host:port/db; unset = embedded PostgreSQL.",
    )
    data_dir: Path = Field(
        default=Path("var"),
        description="Local state: the embedded PostgreSQL cluster, the file mailbox.",
    )
    secret_key: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    # Sized to the requests one process serves at once (plus its background tasks):
    # an overflow connection is closed when returned, and the next one pays a backend
    # fork, cold catalog caches and re-planning of every statement.
    db_pool_size: int = Field(default=20, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    rate_limit_per_minute: int = Field(
        default=1200,
        ge=1,
        description="Requests per user per minute, across their tokens and every process.",
    )
    rate_limit_burst: int | None = Field(
        default=None,
        ge=1,
        description="Requests a user may make at once; unset: ten seconds' worth of the rate.",
    )
    max_tokens_per_user: int = Field(
        default=20, ge=1, le=10_000, description="Active (unrevoked, unexpired) tokens per user."
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    token_touch_interval_seconds: int = Field(
        default=60, ge=0, description="How stale last_used_at may get before it is written."
    )
    token_cache_seconds: float = Field(
        default=5,
        ge=0,
        description="How long a process reuses a token lookup; changes to the token or its "
        "user end it at once (0: look up every request).",
    )
    search_config: str = Field(
        default="simple",
        pattern=r"^[a-z_]+$",
        description="PostgreSQL text search configuration (simple works for any language).",
    )
    ws_allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Browser origins allowed on the WebSocket besides same-origin.",
    )
    ws_auth_timeout_seconds: float = Field(default=10, gt=0)
    ws_per_message_deflate: bool = Field(
        default=False,
        description="Offer permessage-deflate on WebSockets (negotiated without context "
        "takeover, so idle sockets hold no zlib state; costs CPU per frame and client).",
    )
    ws_max_message_bytes: int = Field(
        default=65_536,
        ge=1024,
        description="Largest WebSocket message a client may send (clients send small "
        "control frames); a larger one closes the socket with 1009.",
    )
    ws_tcp_user_timeout_seconds: float = Field(
        default=60,
        ge=0,
        description="Reset a WebSocket whose peer has taken no data for this long "
        "(TCP_USER_TIMEOUT; 0: never), releasing its socket and buffers.",
    )
    live_queue_size: int = Field(
        default=1000, ge=10, description="Frames a slow WebSocket client may fall behind by."
    )
    live_replay_window_seconds: int = Field(
        default=86_400, ge=60, description="How old a resume cursor may be."
    )
    live_replay_max_events: int = Field(default=10_000, ge=100)
    live_poll_interval_seconds: float = Field(
        default=1.0, gt=0, description="Safety-net poll of the event feed without a NOTIFY."
    )
    # Notifications ---------------------------------------------------------
    smtp_host: str | None = Field(
        default=None, description="SMTP server; unset = write mail to the file mailbox."
    )
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    smtp_timeout_seconds: float = Field(default=30, gt=0)
    mail_from: str = "Helpdesk <helpdesk@localhost>"
    mail_domain: str = Field(
        default="helpdesk.localhost", description="Right-hand side of Message-IDs."
    )
    sms_provider_url: str | None = Field(
        default=None, description="Twilio-compatible API base URL; unset = SMS file mailbox."
    )
    sms_account_sid: str | None = None
    sms_auth_token: SecretStr | None = None
    sms_from: str | None = None
    sms_max_chars: int = Field(default=320, ge=70, le=1600)
    sms_webhook_base_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s/]+(/[^\s]*)?$",
        description="The scheme, host and path prefix the SMS provider calls this service "
        "at, as configured at the provider (X-Twilio-Signature signs that URL, not the one a "
        "proxy forwards to). Unset: public_base_url.",
    )
    chat_fallback_seconds: float = Field(
        default=300,
        gt=0,
        description="A chat no staff member has answered within this long goes on by "
        "email: the customer is mailed the transcript.",
    )
    chat_fallback_check_seconds: float = Field(
        default=15, gt=0, description="How often the background process looks for them."
    )
    sms_thread_window_minutes: float = Field(
        default=1440,
        gt=0,
        description="A text within this long of the last one from the same number goes on "
        "the same open ticket; later, it opens a new one.",
    )
    notification_workers: int = Field(
        default=1, ge=0, le=32, description="Delivery workers inside `helpdesk serve` (0: none)."
    )
    notification_concurrency: int = Field(default=4, ge=1, le=256)
    notification_lease_seconds: float = Field(default=60, gt=0)
    notification_poll_interval_seconds: float = Field(default=1.0, gt=0)
    notification_coalesce_seconds: float = Field(
        default=60, ge=0, description="Window in which changes to one ticket share one message."
    )
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma separated host names, IP addresses or networks (CIDR) that webhooks "
        "may target although private, loopback or link-local (e.g. 127.0.0.1,10.0.0.0/8).",
    )
    webhook_allow_private_targets: bool = Field(
        default=False, description="Let webhooks target any address, private ones included."
    )
    webhook_timeout_seconds: float = Field(
        default=10, gt=0, le=60, description="How long a webhook receiver may take to answer."
    )
    webhook_disable_after_hours: float = Field(
        default=72, gt=0, description="An endpoint failing continuously this long is disabled."
    )
    idempotency_purge_interval_seconds: float = Field(default=600, gt=0)
    # Continuity ------------------------------------------------------------
    continuity_scheduler: bool = Field(
        default=True,
        description="Run the absence scheduler (handover, hand-back) in `helpdesk serve`; "
        "one process at a time holds it.",
    )
    continuity_scheduler_interval_seconds: float = Field(
        default=60, gt=0, description="How often the scheduler looks for absences starting."
    )
    continuity_batch_size: int = Field(
        default=25, ge=1, le=1000, description="Tickets handed over per transaction."
    )
    continuity_workers: int = Field(
        default=3, ge=1, le=32, description="Transactions a handover runs side by side."
    )
    # SLA -------------------------------------------------------------------
    sla_watcher: bool = Field(
        default=True,
        description="Raise sla.warning and sla.breached events in `helpdesk serve`.",
    )
    sla_check_interval_seconds: float = Field(
        default=60, gt=0, description="How often the SLA watcher looks for targets due."
    )
    # Metrics ---------------------------------------------------------------
    metrics_compactor: bool = Field(
        default=True,
        description="Move the rollup deltas into the rollups in `helpdesk serve`, and at "
        "start fold the tickets filed before the metrics existed.",
    )
    metrics_compact_interval_seconds: float = Field(
        default=10, gt=0, description="How often the rollup deltas are compacted."
    )
    # Threshold alerts ------------------------------------------------------
    alert_evaluator: bool = Field(
        default=True,
        description="Evaluate the alert rules in `helpdesk serve` (one process at a time).",
    )
    alert_check_interval_seconds: float = Field(
        default=60, gt=0, description="How often the alert rules are evaluated."
    )
    sla_warning_ratio: float = Field(
        default=0.8,
        gt=0,
        lt=1,
        description="Warn when this share of the time to a target has gone.",
    )
    default_team: str = Field(
        default="General",
        min_length=1,
        max_length=100,
        description="The catch-all team of tickets no routing rule places and nobody names "
        "(made on first use if missing).",
    )
    unowned_alert_minutes: float = Field(
        default=30,
        gt=0,
        description="A ticket nobody has taken this long after it came in alerts its team's "
        "supervisors (once), on the SLA watcher's pass.",
    )

    @property
    def unowned_alert_after(self) -> timedelta:
        return timedelta(minutes=self.unowned_alert_minutes)

    # Feedback --------------------------------------------------------------
    public_base_url: str = Field(
        # `helpdesk serve` sets it to its own address when unset (see app/cli.py).
        default="http://127.0.0.1:8000",
        pattern=r"^https?://[^\s/]+(/[^\s]*)?$",
        description="Where customers reach this service: the start of links in emails.",
    )
    survey_expiry_days: int = Field(
        default=14, ge=1, le=365, description="How long a satisfaction survey link works."
    )
    survey_low_rating: int = Field(
        default=2, ge=1, le=5, description="Ratings at or below this alert the supervisor."
    )
    survey_low_rating_reopens: bool = Field(
        default=True,
        description="A low rating reopens the resolved ticket (a closed one gets a follow-up "
        "ticket), so its owner follows up.",
    )
    survey_rate_limit_per_minute: int = Field(
        default=30, ge=1, description="Anonymous survey-link requests per client IP per minute."
    )
    survey_rate_limit_burst: int = Field(default=10, ge=1)
    # Inbound mail and attachments -----------------------------------------
    inbound_max_message_bytes: int = Field(
        default=40 * 1024 * 1024,
        ge=64 * 1024,
        description="Largest raw mail taken in; a larger one is quarantined unread. The "
        "default leaves room for a 25 MB attachment after base64's 4/3 growth.",
    )
    inbound_fallback_charsets: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Charsets to try first for mail text that names none (comma separated, "
        "e.g. koi8-r,windows-1251 for a Russian desk); a guess is made either way.",
    )
    attachment_store: Literal["local", "s3"] = Field(
        default="local", description="Where attachment files live: a local folder or S3."
    )
    attachment_dir: Path | None = Field(
        default=None,
        description="The local attachment folder; unset = HELPDESK_DATA_DIR/attachments. "
        "Also the spool for uploads to S3.",
    )
    attachment_max_bytes: int = Field(
        default=25 * 1024 * 1024, ge=1024, description="Largest attachment accepted."
    )
    attachment_denied_extensions: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_DENIED_EXTENSIONS),
        description="File name extensions refused (comma separated); default: the "
        "executables and scripts mail services block.",
    )
    attachment_denied_types: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_DENIED_TYPES),
        description="Content types refused (comma separated, image/* style allowed).",
    )
    attachment_allowed_types: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="When set, the only content types accepted (comma separated).",
    )
    attachment_max_files: int = Field(
        default=20, ge=1, le=100, description="Files one upload (multipart) may carry."
    )
    attachment_mail_link_above_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=0,
        description="Notification emails carry a message's public files up to this many "
        "bytes in all; larger ones are sent as links (0: always links).",
    )
    attachment_s3_bucket: str | None = None
    attachment_s3_prefix: str = Field(
        default="attachments/", description="Key prefix of attachment objects in the bucket."
    )
    attachment_s3_endpoint_url: str | None = Field(
        default=None, description="For S3-compatible services (MinIO...); unset = AWS."
    )
    attachment_s3_region: str | None = None
    attachment_s3_access_key_id: str | None = None
    attachment_s3_secret_access_key: SecretStr | None = None
    attachment_s3_addressing_style: Literal["auto", "path", "virtual"] = "auto"
    # Email intake -------------------------------------------------------------
    inbound_addresses: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="The desk's own addresses (comma separated): the SMTP receiver accepts "
        "mail for them (and their +tags), and mail from them is never taken in. The "
        "address of HELPDESK_MAIL_FROM always counts.",
    )
    inbound_reply_address: str | None = Field(
        default=None,
        description="When set (support@desk.example), notification emails carry a "
        "per-ticket Reply-To (support+t42@desk.example) that threads the answer.",
    )
    inbound_smtp_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Run the SMTP (or LMTP) receiver on this port; unset or 0: no receiver.",
    )
    inbound_smtp_host: str = Field(default="127.0.0.1", description="Where it listens.")
    inbound_smtp_protocol: Literal["smtp", "lmtp"] = "smtp"
    inbound_sender_limit: int = Field(
        default=20,
        ge=1,
        description="Mails one sender may send per window before the rest "
        "of the storm is quarantined.",
    )
    inbound_sender_window_seconds: float = Field(default=600, gt=0)
    inbound_imap: bool = Field(
        default=True,
        description="Poll the configured IMAP mailboxes (one poller per mailbox across "
        "every process).",
    )
    inbound_imap_poll_seconds: float = Field(
        default=60, gt=0, description="How often a mailbox without IDLE is polled."
    )
    inbound_imap_idle_seconds: float = Field(
        default=1500,
        gt=0,
        le=1740,
        description="How long one IDLE waits before it is renewed (servers drop it at 30 min).",
    )
    # Customer sign-in by emailed link -------------------------------------
    sign_in_link_minutes: int = Field(
        default=15, ge=1, le=1440, description="How long an emailed sign-in link works."
    )
    sign_in_token_hours: int = Field(
        default=168, ge=1, le=8760, description="How long the token a sign-in link gives works."
    )
    sign_in_per_address_per_hour: int = Field(
        default=5, ge=1, description="Sign-in links that may be asked for one address per hour."
    )
    sign_in_per_client_per_hour: int = Field(
        default=30,
        ge=1,
        description="Sign-in requests (asking for links, redeeming them) per client address "
        "per hour.",
    )
    sign_in_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s]*\{token\}[^\s]*$",
        description="The portal page a sign-in link opens, with {token} where the token goes; "
        "unset = HELPDESK_PUBLIC_BASE_URL/sign-in?token={token}.",
    )
    # What customers see -----------------------------------------------------
    customer_visible_fields: Annotated[
        list[Literal["tags", "impact", "priority", "sla_breached", "problem_id"]], NoDecode
    ] = Field(
        default_factory=list,
        description="Staff-only ticket fields customers (and integrations) are shown anyway "
        "(comma separated); by default they see none of them (docs/visibility.md).",
    )
    log_level: Literal["critical", "error", "warning", "info", "debug", "trace"] = "info"
    log_format: Literal["text", "json"] = Field(
        default="text", description="text: one readable line per record; json: one object."
    )
    # Observability ---------------------------------------------------------
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token /metrics asks for; unset: /metrics answers loopback only.",
    )

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if value.startswith(("postgres://", "postgresql://")):
            # Accept the URL most tools print and use the driver the service needs.
            rest = value.split("://", 1)[1]
            return f"postgresql+asyncpg://{rest}"
        if not value.startswith("postgresql+asyncpg://"):
            raise ValueError("must be a postgresql+asyncpg:// (or postgresql://) URL")
        return value

    @field_validator(
        "ws_allowed_origins",
        "webhook_allowed_hosts",
        "inbound_fallback_charsets",
        "attachment_denied_extensions",
        "attachment_denied_types",
        "attachment_allowed_types",
        "inbound_addresses",
        "customer_visible_fields",
        mode="before",
    )
    @classmethod
    def _json_or_comma_separated(cls, value: object) -> object:
        """A JSON list (`["https://a.example"]`) or a comma-separated one."""
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                try:
                    parsed = json.loads(value)
                except ValueError:
                    raise ValueError("is not a valid JSON list") from None
                if not isinstance(parsed, list) or not all(isinstance(v, str) for v in parsed):
                    raise ValueError("must be a JSON list of strings")
                return [item.strip() for item in parsed if item.strip()]
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("ws_allowed_origins")
    @classmethod
    def _origins_without_slash(cls, value: list[str]) -> list[str]:
        # Browsers send `https://console.example.com`, never with a trailing slash.
        return [origin.rstrip("/") for origin in value]

    @model_validator(mode="after")
    def _no_placeholder_secret_in_production(self) -> Settings:
        secret = self.secret_key.get_secret_value()
        if self.env is Environment.PRODUCTION and (
            secret == PLACEHOLDER_SECRET or len(secret) < 32
        ):
            raise ValueError(
                "HELPDESK_SECRET_KEY must be set to a random value of at least 32 characters "
                "in production"
            )
        return self

    @property
    def effective_rate_limit_burst(self) -> int:
        return self.rate_limit_burst or max(1, self.rate_limit_per_minute // 6)

    @property
    def postgres_data_dir(self) -> Path:
        return self.data_dir / "postgres"

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> Settings:
        if self.attachment_store == "s3" and not self.attachment_s3_bucket:
            raise ValueError("HELPDESK_ATTACHMENT_STORE=s3 needs HELPDESK_ATTACHMENT_S3_BUCKET")
        return self

    @property
    def desk_addresses(self) -> list[str]:
        """Every address that is the desk's own: the configured ones, the reply address
        and the address mail is sent from, lower case, each once."""
        found = [*self.inbound_addresses, self.inbound_reply_address or ""]
        found.append(parseaddr(self.mail_from)[1])
        return list(dict.fromkeys(a.strip().lower() for a in found if a and "@" in a))

    @property
    def mailbox_dir(self) -> Path:
        return self.data_dir / "mailbox"

    @property
    def attachments_dir(self) -> Path:
        return self.attachment_dir or self.data_dir / "attachments"


@lru_cache
def get_settings() -> Settings:
    return Settings()
