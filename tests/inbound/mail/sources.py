"""Where the test mail lives: our own fixtures, the shared corpus of other helpdesks'
test mail (beside the repository, absent on some machines) and CPython's email tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from app.inbound.mail import MailParseFailure, ParsedMail, parse_mail

FIXTURES = Path(__file__).parent / "fixtures"
REPO_ROOT = Path(__file__).resolve().parents[3]
# Beside the repository; a worktree elsewhere names it with HELPDESK_TEST_MAIL_CORPUS.
CORPUS = Path(
    os.environ.get("HELPDESK_TEST_MAIL_CORPUS") or REPO_ROOT.parent / "shared" / "mail-corpus"
)
CORPUS_FOLDERS = ("rt", "freescout", "django-helpdesk")


def cpython_email_data() -> Path | None:
    """CPython's own test_email data: importable in a full install; else under the
    base interpreter's library (a venv's Python may lack the test package)."""
    try:
        import test.test_email

        folder = Path(test.test_email.__file__).parent / "data"
        if folder.is_dir():
            return folder
    except ImportError:
        pass
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for prefix in (sys.base_prefix, sys.prefix):
        folder = Path(prefix) / "lib" / version / "test" / "test_email" / "data"
        if folder.is_dir():
            return folder
    return None


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(
        path for folder in CORPUS_FOLDERS for path in (CORPUS / folder).rglob("*") if path.is_file()
    )


def cpython_files() -> list[Path]:
    folder = cpython_email_data()
    return sorted(folder.glob("msg_*.txt")) if folder is not None else []


def fixture(name: str) -> ParsedMail:
    return parsed((FIXTURES / name).read_bytes())


def corpus(name: str) -> ParsedMail:
    return parsed((CORPUS / name).read_bytes())


def parsed(raw: bytes) -> ParsedMail:
    result = parse_mail(raw)
    assert not isinstance(result, MailParseFailure), result
    return result
