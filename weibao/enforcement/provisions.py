"""The default legal provisions (data/legal_provisions.json), loaded by a data migration."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data" / "legal_provisions.json"
AMOUNTS = ("fine_min", "fine_max", "person_fine_min", "person_fine_max")


def default_provisions() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(DATA.read_text(encoding="utf-8"))
    for row in rows:
        for name in AMOUNTS:
            value = row.get(name)
            row[name] = Decimal(value) if value is not None else None
    return rows


def load_default_provisions(model: Any) -> int:
    """Create the shipped provisions whose codes are not there yet (never overwrite an edit);
    each arrives unverified. Returns how many were created."""
    existing = set(model.objects.values_list("code", flat=True))
    new = [
        model(**row, verified=False) for row in default_provisions() if row["code"] not in existing
    ]
    model.objects.bulk_create(new)
    return len(new)
