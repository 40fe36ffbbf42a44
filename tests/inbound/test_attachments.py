"""Attachments, for every channel: from mail and from uploads, stored once, served as
downloads, as visible as their message, and carried by outgoing mail."""

from __future__ import annotations

import hashlib
from typing import Any

from httpx import AsyncClient

from app.notifications.worker import DeliveryWorker
from tests.factories import Actor, Actors, assert_problem
from tests.inbound.helpers import file_ticket, mail, take_in
from tests.notifications.conftest import SmtpServer

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


async def _files(client: AsyncClient, actor: Actor, ticket_id: int) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/tickets/{ticket_id}/attachments", headers=actor.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_mails_files_come_with_its_ticket_and_download_safely(
    client: AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()
    page = b"<html><script>alert(1)</script></html>"
    answer = await take_in(
        client,
        admin,
        mail(
            attachments=[
                ("invoice.pdf", "application/pdf", PDF),
                ("page.html", "text/html", page),
            ]
        ),
    )
    [pdf, html] = await _files(client, admin, answer["ticket_id"])
    assert (pdf["filename"], pdf["content_type"], pdf["size"]) == (
        "invoice.pdf",
        "application/pdf",
        len(PDF),
    )
    assert pdf["sha256"] == hashlib.sha256(PDF).hexdigest()

    download = await client.get(f"/api/v1/attachments/{html['id']}", headers=admin.headers)

    assert download.content == page
    assert download.headers["content-type"].startswith("text/html")
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in download.headers["content-security-policy"]


async def test_a_file_the_policy_refuses_does_not_stop_the_mail(
    client: AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()
    answer = await take_in(
        client,
        admin,
        mail(attachments=[("setup.exe", "application/octet-stream", b"MZ\x90\x00" + b"\x00" * 64)]),
    )
    assert answer["outcome"] == "created"
    assert "setup.exe" in answer["reason"]
    assert await _files(client, admin, answer["ticket_id"]) == []


async def test_uploads_take_their_messages_visibility(client: AsyncClient, actors: Actors) -> None:
    customer = await actors.customer()
    agent = await actors.agent()
    ticket_id = await file_ticket(client, customer)

    note = await client.post(
        f"/api/v1/tickets/{ticket_id}/messages",
        data={"payload": '{"body": "Logs attached", "visibility": "internal"}'},
        files=[("files", ("server.log", b"secret stack trace", "text/plain"))],
        headers=agent.headers,
    )
    reply = await client.post(
        f"/api/v1/tickets/{ticket_id}/messages",
        data={"payload": '{"body": "Here is the manual"}'},
        files=[("files", ("manual.pdf", PDF, "application/pdf"))],
        headers=agent.headers,
    )

    assert note.status_code == 201, note.text
    [secret] = note.json()["attachments"]
    [manual] = reply.json()["attachments"]
    assert [f["id"] for f in await _files(client, customer, ticket_id)] == [manual["id"]]
    assert len(await _files(client, agent, ticket_id)) == 2
    assert_problem(
        await client.get(f"/api/v1/attachments/{secret['id']}", headers=customer.headers), 404
    )
    assert (
        await client.get(f"/api/v1/attachments/{manual['id']}", headers=customer.headers)
    ).content == PDF
    listed = (
        await client.get(f"/api/v1/tickets/{ticket_id}/messages", headers=customer.headers)
    ).json()["items"]
    assert [m["attachments"] for m in listed] == [[manual]]


async def test_a_ticket_can_be_filed_with_files(client: AsyncClient, actors: Actors) -> None:
    customer = await actors.customer()
    response = await client.post(
        "/api/v1/tickets",
        data={"payload": '{"subject": "Broken", "description": "See the photo"}'},
        files=[("files", ("photo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, "image/png"))],
        headers=customer.headers,
    )
    assert response.status_code == 201, response.text
    [photo] = await _files(client, customer, response.json()["id"])
    assert photo["content_type"] == "image/png"


async def test_an_upload_the_policy_refuses_is_a_422_and_nothing_is_filed(
    client: AsyncClient, actors: Actors
) -> None:
    customer = await actors.customer()
    response = await client.post(
        "/api/v1/tickets",
        data={"payload": '{"subject": "x", "description": "y"}'},
        files=[("files", ("run.sh", b"#!/bin/sh\nrm -rf /\n", "text/plain"))],
        headers=customer.headers,
    )
    assert_problem(response, 422)
    assert (await client.get("/api/v1/tickets", headers=customer.headers)).json()["items"] == []


async def test_outgoing_mail_carries_the_public_files_of_a_reply(
    client: AsyncClient, actors: Actors, worker: DeliveryWorker, smtp_server: SmtpServer
) -> None:
    customer = await actors.customer()
    agent = await actors.agent()
    ticket_id = await file_ticket(client, customer)
    reply = await client.post(
        f"/api/v1/tickets/{ticket_id}/messages",
        data={"payload": '{"body": "Here is the manual"}'},
        files=[("files", ("manual.pdf", PDF, "application/pdf"))],
        headers=agent.headers,
    )
    assert reply.status_code == 201

    await worker.run_until_idle()

    [sent] = smtp_server.handler.to(customer.email)  # the receipt and the reply, coalesced
    assert "Here is the manual" in str(sent)
    attached = list(sent.iter_attachments())
    assert [(a.get_filename(), a.get_content()) for a in attached] == [("manual.pdf", PDF)]


async def test_a_forged_download_link_is_not_found_whatever_its_signature(
    client: AsyncClient,
) -> None:
    for signature in ("0" * 64, "é" * 64, "zz"):
        response = await client.get(
            "/api/v1/attachments/1/download", params={"expires": 2**40, "signature": signature}
        )
        assert response.status_code in (404, 422), response.text
