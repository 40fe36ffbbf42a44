"""The committed OpenAPI document, rendered the same way every time."""

from __future__ import annotations

import json

from app.config import Settings


def render_openapi() -> str:
    from app.main import create_app

    spec = create_app(Settings(database_url="postgresql+asyncpg://unused/unused")).openapi()
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
