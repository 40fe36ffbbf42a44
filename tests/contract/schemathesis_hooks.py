"""schemathesis hooks: how a generated body is sent where schemathesis has no serializer
of its own (a raw mail for POST /inbound/email), the provider's signature on the SMS
webhooks, and the fuzzer's own credentials kept out of its reach."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import schemathesis

from app.inbound.twilio import signature


@schemathesis.serializer("message/rfc822")
def raw_mail(ctx: Any, value: Any) -> bytes:
    """The generated string or bytes as the raw message, whatever it holds."""
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "surrogateescape")


# The SMS provider webhooks only take requests signed as the provider signs them; the
# served service is given this auth token and public address, and the fuzzer signs what
# it sends with them (the very requests it sends, so a case it mangles fails, as it
# should).
SMS_AUTH_TOKEN = "contract-sms-auth-token"
SMS_WEBHOOK_BASE_URL = "https://sms.contract.example"
_SIGNED_PATHS = ("/api/v1/inbound/sms/twilio", "/api/v1/inbound/sms/twilio/status")


# The fuzzing admin (tests/contract/test_schemathesis.py): its user and its token.
FUZZER_ID = 917_364_251
NOBODY = FUZZER_ID + 1  # names no user and no token: a 404
# The calls that would lock the fuzzer out: revoking its token, or changing its own user
# (deactivating it revokes every token; another role makes the rest 403).
_SELF_LOCKING = {
    ("DELETE", "/api/v1/tokens/{token_id}"): "token_id",
    ("PATCH", "/api/v1/users/{user_id}"): "user_id",
}


def _spare_the_fuzzer(case: Any) -> None:
    """Its id is far from the ones it makes up, but it also learns ids from answers
    (its own, from /me and the token list): a call that would lock it out halfway, and
    leave the rest of the run testing nothing but 401s, is aimed at nobody instead."""
    name = _SELF_LOCKING.get((case.method.upper(), case.path))
    if name is not None and str(case.path_parameters.get(name)) == str(FUZZER_ID):
        case.path_parameters[name] = NOBODY


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    _spare_the_fuzzer(case)
    path = case.formatted_path if hasattr(case, "formatted_path") else case.path
    if path not in _SIGNED_PATHS or case.method.upper() != "POST":
        return
    body = case.body
    if not isinstance(body, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in body.items()
    ):
        return
    query = urlencode(case.query or {}, doseq=True)
    url = SMS_WEBHOOK_BASE_URL + path + (f"?{query}" if query else "")
    case.headers = {
        **(case.headers or {}),
        "X-Twilio-Signature": signature(SMS_AUTH_TOKEN, url, body.items()),
    }
