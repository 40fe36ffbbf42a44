"""A time series drawn as a small SVG line chart (pygal), for a supervisor to look at."""

from __future__ import annotations

import pygal
from pygal.style import CleanStyle

from app.metrics.schemas import Interval, Series

_LABEL = {
    Interval.HOUR: "%d %b %H:00",
    Interval.DAY: "%d %b",
    Interval.WEEK: "%d %b",
    Interval.MONTH: "%b %Y",
}


def draw(series: Series) -> bytes:
    chart = pygal.Line(
        width=800,
        height=320,
        style=CleanStyle,
        show_dots=len(series.instants) * len(series.lines) <= 60,
        x_label_rotation=30,
        show_minor_x_labels=False,
        disable_xml_declaration=False,
    )
    filtered = f" ({series.filter.dimension} {series.filter.value})" if series.filter else ""
    chart.title = f"{series.metric.value} per {series.interval.value}{filtered}"
    chart.x_labels = [at.strftime(_LABEL[series.interval]) for at in series.instants]
    # About 12 labels along the axis, whatever the number of points.
    chart.x_labels_major_every = max(1, len(series.instants) // 12)
    for line in series.lines:
        group = line.group
        chart.add(series.metric.value if group is None else group or "(none)", line.values)
    rendered: bytes = chart.render()
    return rendered
