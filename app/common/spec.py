"""The OpenAPI document tells the truth: what FastAPI derives from the routes, completed
with what it cannot see.

FastAPI knows the parameters, bodies and the problems each route declares. It does not
know the headers the middleware and the routes add, the statuses the middleware and the
error handlers produce for every operation (400, 413, 415, 503, ...), which operations
are public, nor how the resources link. Those are written down once here; the tests
in tests/contract check them against the running service (schemathesis, every phase)
and against Redocly's recommended rules.
"""

from __future__ import annotations

import re
from typing import Any

from app.common.spec_examples import SCHEMA_EXAMPLES

DESCRIPTION = """\
A service desk behind an HTTP API: customers report a problem once, and the desk owns it
from then on, with one owner at a time, a full timeline, and nothing lost.

The integrator's guide (`docs/integrators.md` in the repository) explains what this
document cannot: the WebSocket protocol at `/api/v1/ws`, webhooks and their signatures,
and the patterns below, with examples that the project's tests run.

- **Authentication**: `Authorization: Bearer <token>`. 401 means the token is missing or
  no longer valid, 403 that its user's role may not do this.
- **Errors**: RFC 9457 problem details (`application/problem+json`) with a `request_id`.
- **Pagination**: `limit` and `cursor`; pages answer `{"items", "next_cursor"}`.
- **Idempotency**: creating `POST`s take `Idempotency-Key`; a retry answers the first
  response with `Idempotent-Replayed: true`.
- **Concurrency**: tickets carry an `ETag`; writes take `If-Match` (stale: 412), reads
  `If-None-Match` (unchanged: 304).
- **Rate limits**: per user across their tokens; every authenticated answer carries
  `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`; over it, 429 with
  `Retry-After`.
- **Request ids**: send `X-Request-ID` (or get one) to find a request in the logs.
"""

TAGS = [
    ("people", "Users, teams and the caller (`/me`). Admins manage people."),
    ("tokens", "API tokens: issued once, listed, revoked. A user holds a bounded number."),
    ("tickets", "Tickets: file, read, list and search, update, assign, change status."),
    ("conversations", "Messages on a ticket: public replies and internal notes."),
    ("timeline", "Every change to a ticket, oldest first; customers see the public part."),
    ("notifications", "Deliveries (email, SMS, webhooks), followers and preferences."),
    ("continuity", "Routing, absences and handovers, escalation and the owner's brief."),
    ("webhooks", "Outbound webhooks (admins): endpoints, secrets, deliveries."),
    ("feedback", "Complaints, suggestions, praise and votes; satisfaction surveys."),
    ("satisfaction", "The satisfaction survey after a ticket is resolved."),
    ("health", "Liveness and readiness probes for load balancers and orchestrators."),
]

_HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "The request's id: the caller's X-Request-ID when it is 1-128 "
        "characters of `A-Za-z0-9._:@/+=-`, otherwise a new one. It appears in every "
        "log line about the request and in problem details.",
        "schema": {"type": "string", "maxLength": 128},
    },
    "RateLimit-Limit": {
        "description": "Requests the caller's user may make at once (the bucket's size).",
        "schema": {"type": "integer", "minimum": 1},
    },
    "RateLimit-Remaining": {
        "description": "Requests left before 429 (approximate across processes).",
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimit-Reset": {
        "description": "Seconds until the bucket is full again.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1},
    },
    "ETag": {
        "description": 'The ticket\'s version as a strong entity tag, e.g. `"3"`: send it '
        "as If-Match to change the ticket, or as If-None-Match to read it only if changed.",
        "schema": {"type": "string"},
    },
    "Location": {
        "description": "The path of what was created.",
        "schema": {"type": "string", "format": "uri-reference"},
    },
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request with "
        "the same Idempotency-Key; nothing was created this time.",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "X-Events-Cursor": {
        "description": "Where this read stands in the event stream: subscribe on the "
        "WebSocket with it as `since` to miss nothing after it (list-then-watch).",
        "schema": {"type": "string"},
    },
    "WWW-Authenticate": {
        "description": "`Bearer`: how to authenticate.",
        "schema": {"type": "string"},
    },
}

# Sent on every response where the document declares them.
_ALWAYS_SENT = {"X-Request-ID", "ETag", "Location", "X-Events-Cursor", "Retry-After"}
_ALWAYS_SENT |= {"WWW-Authenticate"}
# Operations whose successful answer carries these headers (by operationId).
_ETAG = {
    "get_ticket",
    "create_ticket",
    "update_ticket",
    "assign_ticket",
    "change_ticket_status",
    "escalate_ticket",
}
_LOCATION = {
    "create_ticket",
    "create_message",
    "create_feedback",
    "flag_message_as_feedback",
    "vote_for_feedback",
    "answer_ticket_satisfaction",
    "create_absence",
    "create_routing_rule",
    "create_webhook",
}
_EVENTS_CURSOR = {"get_ticket", "list_tickets"}
_CONDITIONAL_GET = {"get_ticket"}
# What a creating POST makes that lives at another path than its collection's.
_OTHER_LINKS = {"create_token": [("revoke_token", "token_id")]}

_EXTRA_STATUSES = {
    304: "Not modified: the ticket still has the ETag sent in If-None-Match",
    400: "Malformed request: the body is not JSON, or a cursor is not one this API issued",
    413: "Request body too large",
    415: "Unsupported media type: the body must be sent as application/json",
    503: "The database is unreachable (for a moment: retry after Retry-After)",
}
_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
_PATH_PARAMETER = re.compile(r"\{([^}]+)\}")


def finish(spec: dict[str, Any]) -> dict[str, Any]:
    spec["info"]["description"] = DESCRIPTION
    spec["info"]["license"] = {
        "name": "Apache-2.0",
        "url": "https://www.apache.org/licenses/LICENSE-2.0",
    }
    spec["info"]["contact"] = {"name": "The Helpdesk maintainers"}
    spec["servers"] = [{"url": "/", "description": "The server that serves this document"}]
    spec["tags"] = [{"name": name, "description": text} for name, text in TAGS]
    spec["security"] = [{"HTTPBearer": []}]
    components = spec.setdefault("components", {})
    components["headers"] = {
        _component(name): {**value, "required": name in _ALWAYS_SENT}
        for name, value in _HEADERS.items()
    }
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            _complete(path, method, operation)
    _link_created_resources(spec)
    for name, example in SCHEMA_EXAMPLES.items():
        schema = components.get("schemas", {}).get(name)
        if schema is not None:
            schema["examples"] = [example]
    return spec


def _complete(path: str, method: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation["responses"]
    public = "security" not in operation
    if public:
        operation["security"] = []
    api = path.startswith("/api/")
    statuses: set[int] = set()
    if api:
        statuses.add(503)
    if "requestBody" in operation:
        statuses |= {400, 413, 415, 422}
    if operation["operationId"] in _CONDITIONAL_GET:
        statuses.add(304)
    for status in sorted(statuses):
        if str(status) not in responses:
            response: dict[str, Any] = {"description": _EXTRA_STATUSES.get(status, "Error")}
            if status != 304:
                response["content"] = _PROBLEM
            responses[str(status)] = response
    operation["responses"] = dict(sorted(responses.items()))
    idempotent = any(
        parameter["name"].lower() == "idempotency-key"
        for parameter in operation.get("parameters", [])
    )
    for code, response in operation["responses"].items():
        headers = response.setdefault("headers", {})
        _add(headers, "X-Request-ID")
        if not public and api:
            for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"):
                _add(headers, name)
        status = int(code)
        op = operation["operationId"]
        if status == 429:
            _add(headers, "Retry-After")
        elif status in (409, 503):
            _add(headers, "Retry-After", required=False)
        elif status == 401:
            _add(headers, "WWW-Authenticate")
        if 200 <= status < 300:
            if op in _ETAG:
                _add(headers, "ETag")
            if op in _LOCATION and status == 201:
                _add(headers, "Location")
            if op in _EVENTS_CURSOR:
                _add(headers, "X-Events-Cursor")
            if idempotent:
                _add(headers, "Idempotent-Replayed")
        if status == 304:
            _add(headers, "ETag")
            _add(headers, "X-Events-Cursor")


def _add(headers: dict[str, Any], name: str, *, required: bool | None = None) -> None:
    """Refer to the header's component, or inline it where it is required only here."""
    always = name in _ALWAYS_SENT
    if required is None or required == always:
        headers[name] = {"$ref": f"#/components/headers/{_component(name)}"}
    else:
        headers[name] = {**_HEADERS[name], "required": required}


def _component(name: str) -> str:
    return name.replace("-", "")


def _link_created_resources(spec: dict[str, Any]) -> None:
    """OpenAPI links from each creating POST to the operations on what it created, so
    clients (and schemathesis' stateful phase) can follow them."""
    paths: dict[str, Any] = spec.get("paths", {})
    for collection, item in paths.items():
        created = item.get("post", {}).get("responses", {}).get("201")
        if created is None:
            continue
        links: dict[str, Any] = {}
        for path, target_item in paths.items():
            if not path.startswith(collection + "/{"):
                continue
            added = _PATH_PARAMETER.findall(path[len(collection) :])
            if len(added) != 1:
                continue  # needs more than the new resource's id
            parameters = {added[0]: "$response.body#/id"}
            for name in _PATH_PARAMETER.findall(collection):
                parameters[name] = f"$request.path.{name}"
            for target in target_item.values():
                links[_link_name(target["operationId"])] = {
                    "operationId": target["operationId"],
                    "parameters": parameters,
                }
        for operation_id, parameter in _OTHER_LINKS.get(item["post"]["operationId"], ()):
            links[_link_name(operation_id)] = {
                "operationId": operation_id,
                "parameters": {parameter: "$response.body#/id"},
            }
        if links:
            created["links"] = dict(sorted(links.items()))


def _link_name(operation_id: str) -> str:
    return "".join(part.title() for part in operation_id.split("_"))
