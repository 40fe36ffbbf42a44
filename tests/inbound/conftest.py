"""The notification tests' real SMTP server and delivery worker, for mail that goes out."""

from tests.notifications.conftest import mail_settings, smtp_server, worker

__all__ = ["mail_settings", "smtp_server", "worker"]
