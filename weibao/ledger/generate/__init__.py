"""Synthetic traceability data (`weibao ledger generate`): a realistic history with a known set
of injected anomalies and their ground truth.

`run()` builds (or reuses) the registry side — producers, sellers and blasting contractors in
Hengyang's counties with magazines, blasters, projects and permits — and writes to `out/`:

- `events-00001.csv` … (or `.parquet`): every event in time order, at most 100,000 rows a part,
  in the columns `weibao ledger ingest` reads;
- `counts.csv`: the custodians' declared daily counts (site, day, product, quantity), loaded
  with `load_counts()`;
- `ground_truth.json`: the as-of time and every injected anomaly by its key
  (`f"{kind}:{subject}"`, the same key reconciliation gives it). Nothing else in the history is
  anomalous: stock stays under capacity, counts equal the books, purchases stay within their
  permits, sales are filed within hours, shipments arrive within the day, and everything issued
  is fired or returned the same day.

The same seed gives the same registry rows and byte-identical files (on the same database: the
files carry its site ids).

The books the counts follow: per magazine and product, `stored_in`, `returned` and `found` with
a site add the quantity the event moved; `shipped`, `issued`, `destroyed` and `lost` carrying
that site subtract it. Every event falls between 08:00 and 23:00 Beijing time, so its local day
is its UTC day.
"""

from __future__ import annotations

import json
import random
import time as clock
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from weibao.ledger.generate.output import PART_ROWS, EventWriter, load_counts, write_counts
from weibao.ledger.generate.simulate import History
from weibao.ledger.generate.stock import PRODUCTS
from weibao.ledger.generate.world import (
    BULK_STORE,
    DETONATOR_STORE,
    Magazine,
    PermitRef,
    ProjectRef,
    Unit,
    World,
    build_world,
    set_allowances,
    set_capacities,
)

__all__ = [
    "GenerateResult",
    "Magazine",
    "PermitRef",
    "ProjectRef",
    "Unit",
    "World",
    "build_world",
    "load_counts",
    "run",
]

DEFAULT_END = date(2026, 6, 30)
# Below this a history may not hold an anomaly of every kind (a seed's plan may miss a kind).
MIN_ITEMS = 200
KINDS = (
    "not_received",
    "not_closed",
    "code_reused",
    "never_produced",
    "over_capacity",
    "count_mismatch",
    "over_permit",
    "late_filing",
    "lost",
)


@dataclass
class GenerateResult:
    out: Path
    event_files: list[Path]
    counts_file: Path
    ground_truth_file: Path
    items: int
    events: int
    counts: int
    anomalies: dict[str, int]
    start: date
    end: date
    as_of: datetime
    seconds: float
    world: World

    def __str__(self) -> str:
        injected = sum(self.anomalies.values())
        return (
            f"{self.items:,} items, {self.events:,} events ({len(self.event_files)} parts), "
            f"{self.counts:,} declared counts, {injected} injected anomalies; "
            f"{self.start} to {self.end}, as of {self.as_of.isoformat()}; in {self.out} "
            f"({self.seconds:.1f} s)"
        )

    @property
    def keys(self) -> set[str]:
        data = json.loads(self.ground_truth_file.read_text(encoding="utf-8"))
        return set(data["keys"])


def default_days(items: int) -> int:
    return min(150, max(21, 21 + items // 16_000))


def run(
    *,
    items: int,
    seed: int,
    out: str | Path | None = None,
    world: World | None = None,
    days: int | None = None,
    end: date | None = None,
    fmt: str = "csv",
    anomalies_per_kind: int | None = None,
    part_rows: int = PART_ROWS,
) -> GenerateResult:
    """Generate a history of about `items` items ending on `end` (a fixed day by default, so
    a seed always gives the same files) into `out` (default: `DATA_DIR/ledger-generated/
    seed-<seed>`); see the module docstring. ValueError if the history is too small to hold
    an anomaly of every kind."""
    started = clock.perf_counter()
    if items < MIN_ITEMS:
        raise ValueError(f"a history has at least {MIN_ITEMS} items")
    days = days or default_days(items)
    if days < 14:
        raise ValueError("a history covers at least 14 days")
    end = end or DEFAULT_END
    start = end - timedelta(days=days - 1)
    per_kind = anomalies_per_kind or 1 + items // 400_000
    target = Path(out) if out else settings.DATA_DIR / "ledger-generated" / f"seed-{seed}"
    target.mkdir(parents=True, exist_ok=True)
    for old in [*target.glob("events-*.csv"), *target.glob("events-*.parquet")]:
        old.unlink()
    if world is None:
        world = build_world(seed=seed, items=items, start=start, end=end)
    writer = EventWriter(target, fmt, part_rows)
    history = History(
        world,
        items=items,
        seed=seed,
        start=start,
        days=days,
        writer=writer,
        anomalies_per_kind=per_kind,
    )
    history.run()
    files = writer.close()
    rng = random.Random(f"weibao-ledger-finish-{seed}")  # noqa: S311 - synthetic data
    counts = list(history.counts)
    _capacities(history, world, rng, per_kind)
    _allowances(history, world, rng, per_kind)
    _mismatches(history, world, counts, rng, per_kind)
    counts_file = target / "counts.csv"
    count_rows = write_counts(counts_file, counts)
    as_of = timezone.make_aware(datetime.combine(end + timedelta(days=1), time()))
    anomalies = sorted(history.anomalies, key=lambda a: a["key"])
    found = {kind: sum(1 for a in anomalies if a["kind"] == kind) for kind in KINDS}
    missing = [kind for kind, n in found.items() if not n]
    if missing:
        raise ValueError(f"history too small: nothing injected for {', '.join(missing)}")
    truth = {
        "seed": seed,
        "items": history.produced,
        "events": writer.rows,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "as_of": timezone.localtime(as_of).isoformat(),
        "keys": [a["key"] for a in anomalies],
        "anomalies": anomalies,
    }
    truth_file = target / "ground_truth.json"
    truth_file.write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
    return GenerateResult(
        out=target,
        event_files=files,
        counts_file=counts_file,
        ground_truth_file=truth_file,
        items=history.produced,
        events=writer.rows,
        counts=count_rows,
        anomalies=found,
        start=start,
        end=end,
        as_of=as_of,
        seconds=clock.perf_counter() - started,
        world=world,
    )


# --- after the run: capacities, allowances, counts ------------------------------------------
def _round(milli: float, step: int, rounding: str = ROUND_CEILING) -> Decimal:
    """Thousandths to a whole number of `step` units."""
    units = (Decimal(milli) / 1000 / step).quantize(Decimal(1), rounding=rounding)
    return units * step


def _capacities(history: History, world: World, rng: random.Random, per_kind: int) -> None:
    """Managed magazines get a design capacity twice their peak stock; a few (contractors'
    first) get less than the detonators they held on each of the last three days."""
    last = {history.start + timedelta(days=history.days - 1 - n) for n in range(3)}
    held: dict[int, dict[date, int]] = {}
    for site, day, product, milli in history.counts:
        if day in last and PRODUCTS[product].detonator:
            by_day = held.setdefault(site, {})
            by_day[day] = max(by_day.get(day, 0), milli)
    contractors = {m.pk for u in world.contractors for m in u.magazines}
    candidates = [
        m
        for m in world.magazines()
        if m.managed
        and m.holds != BULK_STORE
        and len(held.get(m.pk, {})) == 3
        and min(held[m.pk].values()) >= 2000
    ]
    pool = [m for m in candidates if m.pk in contractors]
    if len(pool) < per_kind:
        pool = candidates
    chosen = {m.pk for m in rng.sample(pool, min(per_kind, len(pool)))}
    updates: dict[int, dict[str, Any]] = {}
    for m in world.magazines():
        detonators = history.peak.get((m.pk, True), 0)
        bulk = history.peak.get((m.pk, False), 0)
        if not m.managed:
            if m.capacity_detonators is not None and detonators > m.capacity_detonators * 1000:
                raise ValueError(f"magazine {m.pk} would exceed its detonator capacity")
            if m.capacity_kg is not None and bulk > m.capacity_kg * 1000:
                raise ValueError(f"magazine {m.pk} would exceed its capacity in kg")
            continue
        m.capacity_detonators = max(1000, int(_round(2 * detonators, 500)))
        m.capacity_kg = max(Decimal(100), _round(2 * bulk, 100))
        if m.holds == DETONATOR_STORE:
            m.capacity_kg = Decimal(100)
        if m.holds == BULK_STORE:
            m.capacity_detonators = 1000
        if m.pk in chosen:
            least = min(held[m.pk].values()) // 1000
            m.capacity_detonators = max(1, least // 2)
            history.note(
                "over_capacity",
                str(m.pk),
                site=m.pk,
                capacity_detonators=m.capacity_detonators,
                detonators_held=least,
            )
        updates[m.pk] = {
            "capacity_detonators": m.capacity_detonators,
            "capacity_kg": m.capacity_kg.quantize(Decimal("0.001")),
        }
    set_capacities(updates)


def _allowances(history: History, world: World, rng: random.Random, per_kind: int) -> None:
    """Each purchase permit allows 30 % more than was bought under it, product by product;
    a few contractors' permits allow a quarter less than was bought."""
    steps = {"piece": 100, "kg": 50, "m": 100}
    permits: dict[int, tuple[Unit, PermitRef]] = {
        p.pk: (u, p) for u in world.sellers + world.contractors for p in u.purchase_permits
    }
    bought: dict[int, list[tuple[str, int]]] = {}
    for (pk, product), milli in sorted(history.purchases.items()):
        bought.setdefault(pk, []).append((product, milli))
    contractors = {u.pk for u in world.contractors}
    candidates = sorted(
        pk
        for pk, lines in bought.items()
        if pk in permits
        and permits[pk][0].pk in contractors
        and max(m for _p, m in lines) >= 2 * min(PRODUCTS[p].milli for p, _m in lines) * 4
    )
    chosen = set(rng.sample(candidates, min(per_kind, len(candidates))))
    allowances: dict[tuple[int, str], Decimal] = {}
    for pk, lines in bought.items():
        if pk not in permits:
            raise ValueError(f"purchases under permit {pk}, which is not in the world")
        for product, milli in lines:
            step = steps[PRODUCTS[product].measure]
            allowances[(pk, product)] = _round(1.3 * milli, step)
        if pk in chosen:
            product, milli = max(lines, key=lambda line: (line[1], line[0]))
            item = PRODUCTS[product].milli
            allowed = max(item, milli * 3 // 4 // item * item)
            allowances[(pk, product)] = Decimal(allowed) / 1000
            unit, ref = permits[pk]
            history.note(
                "over_permit",
                ref.number,
                unit=unit.uscc,
                product=product,
                bought=str(Decimal(milli) / 1000),
                allowed=str(allowances[(pk, product)]),
            )
    set_allowances(allowances)


def _mismatches(
    history: History,
    world: World,
    counts: list[tuple[int, date, str, int]],
    rng: random.Random,
    per_kind: int,
) -> None:
    """A few declared counts one item short of the books."""
    sites = [m.pk for u in world.contractors for m in u.magazines]
    first = history.start + timedelta(days=history.days // 4)
    final = history.start + timedelta(days=history.days - 2)
    candidates = [
        n
        for n, (site, day, product, milli) in enumerate(counts)
        if site in sites and first <= day <= final and milli >= 2 * PRODUCTS[product].milli
    ]
    chosen: list[int] = []
    used: set[int] = set()
    for n in rng.sample(candidates, len(candidates)):
        if counts[n][0] not in used or len(used) >= len(sites):
            chosen.append(n)
            used.add(counts[n][0])
        if len(chosen) == per_kind:
            break
    for n in chosen:
        site, day, product, milli = counts[n]
        declared = milli - PRODUCTS[product].milli
        counts[n] = (site, day, product, declared)
        history.note(
            "count_mismatch",
            f"{site}:{day.isoformat()}:{product}",
            site=site,
            product=product,
            books=str(Decimal(milli) / 1000),
            declared=str(Decimal(declared) / 1000),
        )
