"""docs/architecture.md lists the reactions as app/wiring.py registers them."""

from __future__ import annotations

import re
from pathlib import Path

from app import wiring

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def test_the_architecture_page_lists_the_reactions_in_their_order() -> None:
    text = DOC.read_text()
    section = text.split("## The reactions", 1)[1]
    listed = re.search(r"```text\n(.*?)```", section, re.DOTALL)
    assert listed is not None
    assert listed.group(1).splitlines() == wiring.reactions().describe()


def test_every_module_of_app_fits_in_a_readers_head() -> None:
    app = DOC.parents[1] / "app"
    too_long = {
        str(path.relative_to(app)): lines
        for path in app.rglob("*.py")
        if (lines := len(path.read_text().splitlines())) > 500
    }
    assert too_long == {}, "split these: no module of app/ over 500 lines"
