"""`Accept: text/csv`: the same figures as the JSON, flattened (`kpis.fcr.rate`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel

CSV = "text/csv"


def wants_csv(request: Request) -> bool:
    return CSV in request.headers.get("accept", "")


def flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, Mapping):
            flat.update(flatten(item, f"{name}."))
        else:
            flat[name] = item
    return flat


def _cell(value: Any) -> Any:
    # A spreadsheet runs a cell starting with = + - @ as a formula: quote it.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return "" if value is None else value


def table(rows: Sequence[Mapping[str, Any]], filename: str) -> Response:
    flat = [flatten(row) for row in rows]
    header: list[str] = []
    for row in flat:
        header.extend(k for k in row if k not in header)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in flat:
        writer.writerow([_cell(row.get(k)) for k in header])
    return Response(
        buffer.getvalue(),
        media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )


def pairs(value: Mapping[str, Any], filename: str) -> Response:
    """One figure a row: name, value."""
    rows = [{"figure": k, "value": v} for k, v in flatten(value).items()]
    return table(rows, filename)


def json(model: BaseModel) -> Response:
    """The model as JSON, serialised once: FastAPI would validate it again against the
    response model first (for a year of points by agent, longer than the query)."""
    return Response(model.model_dump_json(by_alias=True), media_type="application/json")


CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {CSV: {"schema": {"type": "string"}}}},
}
