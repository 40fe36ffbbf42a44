"""The answer time stated to a customer, in their language and time zone. Pure.

    We will answer by Monday at 9:30, Rome time.
    Our desk is closed until 9:00 tomorrow; we will answer by 9:30 tomorrow, Rome time.
    We are here around the clock: we will answer by 14:30 today, New York time.
    Ti risponderemo entro lunedì alle 9:30 (ora di Roma).

The acknowledgement of a new ticket states its first response due time (and a
customer's follow-up the next response due time), whatever the channel: the
notification renderer puts `stated_answer_time(...).text` where "We will get back to
you as soon as possible" stands today, with the ticket's policy calendar (or
`ALWAYS_OPEN` for a priority counted around the clock). `delay=True` words the notice
sent at the warning point when the stated time is about to pass unmet, with the new
time.

The time is the due time rounded up to the minute (a promise met whenever the target
is), shown in 24-hour form like the example in the issue, in the customer's zone and
named by its main city ("Rome time", "ora di Roma"); UTC and fixed-offset zones are
named by their offset. Relative words while they are unambiguous (today, tomorrow,
the weekday within the coming week), the date beyond, the year when it is not this
one.

Wording is ours, in English and Italian like app/notifications/templates.py; the
names of days, months and cities come from Babel (the CLDR data, maintained by the
Unicode consortium and the Python Babel project): hand-written tables would cover
the weekdays, but not "Roma", "Londra" or "Città del Messico" for several hundred
zones, nor a third language later without a new table for each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from babel.dates import get_day_names, get_month_names, get_timezone_location

from app.sla.calendar import BusinessCalendar

EN: Final[dict[str, str]] = {
    "_locale": "en",
    "answer": "We will answer by {when}, {zone}.",
    "answer_closed": "Our desk is closed until {opens}; we will answer by {when}, {zone}.",
    "answer_always": "We are here around the clock: we will answer by {when}, {zone}.",
    "delay": "We are sorry for the wait: we will now answer by {when}, {zone}.",
    "today": "{time} today",
    "tomorrow": "{time} tomorrow",
    "weekday": "{weekday} at {time}",
    "date": "{weekday} {day} {month} at {time}",
    "date_year": "{weekday} {day} {month} {year} at {time}",
    "zone_city": "{city} time",
    "at": "",
    "at_one": "",
}
IT: Final[dict[str, str]] = {
    "_locale": "it",
    "answer": "Ti risponderemo entro {when} ({zone}).",
    "answer_closed": "Il nostro servizio è chiuso e riapre {opens}; "
    "ti risponderemo entro {when} ({zone}).",
    "answer_always": "Siamo disponibili 24 ore su 24: ti risponderemo entro {when} ({zone}).",
    "delay": "Ci scusiamo per l'attesa: ti risponderemo entro {when} ({zone}).",
    "today": "oggi {at}{time}",
    "tomorrow": "domani {at}{time}",
    "weekday": "{weekday} {at}{time}",
    "date": "{weekday} {day} {month} {at}{time}",
    "date_year": "{weekday} {day} {month} {year} {at}{time}",
    "zone_city": "ora di {city}",
    "at": "alle ",
    "at_one": "all'",  # all'1:30, alle 9:30
}
WORDINGS: Final[dict[str, dict[str, str]]] = {"en": EN, "it": IT}
_UTC_ZONES = frozenset(
    {"UTC", "UCT", "Universal", "Zulu", "GMT", "GMT0", "GMT+0", "GMT-0", "Greenwich"}
)
_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class StatedTime:
    text: str
    answer_by: datetime  # in the customer's zone, on a whole minute
    desk_opens_at: datetime | None  # in the customer's zone, when the desk is closed now
    around_the_clock: bool


def stated_answer_time(
    due_at: datetime,
    now: datetime,
    calendar: BusinessCalendar,
    locale: str = "en",
    time_zone: str = "UTC",
    *,
    delay: bool = False,
) -> StatedTime:
    """The sentence that tells the customer when they will hear back."""
    closed = not delay and not calendar.always_open and not calendar.is_open(now)
    opening = calendar.next_opening(now) if closed else None
    if opening is not None and opening >= due_at:
        opening = None
    return sentence(
        due_at,
        now,
        locale,
        time_zone,
        opens_at=opening,
        around_the_clock=calendar.always_open,
        delay=delay,
    )


def sentence(
    due_at: datetime,
    now: datetime,
    locale: str = "en",
    time_zone: str = "UTC",
    *,
    opens_at: datetime | None = None,
    around_the_clock: bool = False,
    delay: bool = False,
) -> StatedTime:
    """The same sentence from what was worked out on the calendar when the ticket was
    filed (the notice is written later, by the outbox, without the calendar)."""
    words = WORDINGS.get(locale.split("-", 1)[0].lower(), EN)
    zone = ZoneInfo(time_zone)
    answer_by = _minute_up(due_at).astimezone(zone)
    local_now = now.astimezone(zone)
    when = _moment(answer_by, local_now, words)
    zone_name = _zone_name(time_zone, answer_by, words)
    local_opening = None
    if delay:
        text = words["delay"].format(when=when, zone=zone_name)
    elif around_the_clock:
        text = words["answer_always"].format(when=when, zone=zone_name)
    elif opens_at is not None:
        local_opening = _minute_up(opens_at).astimezone(zone)
        opens = _moment(local_opening, local_now, words)
        text = words["answer_closed"].format(opens=opens, when=when, zone=zone_name)
    else:
        text = words["answer"].format(when=when, zone=zone_name)
    return StatedTime(text, answer_by, local_opening, around_the_clock)


def _minute_up(moment: datetime) -> datetime:
    seconds = moment.second + moment.microsecond / 1e6
    rounded = moment.replace(second=0, microsecond=0)
    return rounded + _MINUTE * math.ceil(seconds / 60)


def _moment(moment: datetime, now: datetime, words: dict[str, str]) -> str:
    """A local time said the way a person would: 9:30 tomorrow, Monday at 9:30."""
    locale = words["_locale"]
    days_ahead = (moment.date() - now.date()).days
    values = {
        "time": f"{moment.hour}:{moment.minute:02d}",
        "at": words["at_one"] if moment.hour == 1 else words["at"],
        "weekday": get_day_names("wide", locale=locale)[moment.weekday()],
        "day": str(moment.day),
        "month": get_month_names("wide", locale=locale)[moment.month],
        "year": str(moment.year),
    }
    if days_ahead == 0:
        form = "today"
    elif days_ahead == 1:
        form = "tomorrow"
    elif 1 < days_ahead < 7:
        form = "weekday"
    else:
        form = "date" if moment.year == now.year else "date_year"
    return words[form].format(**values)


def _zone_name(time_zone: str, moment: datetime, words: dict[str, str]) -> str:
    """Rome time / ora di Roma; UTC; UTC-05:00 for a fixed offset."""
    key = time_zone.removeprefix("Etc/")
    if key in _UTC_ZONES:
        return "UTC"
    if time_zone.startswith("Etc/") or "/" not in time_zone:  # Etc/GMT+5, EST5EDT, CET
        offset = moment.utcoffset() or timedelta(0)
        sign = "-" if offset < timedelta(0) else "+"
        hours, rest = divmod(abs(int(offset.total_seconds())) // 60, 60)
        return f"UTC{sign}{hours:02d}:{rest:02d}"
    city = get_timezone_location(time_zone, locale=words["_locale"], return_city=True)
    return words["zone_city"].format(city=city)
