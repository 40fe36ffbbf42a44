"""Time series, tables and their CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import Actors
from tests.metrics.helpers import API, history, ok


def _window() -> dict[str, str]:
    today = datetime.now(UTC).date()
    return {"from": str(today - timedelta(days=2)), "to": str(today + timedelta(days=1))}


async def test_a_daily_series_by_category_counts_each_day(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    desk = await history(client, actors, sessionmaker)
    params = {**_window(), "metric": "created", "interval": "day", "group_by": "category"}
    body = ok(
        await client.get(
            f"{API}/metrics/timeseries", params=params, headers=desk.supervisor.headers
        )
    )
    assert {p["group"] for p in body["points"]} == {"billing", "tech"}
    assert len(body["points"]) == 2 * 3  # three days, two groups
    today = str(datetime.now(UTC).date())
    todays = {p["group"]: p["value"] for p in body["points"] if p["at"].startswith(today)}
    assert todays == {"billing": 2.0, "tech": 2.0}
    assert sum(p["value"] for p in body["points"]) == 4


async def test_the_backlog_series_runs_on_from_before_the_window(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    desk = await history(client, actors, sessionmaker)
    params = {**_window(), "metric": "backlog", "interval": "day"}
    body = ok(
        await client.get(
            f"{API}/metrics/timeseries", params=params, headers=desk.supervisor.headers
        )
    )
    assert [p["value"] for p in body["points"]] == [0.0, 0.0, 3.0]
    later = {
        "from": str(datetime.now(UTC).date() + timedelta(days=1)),
        "to": str(datetime.now(UTC).date() + timedelta(days=2)),
    }
    body = ok(
        await client.get(
            f"{API}/metrics/timeseries",
            params={**later, "metric": "backlog", "interval": "hour"},
            headers=desk.supervisor.headers,
        )
    )
    assert len(body["points"]) == 24
    assert {p["value"] for p in body["points"]} == {3.0}


async def test_a_series_in_another_time_zone_reads_the_hours(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    desk = await history(client, actors, sessionmaker)
    params = {
        **_window(),
        "metric": "time_to_resolve",
        "interval": "week",
        "tz": "America/New_York",
    }
    body = ok(
        await client.get(
            f"{API}/metrics/timeseries", params=params, headers=desk.supervisor.headers
        )
    )
    assert sum(p["count"] for p in body["points"]) == 3
    assert all(p["at"].endswith(("-05:00", "-04:00")) for p in body["points"])


async def test_every_endpoint_answers_csv_when_asked(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    desk = await history(client, actors, sessionmaker)
    headers = {**desk.supervisor.headers, "Accept": "text/csv"}
    summary = await client.get(f"{API}/metrics/summary", headers=headers)
    assert summary.headers["content-type"].startswith("text/csv")
    figures = dict(csv.reader(io.StringIO(summary.text)))
    assert figures["kpis.created"] == "4"
    assert figures["kpis.fcr.rate"] == "0.3333"

    series = await client.get(
        f"{API}/metrics/timeseries", params={**_window(), "metric": "resolved"}, headers=headers
    )
    rows = list(csv.DictReader(io.StringIO(series.text)))
    assert sum(float(r["value"]) for r in rows) == 3

    agents = await client.get(f"{API}/metrics/agents", headers=headers)
    rows = list(csv.DictReader(io.StringIO(agents.text)))
    handled = {int(r["agent_id"]): int(r["handled"]) for r in rows}
    assert handled[desk.first.id] == 2
    assert rows[0].keys() >= {"kpis.csat.rate", "load", "time_away_seconds"}

    teams = await client.get(f"{API}/metrics/teams", headers=headers)
    rows = list(csv.DictReader(io.StringIO(teams.text)))
    by_team = {int(r["team_id"]): r["name"] for r in rows}
    # The complaint raised a ticket of its own, which landed in the catch-all team.
    assert by_team.keys() - {desk.team_one, desk.team_two} == {
        team for team, name in by_team.items() if name == "General"
    }
    assert {desk.team_one, desk.team_two} < by_team.keys()


async def test_the_series_draws_as_an_svg_chart(
    client: AsyncClient, actors: Actors, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    desk = await history(client, actors, sessionmaker)
    params = {**_window(), "metric": "created", "group_by": "category"}
    response = await client.get(
        f"{API}/metrics/timeseries.svg", params=params, headers=desk.supervisor.headers
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/svg+xml"
    root = ElementTree.fromstring(response.content)  # noqa: S314 - our own output
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    words = " ".join(t for t in root.itertext())
    assert "billing" in words
    assert "tech" in words
    customer = await actors.customer()
    denied = await client.get(f"{API}/metrics/timeseries.svg", headers=customer.headers)
    assert denied.status_code == 403
