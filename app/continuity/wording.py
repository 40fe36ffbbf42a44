"""How continuity notices read, in English and Italian: the brief that goes with a new
owner's notice, and the alert to supervisors when tickets land in a queue unattended.

Imported for its side effect: it registers the renderers with the notification
renderer (done by the app and by the standalone worker).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from app.common.dates import format_day
from app.notifications.render import Block, register_renderer

BRIEF_KIND = "handover.brief"
QUEUE_ALERT_KIND = "continuity.queue_alert"
_STEPS_IN_MAIL = 10

_EN: Final[dict[str, str]] = {
    "brief_intro": "Handover brief for #{ticket_id}: {status}, {priority} priority, "
    "requested by {requester}.",
    "brief_problem": "The problem as first stated ({day}):",
    "brief_latest": "The latest message from the customer ({day}):",
    "brief_follow_up": "It follows up the closed #{earlier}, \u201c{subject}\u201d. Then:",
    "brief_follow_up_reply": "Our last reply there ({day}):",
    "brief_done": "What was done so far ({count} steps):",
    "brief_nothing_done": "Nothing has been done on it yet.",
    "brief_questions": "Open questions:",
    "brief_sla": "SLA: {state}.",
    "brief_sla_due": "SLA: {state}; {target} due {day}.",
    "sla_on_track": "on track",
    "sla_at_risk": "at risk",
    "sla_breached": "breached",
    "sla_met": "met",
    "target_first_response": "first response",
    "target_resolution": "resolution",
    "alert_queue": "Tickets of {person} went to the {team} queue ({count}): nobody "
    "available could take them. Please assign them.",
    "alert_queue_no_team": "Tickets of {person} have no owner now ({count}): nobody "
    "available could take them. Please assign them.",
    "alert_list": "Tickets:",
}

_IT: Final[dict[str, str]] = {
    "brief_intro": "Riepilogo per il passaggio di #{ticket_id}: {status}, priorità {priority}, "
    "richiesto da {requester}.",
    "brief_problem": "Il problema come descritto all'inizio ({day}):",
    "brief_latest": "L'ultimo messaggio del cliente ({day}):",
    "brief_follow_up": "Segue il ticket chiuso #{earlier}, \u201c{subject}\u201d. Allora:",
    "brief_follow_up_reply": "La nostra ultima risposta ({day}):",
    "brief_done": "Cosa è stato fatto finora ({count} passi):",
    "brief_nothing_done": "Non è stato ancora fatto nulla.",
    "brief_questions": "Domande aperte:",
    "brief_sla": "SLA: {state}.",
    "brief_sla_due": "SLA: {state}; {target} entro il {day}.",
    "sla_on_track": "nei tempi",
    "sla_at_risk": "a rischio",
    "sla_breached": "violato",
    "sla_met": "rispettato",
    "target_first_response": "prima risposta",
    "target_resolution": "risoluzione",
    "alert_queue": "Ticket di {person} finiti nella coda di {team} ({count}): nessuno "
    "disponibile poteva prenderli. Assegnali, per favore.",
    "alert_queue_no_team": "Ticket di {person} ora senza assegnatario ({count}): nessuno "
    "disponibile poteva prenderli. Assegnali, per favore.",
    "alert_list": "Ticket:",
}

_WORDS: Final[dict[str, dict[str, str]]] = {"en": _EN, "it": _IT}


def _words(locale: str) -> dict[str, str]:
    return _WORDS.get(locale.split("-", 1)[0].lower(), _EN)


def _day(value: Any, locale: str) -> str:
    if not isinstance(value, str):
        return "?"
    return format_day(value, locale, this_year=datetime.now(UTC).year)


def _name(value: Any) -> str:
    name = value.get("name") if isinstance(value, dict) else None
    return name if isinstance(name, str) else "?"


def render_brief(
    notice: dict[str, Any], locale: str, ticket_id: Any, _subject: str, _bodies: dict[int, str]
) -> list[Block]:
    words, data = _words(locale), notice.get("data") or {}
    blocks = [
        Block(
            words["brief_intro"].format(
                ticket_id=ticket_id,
                status=data.get("status", "?"),
                priority=data.get("priority", "?"),
                requester=_name(data.get("requester")),
            )
        )
    ]
    problem = data.get("problem") or {}
    blocks.append(
        Block(
            words["brief_problem"].format(day=_day(problem.get("at"), locale)), problem.get("text")
        )
    )
    earlier = data.get("follow_up_of")
    if isinstance(earlier, dict):
        blocks.append(
            Block(
                words["brief_follow_up"].format(
                    earlier=earlier.get("ticket_id"), subject=earlier.get("subject", "")
                ),
                earlier.get("problem"),
            )
        )
        reply = earlier.get("last_reply")
        if isinstance(reply, dict):
            blocks.append(
                Block(
                    words["brief_follow_up_reply"].format(day=_day(reply.get("at"), locale)),
                    reply.get("text"),
                )
            )
    latest = data.get("latest_customer_message")
    if isinstance(latest, dict):
        blocks.append(
            Block(
                words["brief_latest"].format(day=_day(latest.get("at"), locale)), latest.get("text")
            )
        )
    steps = [s for s in data.get("done") or [] if isinstance(s, dict)][-_STEPS_IN_MAIL:]
    if steps:
        lines = []
        for step in steps:
            line = f"{_day(step.get('at'), locale)}: {step.get('summary', '')}"
            if isinstance(step.get("text"), str):
                line += f" \u2014 {' '.join(step['text'].split())[:200]}"
            lines.append(line)
        blocks.append(
            Block(
                words["brief_done"].format(count=data.get("done_count", len(steps))),
                "\n".join(lines),
            )
        )
    else:
        blocks.append(Block(words["brief_nothing_done"]))
    questions = [q for q in data.get("open_questions") or [] if isinstance(q, str)]
    if questions:
        blocks.append(Block(words["brief_questions"], "\n".join(questions)))
    sla = data.get("sla") or {}
    state = words.get(f"sla_{sla.get('state')}", str(sla.get("state")))
    if sla.get("next_due_at") and sla.get("state") != "met":
        target = words.get(f"target_{sla.get('next_target')}", "")
        blocks.append(
            Block(
                words["brief_sla_due"].format(
                    state=state, target=target, day=_day(sla.get("next_due_at"), locale)
                )
            )
        )
    else:
        blocks.append(Block(words["brief_sla"].format(state=state)))
    return blocks


def render_queue_alert(
    notice: dict[str, Any], locale: str, _ticket_id: Any, _subject: str, _bodies: dict[int, str]
) -> list[Block]:
    words, data = _words(locale), notice.get("data") or {}
    tickets = [t for t in data.get("tickets") or [] if isinstance(t, dict)]
    team = data.get("team")
    key = "alert_queue" if isinstance(team, dict) else "alert_queue_no_team"
    text = words[key].format(count=len(tickets), person=_name(data.get("person")), team=_name(team))
    listing = "\n".join(f"#{t.get('id')} {t.get('subject', '')}" for t in tickets[:50])
    return [Block(text), Block(words["alert_list"], listing)]


def register() -> None:
    register_renderer(BRIEF_KIND, render_brief)
    register_renderer(QUEUE_ALERT_KIND, render_queue_alert)
