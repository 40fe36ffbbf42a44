"""ASGI middleware: request body limit and security headers (pure ASGI, no per-request tasks)."""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import PROBLEM_MEDIA_TYPE, problem_body


class GuardMiddleware:
    """Refuses bodies over the limit with 413 and adds headers every response should carry.

    The limit is enforced on Content-Length when given and on the bytes actually read
    otherwise (chunked uploads), so a hostile client cannot make the process buffer
    an unbounded body.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        larger_limit: Callable[[Scope], int | None] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # Routes that take more than JSON (raw mail, uploads) name their own limit.
        self.larger_limit = larger_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        if self.larger_limit is not None:
            limit = self.larger_limit(scope) or limit
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._too_large(scope, send, limit)
            return

        received = 0
        response_started = False
        refused = answered = False

        async def limited_receive() -> Message:
            nonlocal received, refused, answered
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Answer here and tell the app the client has gone: an exception
                    # raised from receive() would be turned into FastAPI's own 400.
                    refused = True
                    if not response_started:
                        await self._too_large(scope, send, limit)
                        answered = True
                    return {"type": "http.disconnect"}
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal response_started
            if answered:
                return  # the 413 is already sent; the app's answer to "gone" is dropped
            if message["type"] == "http.response.start":
                response_started = True
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"x-content-type-options" for name, _ in headers):
                    headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, limited_receive, send_with_headers)

    async def _too_large(self, scope: Scope, send: Send, limit: int) -> None:
        body = json.dumps(
            problem_body(
                status=413,
                type_slug="payload-too-large",
                title="Payload too large",
                detail=f"The request body exceeds {limit} bytes.",
                instance=scope.get("path", ""),
            )
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def header(scope: Scope, wanted: bytes) -> bytes:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return bytes(value)
    return b""


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
