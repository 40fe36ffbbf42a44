"""Keeping a ticket's full-text vectors current: subject, description and messages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import QueryableAttribute

from app.models import Message, Visibility

# Past this many lexemes a vector stops growing: PostgreSQL caps a tsvector at 1 MB,
# and a ticket with this much text is found by its earlier words anyway.
MAX_LEXEMES = 50_000
_INDEXED_CHARS = 20_000  # of each message


def ticket_document(subject: str, description: str) -> str:
    """The text a ticket's public vector is built from (messages are added later)."""
    return subject + "\n" + description[:_INDEXED_CHARS]


def ticket_text_vector(config: str, subject: str, description: str) -> ColumnElement[str]:
    return document_vector(config, ticket_document(subject, description))


def document_vector(config: Any, document: Any) -> ColumnElement[str]:
    """to_tsvector(config, document): values, or bound parameters of a prebuilt statement."""
    return func.to_tsvector(config, document, type_=TSVECTOR)


def appended(column: QueryableAttribute[str], config: str, body: str) -> ColumnElement[str]:
    addition = func.strip(func.to_tsvector(config, body[:_INDEXED_CHARS], type_=TSVECTOR))
    return case(
        (func.length(column) < MAX_LEXEMES, column.op("||", return_type=TSVECTOR)(addition)),
        else_=column,
    )


def rebuilt_public(
    config: str, ticket_id: int, subject: str, description: str
) -> ColumnElement[str]:
    """The public vector from scratch (after a subject change): text plus public messages."""
    public_messages = (
        select(func.string_agg(func.left(Message.body, _INDEXED_CHARS), "\n"))
        .where(Message.ticket_id == ticket_id, Message.visibility == Visibility.PUBLIC)
        .scalar_subquery()
    )
    messages_vector = func.strip(
        func.to_tsvector(config, func.coalesce(public_messages, ""), type_=TSVECTOR)
    )
    return ticket_text_vector(config, subject, description).op("||", return_type=TSVECTOR)(
        messages_vector
    )
