"""Reads of the ledger, already scoped: an item's whole life (the trace), and the rows behind the
lists. The books (daily in/out/on-hand) are in books.py.

The trace is built from indexed lookups only, one query per packing level: the item's row, its
own events (index on code, time), then the events of the boxes it was packed in while it was
inside, then those of the cases the boxes were in while they were. An event on a box applies to
everything packed inside (ingest propagates it), so those events are part of the item's life,
but only for the time the item was in the box.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from django.db import connection, models
from django.db.models import QuerySet

from weibao.core.scoping import covers
from weibao.ledger.codes import uid_error
from weibao.ledger.models import Anomaly, Batch, BlastingProject, Event, EventKind, Item
from weibao.registry.models import Enterprise, Person, Site

# Events on an item that take it out of the box it is packed in (ingest's `_detach`).
LEAVES_CONTAINER = frozenset(
    {
        EventKind.PACKED,
        EventKind.SHIPPED,
        EventKind.ISSUED,
        EventKind.DESTROYED,
        EventKind.LOST,
    }
)
# Boxes in cases: two levels; a bound keeps a corrupted packing loop from running forever.
MAX_PACKING_DEPTH = 4

Window = tuple[datetime | None, datetime | None]  # [start, end), None = open


@dataclass(frozen=True)
class TraceEvent:
    """One event of an item's life: on the item itself, or on a box or case it was packed in
    at the time (`inherited`; the event's code is then the box's or case's)."""

    event: Event
    inherited: bool

    @property
    def position(self) -> tuple[float, float, str] | None:
        """(latitude, longitude, source): where the event was filed from, else its magazine."""
        e = self.event
        if e.latitude is not None and e.longitude is not None:
            return (e.latitude, e.longitude, "event")
        site = e.site
        if site is not None and site.latitude is not None and site.longitude is not None:
            return (float(site.latitude), float(site.longitude), "site")
        return None


@dataclass
class Trace:
    item: Item
    events: list[TraceEvent] = field(default_factory=list)
    # Boxes and cases it was packed in, in order of packing.
    containers: list[str] = field(default_factory=list)

    def unit_ids(self) -> set[int]:
        """Every unit that held the item or had it shipped to it."""
        ids = {self.item.holder_id, self.item.producer_id, self.item.destination_id}
        for t in self.events:
            ids.add(t.event.enterprise_id)
            ids.add(t.event.counterpart_id)
        return {i for i in ids if i is not None}

    def jurisdiction_codes(self) -> set[str]:
        codes = set()
        for unit in (self.item.holder, self.item.destination):
            if unit is not None:
                codes.add(unit.jurisdiction_id)
        for t in self.events:
            codes.add(t.event.enterprise.jurisdiction_id)
            if t.event.counterpart is not None:
                codes.add(t.event.counterpart.jurisdiction_id)
        return codes

    def positions(self) -> list[dict[str, Any]]:
        out = []
        for t in self.events:
            where = t.position
            if where is not None:
                out.append(
                    {
                        "lat": where[0],
                        "lng": where[1],
                        "source": where[2],
                        "kind": t.event.kind,
                        "label": str(EventKind(t.event.kind).label),
                        "at": t.event.at.isoformat(),
                    }
                )
        return out


# --- the trace -------------------------------------------------------------------------------
# The trace reads with hand-written SQL through `raw()`: the ORM would spend more time compiling
# a five-way select_related than SQLite spends answering it (the target is a median of 5 ms).
# Every name comes from the models' metadata, every value is a bound parameter.
def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _columns(model: type[models.Model], alias: str) -> str:
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(f.column)}" for f in model._meta.concrete_fields)


# (alias, related model, foreign key column on the main table, the related fields it reads)
_Join = tuple[str, type[models.Model], str, list[str]]


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    return cast("models.Field[Any, Any]", model._meta.get_field(name))


def _select(model: type[models.Model], joins: list[_Join], where: str) -> str:
    quote = connection.ops.quote_name
    extra, tables = [], []
    for alias, related, fk, names in joins:
        for name in names:
            extra.append(f"{alias}.{quote(_field(related, name).column)} AS {alias}_{name}")
        tables.append(
            f"LEFT JOIN {_table(related)} {alias} ON {alias}.{quote(related._meta.pk.column)} "
            f"= m.{quote(fk)}"
        )
    return (
        f"SELECT {_columns(model, 'm')}, {', '.join(extra)} FROM {_table(model)} m "  # noqa: S608
        f"{' '.join(tables)} WHERE {where}"
    )


def _attach(row: models.Model, joins: list[_Join], cache: dict[tuple[str, Any], Any]) -> None:
    """Give `row` the related objects its page and API read, built from the joined columns
    (one object per id, shared by every row that refers to it)."""
    for alias, related, fk, names in joins:
        pk = getattr(row, fk)
        if pk is None:
            continue
        field = next(f for f in type(row)._meta.concrete_fields if f.column == fk)
        key = (related._meta.label, pk)
        obj = cache.get(key)
        if obj is None:
            values = {_field(related, n).attname: getattr(row, f"{alias}_{n}") for n in names}
            obj = related(pk=pk, **values)
            cache[key] = obj
        setattr(row, field.name, obj)


UNIT_NAMES = ["name", "uscc", "jurisdiction"]


def _event_joins() -> list[_Join]:
    return [
        ("u", Enterprise, "enterprise_id", UNIT_NAMES),
        ("c", Enterprise, "counterpart_id", UNIT_NAMES),
        ("s", Site, "site_id", ["name", "latitude", "longitude"]),
        ("p", Person, "person_id", ["name"]),
        ("b", BlastingProject, "project_id", ["code", "name"]),
    ]


def _item_joins() -> list[_Join]:
    return [
        ("h", Enterprise, "holder_id", UNIT_NAMES),
        ("d", Enterprise, "destination_id", UNIT_NAMES),
        ("r", Enterprise, "producer_id", UNIT_NAMES),
        ("s", Site, "site_id", ["name", "latitude", "longitude"]),
        ("p", Person, "person_id", ["name"]),
        ("b", BlastingProject, "project_id", ["code", "name"]),
    ]


def _events_of(codes: Iterable[str], cache: dict[tuple[str, Any], Any]) -> dict[str, list[Event]]:
    wanted = sorted(set(codes))
    joins = _event_joins()
    quote = connection.ops.quote_name
    code, at = quote("code"), quote("at")
    sql = (
        _select(Event, joins, f"m.{code} IN ({', '.join(['%s'] * len(wanted))})")
        + f" ORDER BY m.{code}, m.{at}, m.{quote('id')}"
    )
    found: dict[str, list[Event]] = {}
    for event in Event.objects.raw(sql, wanted):
        _attach(event, joins, cache)
        found.setdefault(event.code, []).append(event)
    return found


def _item(code: str, cache: dict[tuple[str, Any], Any]) -> Item | None:
    joins = _item_joins()
    sql = _select(Item, joins, f"m.{connection.ops.quote_name('code')} = %s")
    for item in Item.objects.raw(sql, [code]):
        _attach(item, joins, cache)
        return item
    return None


def _inside(at: datetime, window: Window) -> bool:
    start, end = window
    return (start is None or at >= start) and (end is None or at < end)


def _clip(outer: Window, inner: Window) -> Window | None:
    starts = [s for s in (outer[0], inner[0]) if s is not None]
    ends = [e for e in (outer[1], inner[1]) if e is not None]
    start = max(starts) if starts else None
    end = min(ends) if ends else None
    if start is not None and end is not None and end <= start:
        return None
    return (start, end)


def _packings(events: list[Event]) -> list[tuple[str, Window]]:
    """The containers a code was packed in, each with the time it was inside: from its packing
    to its next own event that takes it out (or still inside)."""
    out: list[tuple[str, Window]] = []
    current: tuple[str, datetime] | None = None
    for event in events:
        if event.kind not in LEAVES_CONTAINER:
            continue
        if current is not None:
            out.append((current[0], (current[1], event.at)))
            current = None
        if event.kind == EventKind.PACKED and event.container:
            current = (event.container, event.at)
    if current is not None:
        out.append((current[0], (current[1], None)))
    return out


def item_trace(code: str) -> Trace | None:
    """The item's current state and its whole life, unscoped (see `trace_for`)."""
    cache: dict[tuple[str, Any], Any] = {}
    item = _item(code, cache)
    if item is None:
        return None
    trace = Trace(item=item)
    chosen: dict[int, TraceEvent] = {}
    # Codes to read at this level, each with the windows during which it carried the item.
    level: dict[str, list[Window]] = {item.code: [(None, None)]}
    for _depth in range(MAX_PACKING_DEPTH):
        if not level:
            break
        events = _events_of(level, cache)
        upper: dict[str, list[Window]] = {}
        for current, windows in level.items():
            own = events.get(current, [])
            for event in own:
                if event.pk not in chosen and any(_inside(event.at, w) for w in windows):
                    chosen[event.pk] = TraceEvent(event=event, inherited=current != item.code)
            for container, inner in _packings(own):
                for window in windows:
                    clipped = _clip(window, inner)
                    if clipped is not None:
                        upper.setdefault(container, []).append(clipped)
                        if container not in trace.containers:
                            trace.containers.append(container)
        level = upper
    trace.events = sorted(chosen.values(), key=lambda t: (t.event.at, t.event.pk))
    return trace


def may_trace(user: Any, trace: Trace) -> bool:
    """Who may read an item's life: system administrators; the regulators in whose jurisdiction
    any unit that held it (or had it shipped to it) lies; the accounts of any such unit. A unit
    never sees an item it never held."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_system_admin:
        return True
    if user.is_unit_user:
        return bool(user.enterprise_id in trace.unit_ids())
    if user.is_regulator:
        return any(covers(user, code) for code in trace.jurisdiction_codes())
    return False


def trace_for(user: Any, code: str) -> Trace | None:
    """The trace if the item exists and `user` may read it; None otherwise (a 404 either way:
    never reveal that a code exists)."""
    trace = item_trace(code)
    if trace is None or not may_trace(user, trace):
        return None
    return trace


def traceable_code(user: Any, text: str) -> str | None:
    """The code of the item that `text` names, by its code or by its chip UID (any case), if
    `user` may read its life (trace_for); None otherwise, whether or not it exists."""
    wanted = text.strip().upper()
    if not wanted:
        return None
    named = models.Q(pk=wanted)
    if uid_error(wanted) is None:
        named |= models.Q(chip_uid=wanted)
    # A box code may also read as hexadecimal: its own code first, then the UID's item.
    codes: list[str] = list(Item.objects.filter(named).values_list("code", flat=True)[:2])
    for code in sorted(codes, key=lambda found: found != wanted):
        if trace_for(user, code) is not None:
            return code
    return None


# --- lists -----------------------------------------------------------------------------------
def items_visible(user: Any) -> QuerySet[Item]:
    """Items a user may list: held by (or on their way to) the units they may see."""
    return Item.objects.visible_to(user).select_related("holder", "site", "project", "person")


def batches_visible(user: Any) -> QuerySet[Batch]:
    return Batch.objects.visible_to(user).select_related("enterprise")


def anomalies_visible(user: Any) -> QuerySet[Anomaly]:
    return Anomaly.objects.visible_to(user).select_related("enterprise", "site")


def may_read_ledger(user: Any) -> bool:
    """The ledger's pages are for regulators, administrators and units (not partners)."""
    return bool(
        getattr(user, "is_authenticated", False)
        and (user.is_regulator or user.is_system_admin or user.is_unit_user)
    )
