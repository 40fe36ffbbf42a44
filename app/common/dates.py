"""Days written out for people, in their language: "3 March", "3 marzo"."""

from __future__ import annotations

from datetime import date

_MONTHS: dict[str, tuple[str, ...]] = {
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
    "it": (
        "gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno",
        "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre",
    ),
}  # fmt: skip


def format_day(day: date | str, locale: str = "en", *, this_year: int | None = None) -> str:
    """`3 March` (the year only when it is not `this_year`); unknown input as given."""
    if isinstance(day, str):
        try:
            day = date.fromisoformat(day[:10])
        except ValueError:
            return str(day)
    months = _MONTHS.get(locale.split("-", 1)[0].lower(), _MONTHS["en"])
    text = f"{day.day} {months[day.month - 1]}"
    return text if this_year == day.year else f"{text} {day.year}"
