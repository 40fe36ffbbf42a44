"""How customers hear about merges: reactions registered in app/wiring.py.

- On `ticket.merged`: the duplicate's requester is told once, on the duplicate, where
  their request lives now.
- On `ticket.status_changed` to resolved: the requesters of duplicates merged into the
  resolved ticket who are not its requester (another customer's request was the
  primary) hear it on their own ticket. They never see the primary's conversation;
  this is how their request follows it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from app.events.reactions import Batch
from app.events.records import Recorded
from app.merging import notices
from app.models import LinkRelation, Ticket, TicketLink, TicketStatus
from app.notifications.outbox import PERSONAL_NOTICES, PersonalNotice
from app.notifications.rules import NoticeTopic


async def tell_requesters_where_merged(batch: Batch, recorded: Sequence[Recorded]) -> None:
    for item in recorded:
        data = item.event.data
        into_id = data.get("into_id")
        if not isinstance(into_id, int):
            continue  # the primary's side of the merge
        same = bool(data.get("same_requester"))
        subject = None
        if same:
            subject = await batch.session.scalar(select(Ticket.subject).where(Ticket.id == into_id))
        batch.leave(
            PERSONAL_NOTICES,
            PersonalNotice(
                item.ticket.requester_id,
                NoticeTopic.STATUS,
                kind=notices.MERGED,
                data={"into_id": into_id, "same_requester": same, "into_subject": subject},
                ticket=item.ticket,
            ),
        )


async def tell_merged_requesters_of_resolution(batch: Batch, recorded: Sequence[Recorded]) -> None:
    resolved = {
        item.ticket.id: item.ticket
        for item in recorded
        if item.event.data.get("to") == TicketStatus.RESOLVED.value
        and item.event.data.get("from") != TicketStatus.RESOLVED.value
    }
    if not resolved:
        return
    duplicates = await batch.session.execute(
        select(TicketLink.ticket_id, Ticket)
        .join(Ticket, Ticket.id == TicketLink.linked_id)
        .where(
            TicketLink.ticket_id.in_(resolved),
            TicketLink.relation == LinkRelation.MERGED_FROM,
        )
        .order_by(Ticket.id)
    )
    told: set[tuple[int, int]] = set()
    for primary_id, duplicate in duplicates.all():
        requester = duplicate.requester_id
        if requester == resolved[primary_id].requester_id or (primary_id, requester) in told:
            continue
        told.add((primary_id, requester))
        batch.leave(
            PERSONAL_NOTICES,
            PersonalNotice(
                requester,
                NoticeTopic.STATUS,
                kind=notices.PRIMARY_RESOLVED,
                data={"into_id": primary_id},
                ticket=duplicate,
            ),
        )
