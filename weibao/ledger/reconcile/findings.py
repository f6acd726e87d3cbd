"""What a check finds, normalized so that both engines' answers compare exactly."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from weibao.ledger.reconcile.checks import CHECKS, COMMON

THOUSANDTH = Decimal("0.001")

# sql → (column names, rows)
Query = Callable[[str], tuple[list[str], Sequence[Sequence[Any]]]]


@dataclass(frozen=True)
class Finding:
    """One anomaly as a check returned it (`key` follows the anomaly contract)."""

    key: str
    kind: str
    subject: str
    enterprise_id: int
    site_id: int | None
    product: str
    quantity: Decimal
    # (name, value) pairs, sorted by name: ids, `*_at` epoch seconds, `*_day` day numbers,
    # quantities as Decimal with 3 places, strings.
    evidence: tuple[tuple[str, Any], ...]

    @property
    def evidence_dict(self) -> dict[str, Any]:
        return dict(self.evidence)


def _value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return value.quantize(THOUSANDTH)
    if isinstance(value, float):
        # No check returns floats; should one ever, keep the engines comparable.
        return round(value, 6)
    return value


def finding(columns: Sequence[str], row: Sequence[Any]) -> Finding:
    data = {name: _value(value) for name, value in zip(columns, row, strict=True)}
    kind, subject = str(data["kind"]), str(data["subject"])
    return Finding(
        key=f"{kind}:{subject}",
        kind=kind,
        subject=subject,
        enterprise_id=int(data["enterprise_id"]),
        site_id=None if data["site_id"] is None else int(data["site_id"]),
        product=data["product"] or "",
        quantity=Decimal(data["quantity"] or 0).quantize(THOUSANDTH),
        evidence=tuple(sorted((k, v) for k, v in data.items() if k not in COMMON)),
    )


def run_checks(query: Query, kinds: Iterable[str] | None = None) -> list[Finding]:
    """Run the checks (all, or `kinds`) through an engine's `query`; findings sorted by key."""
    found: list[Finding] = []
    for kind in kinds or CHECKS:
        columns, rows = query(CHECKS[kind])
        found.extend(finding(columns, row) for row in rows)
    return sorted(found, key=lambda f: f.key)
