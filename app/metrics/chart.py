"""A time series drawn as a small SVG line chart (pygal), for a supervisor to look at."""

from __future__ import annotations

from collections import defaultdict

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
        show_dots=len(series.points) <= 60,
        x_label_rotation=30,
        show_minor_x_labels=False,
        disable_xml_declaration=False,
    )
    filtered = f" ({series.filter.dimension} {series.filter.value})" if series.filter else ""
    chart.title = f"{series.metric.value} per {series.interval.value}{filtered}"
    per_group: dict[str | None, list[float | None]] = defaultdict(list)
    labels: list[str] = []
    for point in series.points:
        per_group[point.group].append(point.value)
        if point.group == series.points[0].group:
            labels.append(point.at.strftime(_LABEL[series.interval]))
    chart.x_labels = labels
    # About 12 labels along the axis, whatever the number of points.
    chart.x_labels_major_every = max(1, len(labels) // 12)
    for group, values in per_group.items():
        chart.add(series.metric.value if group is None else group or "(none)", values)
    rendered: bytes = chart.render()
    return rendered
