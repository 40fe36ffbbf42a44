"""Business calendars as the API takes and shows them (`/calendars`, admin).

    {"name": "Rome office", "time_zone": "Europe/Rome", "always_open": false,
     "hours": [{"weekday": "mon", "opens": "09:00", "closes": "12:30"},
               {"weekday": 0, "opens": "14:00", "closes": "18:00"}, ...],
     "holidays": [{"date": "2026-04-06", "name": "Easter Monday"},
                  {"month": 12, "day": 25, "yearly": true, "name": "Christmas"}]}

Weekdays are "mon".."sun" (or 0-6, Monday first, or full English names; answers
always use the short names); times are "HH:MM" in the calendar's zone, "24:00"
allowed as a closing time; an interval past midnight is two intervals. `always_open`
takes no hours and no holidays. Limits: six intervals a weekday, 500 holidays.

Storage (for the migration): `hours` and `holidays` as JSONB in exactly these shapes
(`CalendarIn.model_dump(mode="json")`), read back into a `CalendarSpec` with
`calendar_spec` when the compiled calendar is not cached yet.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StringConstraints,
    Tag,
    TypeAdapter,
    WithJsonSchema,
    model_validator,
)

from app.common.types import Name, TimeZoneName, reject_nul
from app.sla.calendar import CalendarSpec, InvalidCalendar, OpeningHours

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY_WORDS = {
    word: index for index, full in enumerate(_FULL_NAMES) for word in (full, full[:3])
}
MAX_INTERVALS_A_DAY = 6
MAX_HOLIDAYS = 500


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _weekday_name(value: object) -> object:
    """0-6 (Monday first) or a name, in any case, to "mon".."sun"; else left to fail."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 6:
        return WEEKDAYS[value]
    if isinstance(value, str) and value.strip().lower() in _WEEKDAY_WORDS:
        return WEEKDAYS[_WEEKDAY_WORDS[value.strip().lower()]]
    return value


Weekday = Annotated[
    Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    BeforeValidator(_weekday_name),
    # What the input takes, documented as taken (answers always use the short names).
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "enum": list(WEEKDAYS)},
                {"type": "integer", "minimum": 0, "maximum": 6},
            ]
        },
        mode="validation",
    ),
    Field(description='"mon".."sun", or 0 (Monday) to 6 (Sunday)'),
]
OpeningTime = Annotated[
    str,
    StringConstraints(pattern=r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$"),
    Field(description="HH:MM, 00:00 to 23:59, the calendar's local time", examples=["09:00"]),
]
ClosingTime = Annotated[
    str,
    StringConstraints(pattern=r"^(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"),
    Field(description="HH:MM, 00:01 to 24:00, the calendar's local time", examples=["18:00"]),
]
HolidayName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(reject_nul),
]


def minutes_of(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


class OpeningHoursIn(_Input):
    weekday: Weekday
    opens: OpeningTime
    closes: ClosingTime

    @model_validator(mode="after")
    def _opens_before_it_closes(self) -> OpeningHoursIn:
        if minutes_of(self.opens) >= minutes_of(self.closes):
            raise ValueError(
                f"closes ({self.closes}) must come after opens ({self.opens}); hours past "
                "midnight are two intervals, e.g. 22:00-24:00 and 00:00-02:00 the next day"
            )
        return self


def _iso_date(value: object) -> object:
    """Only "YYYY-MM-DD": no timestamps, no datetimes."""
    if isinstance(value, str) and not (len(value) == 10 and value[4] == "-" and value[7] == "-"):
        raise ValueError("a date is written YYYY-MM-DD")
    if not isinstance(value, str | date) or isinstance(value, datetime):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


_FIRST_DAY, _LAST_DAY = date(1970, 1, 1), date(2200, 12, 31)


def _within_range(value: date) -> date:
    # A check rather than Field(ge, le): JSON Schema has no bounds for a date string.
    if not _FIRST_DAY <= value <= _LAST_DAY:
        raise ValueError(f"a date between {_FIRST_DAY} and {_LAST_DAY}")
    return value


HolidayDate = Annotated[
    date,
    BeforeValidator(_iso_date),
    AfterValidator(_within_range),
    Field(examples=["2026-04-06"], description="Between 1970-01-01 and 2200-12-31."),
]


class DateHoliday(_Input):
    """The desk is closed on this date."""

    date: HolidayDate
    name: HolidayName | None = None


class YearlyHoliday(_Input):
    """The desk is closed on this day every year (29 February in leap years)."""

    month: Annotated[int, Field(ge=1, le=12, strict=True)]
    day: Annotated[int, Field(ge=1, le=31, strict=True)]
    yearly: Literal[True]
    name: HolidayName | None = None

    @model_validator(mode="after")
    def _a_real_day(self) -> YearlyHoliday:
        try:
            date(2000, self.month, self.day)
        except ValueError:
            raise ValueError(f"there is no day {self.day} in month {self.month}") from None
        return self


def _holiday_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "yearly" if {"yearly", "month", "day"} & value.keys() else "date"
    return "yearly" if isinstance(value, YearlyHoliday) else "date"


Holiday = Annotated[
    Annotated[DateHoliday, Tag("date")] | Annotated[YearlyHoliday, Tag("yearly")],
    Discriminator(_holiday_kind),
]
HoursList = Annotated[list[OpeningHoursIn], Field(max_length=7 * MAX_INTERVALS_A_DAY)]
HolidayList = Annotated[list[Holiday], Field(max_length=MAX_HOLIDAYS)]


class CalendarIn(_Input):
    """A calendar to create, or to replace one with (PUT; If-Match its version)."""

    name: Name
    time_zone: TimeZoneName = Field(examples=["Europe/Rome"])
    always_open: StrictBool = False
    hours: HoursList = Field(default_factory=list)
    holidays: HolidayList = Field(default_factory=list)

    @model_validator(mode="after")
    def _usable(self) -> CalendarIn:
        if self.always_open and (self.hours or self.holidays):
            raise ValueError(
                "an always_open calendar takes no hours or holidays; to close on holidays, "
                "give 00:00-24:00 on every weekday instead"
            )
        if not self.always_open and not self.hours:
            raise ValueError("give the opening hours, or always_open: true")
        _check_hours(self.hours)
        _check_holidays(self.holidays)
        try:
            self.to_spec()
        except InvalidCalendar as error:  # defence in depth: the rules above cover it
            raise ValueError(str(error)) from None
        return self

    def to_spec(self) -> CalendarSpec:
        hours = tuple(
            OpeningHours(
                WEEKDAYS.index(item.weekday), minutes_of(item.opens), minutes_of(item.closes)
            )
            for item in self.hours
        )
        dates = [item.date for item in self.holidays if isinstance(item, DateHoliday)]
        yearly = [
            (item.month, item.day) for item in self.holidays if isinstance(item, YearlyHoliday)
        ]
        return CalendarSpec(
            time_zone=self.time_zone,
            always_open=self.always_open,
            hours=hours,
            holidays=frozenset(dates),
            yearly_holidays=frozenset(yearly),
        )


def _check_hours(hours: list[OpeningHoursIn]) -> None:
    for weekday in WEEKDAYS:
        day = sorted(
            (item for item in hours if item.weekday == weekday),
            key=lambda item: minutes_of(item.opens),
        )
        if len(day) > MAX_INTERVALS_A_DAY:
            raise ValueError(f"at most {MAX_INTERVALS_A_DAY} intervals on {weekday}")
        for earlier, later in itertools.pairwise(day):
            if minutes_of(later.opens) < minutes_of(earlier.closes):
                raise ValueError(
                    f"opening hours overlap on {weekday}: {earlier.opens}-{earlier.closes} "
                    f"and {later.opens}-{later.closes}"
                )


def _check_holidays(holidays: list[DateHoliday | YearlyHoliday]) -> None:
    seen: set[object] = set()
    for item in holidays:
        key: object = item.date if isinstance(item, DateHoliday) else (item.month, item.day)
        if key in seen:
            raise ValueError(f"the holiday {_holiday_label(item)} is listed twice")
        seen.add(key)


def _holiday_label(item: DateHoliday | YearlyHoliday) -> str:
    if isinstance(item, DateHoliday):
        return item.date.isoformat()
    return f"{item.month:02d}-{item.day:02d} (yearly)"


class CalendarOut(BaseModel):
    id: int
    version: int
    name: str
    time_zone: str
    always_open: bool
    hours: list[OpeningHoursIn]
    holidays: list[Holiday]
    created_at: datetime
    updated_at: datetime


_HOURS = TypeAdapter(HoursList)
_HOLIDAYS = TypeAdapter(HolidayList)


def calendar_spec(
    time_zone: str, always_open: bool, hours: object, holidays: object
) -> CalendarSpec:
    """A stored calendar (its JSONB columns as loaded) as a CalendarSpec, checked anew:
    a row edited by hand fails here, not in a due time."""
    return CalendarIn(
        name="stored",
        time_zone=time_zone,
        always_open=always_open,
        hours=_HOURS.validate_python(hours),
        holidays=_HOLIDAYS.validate_python(holidays),
    ).to_spec()
