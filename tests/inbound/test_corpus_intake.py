"""Real mail nobody here wrote, through the endpoint: the shared corpus (Request
Tracker's, FreeScout's and django-helpdesk's test mail), CPython's email tests and our
client fixtures. No 5xx, and every mail accounted for: recorded on a ticket, or ignored
or quarantined with a reason. A mail's text reaches its ticket as the sender wrote it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from httpx import AsyncClient

from tests.factories import Actors
from tests.inbound.helpers import FIXTURES, post_mail
from tests.inbound.mail.sources import CORPUS, corpus_files, cpython_files

needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"the shared mail corpus is not at {CORPUS}"
)


async def _through_the_endpoint(
    client: AsyncClient, actors: Actors, files: list[Path]
) -> list[tuple[Path, dict[str, Any]]]:
    integration = await actors.integration()
    answers = []
    for path in files:
        response = await post_mail(client, integration, path.read_bytes())
        assert response.status_code == 202, f"{path}: {response.status_code} {response.text}"
        answers.append((path, response.json()))
    return answers


def _accounted_for(path: Path, answer: dict[str, Any]) -> None:
    outcome = answer["outcome"]
    assert outcome in {"created", "appended", "followup", "ignored", "quarantined"}, path
    if outcome in {"created", "appended", "followup"}:
        assert answer["ticket_id"] is not None, path
    else:
        assert answer["reason"], f"{path}: {outcome} without a reason"


@needs_corpus
async def test_every_mail_of_the_shared_corpus_is_accounted_for(
    client: AsyncClient, actors: Actors
) -> None:
    files = corpus_files()
    answers = await _through_the_endpoint(client, actors, files)
    for path, answer in answers:
        _accounted_for(path, answer)
    recorded = [a for _, a in answers if a["outcome"] in {"created", "appended", "followup"}]
    assert len(recorded) >= len(files) * 0.8  # nearly all are mail a person wrote


async def test_every_mail_of_cpythons_email_tests_is_accounted_for(
    client: AsyncClient, actors: Actors
) -> None:
    files = cpython_files() + sorted(FIXTURES.glob("*.eml"))
    for path, answer in await _through_the_endpoint(client, actors, files):
        _accounted_for(path, answer)


@needs_corpus
async def test_corpus_mail_reads_on_its_ticket_as_it_was_written(
    client: AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()
    cases = {
        "rt/new-ticket-from-iso-8859-1": ("Sujet accentué", None),
        "freescout/message-5-iso-2022-jp.eml": (None, None),
        "rt/russian-subject-no-content-type": (None, None),
    }
    for name in cases:
        path = CORPUS / name
        if not path.is_file():
            continue
        [(_, answer)] = await _through_the_endpoint(client, actors, [path])
        _accounted_for(path, answer)
        if answer["ticket_id"] is None:
            continue
        ticket = (
            await client.get(f"/api/v1/tickets/{answer['ticket_id']}", headers=admin.headers)
        ).json()
        assert ticket["subject"], name
        assert "\ufffd" not in ticket["subject"], name
        assert ticket["description"].strip(), name
