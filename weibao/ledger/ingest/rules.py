"""The rules an event must pass, replayed against the current state of every code it touches
(and of everything packed inside a box or case), with the references a batch needs loaded in a
handful of set-based queries."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from weibao.ledger.ingest.reading import LOCAL, Parsed, RowError
from weibao.ledger.models import (
    DETONATORS,
    FINAL_STATES,
    BlastingProject,
    EventKind,
    Item,
    ItemState,
    Level,
    ProductKind,
)
from weibao.registry.models import Certificate, Enterprise, Permit, Person, Site

HOLDING = frozenset({ItemState.PRODUCED, ItemState.RECEIVED, ItemState.IN_STORE})
ALLOWED_FROM: dict[str, frozenset[str]] = {
    EventKind.PACKED: HOLDING,
    EventKind.SHIPPED: HOLDING,
    EventKind.RECEIVED: frozenset({ItemState.IN_TRANSIT}),
    # Into a magazine from production or delivery; moving stock between magazines is not an
    # event of its own (the books would lose the magazine it left).
    EventKind.STORED_IN: frozenset({ItemState.PRODUCED, ItemState.RECEIVED}),
    EventKind.ISSUED: frozenset({ItemState.IN_STORE}),
    EventKind.RETURNED: frozenset({ItemState.ISSUED}),
    EventKind.FIRED: frozenset({ItemState.ISSUED}),
    EventKind.DESTROYED: frozenset(
        {ItemState.PRODUCED, ItemState.RECEIVED, ItemState.IN_STORE, ItemState.ISSUED}
    ),
    EventKind.LOST: frozenset(
        {
            ItemState.PRODUCED,
            ItemState.RECEIVED,
            ItemState.IN_STORE,
            ItemState.ISSUED,
            ItemState.IN_TRANSIT,
        }
    ),
    EventKind.FOUND: frozenset({ItemState.LOST}),
}


@dataclass(slots=True)
class Recorded:
    """An accepted event as it will be written."""

    row: Parsed
    unit: int
    product: str
    quantity: Decimal
    site: int | None
    person: int | None
    counterpart: int | None
    project: int | None


@dataclass(slots=True)
class State:
    """An item's current state as ingest tracks it (a row of ledger_item)."""

    code: str
    level: str
    product: str
    quantity: Decimal
    chip_uid: str | None
    container: str
    producer_id: int | None
    state: str
    holder_id: int
    destination_id: int | None
    site_id: int | None
    person_id: int | None
    project_id: int | None
    last_event_at: datetime
    last_event_kind: str
    children: set[str] = field(default_factory=set)
    changed: bool = False
    # The row as loaded from ledger_item (None: new in this batch), to write only what changed.
    loaded: tuple[Any, ...] | None = None


# --- references ------------------------------------------------------------------------------
def chunk_size() -> int:
    """How many values one `IN (...)` may bind: SQLite's compiled limit (32,766 since 3.32),
    PostgreSQL's 65,535, kept under 10,000 so one statement stays a reasonable size."""
    return min(connection.features.max_query_params or 10_000, 10_000)


def _chunks(values: Iterable[Any], size: int | None = None) -> Iterator[list[Any]]:
    size = size or chunk_size()
    chunk: list[Any] = []
    for value in values:
        chunk.append(value)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass
class Refs:
    units: dict[str, int]  # USCC → id
    sites: dict[int, tuple[int, str]]  # id → (unit id, kind)
    people: dict[str, tuple[int, int]]  # identity number → (person id, unit id)
    blasters: dict[int, list[tuple[date, date]]]  # person id → certificate validity
    projects: dict[str, tuple[int, int]]  # code → (project id, unit id)
    permits: dict[str, list[tuple[str, int, str, date, date]]]  # number → kind, unit, status..


def load_refs(rows: Sequence[Parsed]) -> Refs:
    usccs = {r.unit for r in rows} | {r.counterpart for r in rows if r.counterpart}
    units: dict[str, int] = {}
    for chunk in _chunks(usccs):
        units.update(Enterprise.objects.filter(uscc__in=chunk).values_list("uscc", "pk"))
    sites = {}
    for chunk in _chunks({r.site for r in rows if r.site is not None}):
        for pk, unit, kind in Site.objects.filter(pk__in=chunk).values_list(
            "pk", "enterprise_id", "kind"
        ):
            sites[pk] = (unit, kind)
    people: dict[str, tuple[int, int]] = {}
    for chunk in _chunks({r.person for r in rows if r.person}):
        for pk, number, unit in Person.objects.filter(
            identity_number__in=chunk, is_active=True
        ).values_list("pk", "identity_number", "enterprise_id"):
            people[number] = (pk, unit)
    blasters: dict[int, list[tuple[date, date]]] = {}
    for chunk in _chunks([pk for pk, _unit in people.values()]):
        for person, issued, expires in Certificate.objects.filter(
            person_id__in=chunk, kind=Certificate.Kind.BLASTER
        ).values_list("person_id", "issued_on", "expires_on"):
            blasters.setdefault(person, []).append((issued, expires))
    projects = {}
    for chunk in _chunks({r.project for r in rows if r.project}):
        for pk, code, unit in BlastingProject.objects.filter(code__in=chunk).values_list(
            "pk", "code", "enterprise_id"
        ):
            projects[code] = (pk, unit)
    numbers = {r.purchase_permit for r in rows if r.purchase_permit} | {
        r.transport_permit for r in rows if r.transport_permit
    }
    permits: dict[str, list[tuple[str, int, str, date, date]]] = {}
    for chunk in _chunks(numbers):
        for number, kind, unit, status, issued, expires in Permit.objects.filter(
            number__in=chunk
        ).values_list("number", "kind", "enterprise_id", "status", "issued_on", "expires_on"):
            permits.setdefault(number, []).append((kind, unit, status, issued, expires))
    return Refs(units, sites, people, blasters, projects, permits)


# The columns of ledger_item in the order of State's fields.
STATE_COLUMNS = tuple(f.attname for f in Item._meta.concrete_fields)


QUANTITY = STATE_COLUMNS.index("quantity")
LAST_EVENT_AT = STATE_COLUMNS.index("last_event_at")


def _item_rows(column: str, values: list[str]) -> Iterable[tuple[Any, ...]]:
    """ledger_item rows whose `column` is one of `values`, as State's fields. On SQLite the
    row is converted here (Django's per-value converters cost more than the query)."""
    if connection.vendor != "sqlite":
        return Item.objects.filter(**{f"{column}__in": values}).values_list(*STATE_COLUMNS)
    marks = ", ".join(["%s"] * len(values))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(STATE_COLUMNS)} FROM {Item._meta.db_table} "  # noqa: S608
            f"WHERE {column} IN ({marks})",
            values,
        )
        rows = cursor.fetchall()
    # Django's SQLite connection parses "datetime" columns into naive UTC times; decimals come
    # back as numbers.
    return [
        (
            *row[:QUANTITY],
            Decimal(str(row[QUANTITY])),
            *row[QUANTITY + 1 : LAST_EVENT_AT],
            row[LAST_EVENT_AT].replace(tzinfo=UTC),
            *row[LAST_EVENT_AT + 1 :],
        )
        for row in rows
    ]


def load_states(codes: set[str], carried: dict[str, State] | None = None) -> dict[str, State]:
    """Current states of `codes`, of the boxes and cases they are packed in, and of everything
    packed inside any of these, children linked to their container. The containers are needed
    because taking an item out of its box changes the box (its quantity, its contents), and the
    whole family because a later event on the box applies to everything still in it.

    `carried`: the states a batch still being written leaves (see pipeline.py). A code found
    there is taken from there, with its whole family, whatever the database says: that batch
    changes no row outside its own states, and its families are complete."""
    states: dict[str, State] = {}
    carried = carried or {}

    def take(code: str) -> None:
        stack = [code]
        while stack:
            current = stack.pop()
            if current in states or current not in carried:
                continue
            state = states[current] = carried[current]
            if state.container:
                stack.append(state.container)
            stack.extend(state.children)

    def add(rows: Iterable[tuple[Any, ...]]) -> list[str]:
        added = []
        for values in rows:
            code = values[0]
            if code in states:
                continue
            if code in carried:
                take(code)
                continue
            state = State(*values)
            state.loaded = values
            states[code] = state
            added.append(code)
        return added

    for code in codes & carried.keys():
        take(code)
    found: list[str] = []
    for chunk in _chunks(codes - states.keys()):
        found += add(_item_rows("code", chunk))
    loaded = list(found)
    # Up: the containers of what was found (a box, then its case).
    while True:
        up = {states[c].container for c in found if states[c].container} - states.keys()
        if not up:
            break
        found = []
        for chunk in _chunks(up):
            found += add(_item_rows("code", chunk))
        loaded += found
    # Down: everything inside any container now read from the database.
    parents = [c for c in loaded if states[c].level != Level.ITEM]
    while parents:
        found = []
        for chunk in _chunks(parents):
            found += add(_item_rows("container", chunk))
        loaded += found
        parents = [c for c in found if states[c].level != Level.ITEM]
    for code in loaded:
        state = states[code]
        if state.container and state.container in states:
            states[state.container].children.add(code)
    return states


# --- the rules -------------------------------------------------------------------------------
class Rules:
    """Replays parsed rows against the tracked states; each row's first problem is an error."""

    def __init__(
        self,
        refs: Refs,
        states: dict[str, State],
        uids_taken: set[str],
        filed: set[tuple[str, str, datetime]] | None = None,
    ) -> None:
        self.refs = refs
        self.states = states
        self.uids_taken = uids_taken
        # (code, kind, time) of events already in the ledger that a row may repeat.
        self.filed = filed or set()
        self.errors: list[RowError] = []
        self.events: list[Recorded] = []

    def fail(self, row: Parsed, field: str, code: str, message: str) -> None:
        self.errors.append(RowError(row.row, field, code, message))

    # references
    def _unit(self, row: Parsed) -> int | None:
        unit = self.refs.units.get(row.unit)
        if unit is None:
            self.fail(row, "unit", "unknown_unit", _("No unit in Weibao has this USCC."))
        return unit

    def _site(self, row: Parsed, unit: int, *, required: bool) -> int | bool | None:
        if row.site is None:
            if required:
                self.fail(row, "site", "required", _("Name the magazine (site id)."))
                return False
            return None
        found = self.refs.sites.get(row.site)
        if found is None or found[0] != unit:
            self.fail(row, "site", "unknown_site", _("This site is not one of the unit's."))
            return False
        if found[1] != Site.Kind.MAGAZINE:
            self.fail(row, "site", "not_a_magazine", _("Explosives are stored in a magazine."))
            return False
        return row.site

    def _blaster(self, row: Parsed, unit: int) -> int | None:
        if not row.person:
            self.fail(row, "person", "required", _("Name the blaster (identity number)."))
            return None
        found = self.refs.people.get(row.person)
        if found is None or found[1] != unit:
            self.fail(row, "person", "unknown_person", _("This person does not work for the unit."))
            return None
        day = row.at.astimezone(LOCAL).date()
        valid = any(
            issued <= day <= expires for issued, expires in self.refs.blasters.get(found[0], [])
        )
        if not valid:
            self.fail(
                row,
                "person",
                "blaster_not_certified",
                _("This person holds no blaster certificate valid on %(day)s.") % {"day": day},
            )
            return None
        return found[0]

    def _project(self, row: Parsed, unit: int, *, required: bool) -> int | bool | None:
        if not row.project:
            if required:
                self.fail(row, "project", "required", _("Name the blasting project."))
                return False
            return None
        found = self.refs.projects.get(row.project)
        if found is None or found[1] != unit:
            self.fail(row, "project", "unknown_project", _("This project is not the unit's."))
            return False
        return found[0]

    def _permit(
        self, row: Parsed, field: str, number: str, kinds: set[Any], owner: int | None
    ) -> bool:
        if not number:
            self.fail(row, field, "required", _("The permit number is required for a sale."))
            return False
        day = row.at.astimezone(LOCAL).date()
        for kind, unit, status, issued, expires in self.refs.permits.get(number, []):
            if kind in kinds and (owner is None or unit == owner):
                if status == Permit.Status.ACTIVE and issued <= day <= expires:
                    return True
                self.fail(
                    row,
                    field,
                    "permit_not_valid",
                    _("Permit %(number)s is not in force on %(day)s.")
                    % {"number": number, "day": day},
                )
                return False
        self.fail(
            row,
            field,
            "permit_not_valid",
            _("Permit %(number)s is not a valid permit of this kind for this unit.")
            % {"number": number},
        )
        return False

    # the replay
    def apply(self, row: Parsed) -> None:
        unit = self._unit(row)
        if unit is None:
            return
        item = self.states.get(row.code)
        if row.kind == EventKind.PRODUCED:
            self._produced(row, unit, item)
            return
        if item is None:
            if row.kind == EventKind.RECEIVED and not row.counterpart and row.product:
                self._arrival(row, unit)
                return
            self.fail(row, "code", "unknown_code", _("No item with this code was produced."))
            return
        if not self._in_order(row, item):
            return
        if item.state in FINAL_STATES:
            self.fail(
                row,
                "event",
                "impossible_transition",
                _("The item is already %(state)s.") % {"state": ItemState(item.state).label},
            )
            return
        allowed = ALLOWED_FROM[row.kind]
        if item.state not in allowed:
            self.fail(
                row,
                "event",
                "impossible_transition",
                _("“%(event)s” cannot follow the state “%(state)s”.")
                % {"event": EventKind(row.kind).label, "state": ItemState(item.state).label},
            )
            return
        if row.kind == EventKind.RECEIVED:
            if item.destination_id != unit:
                self.fail(row, "unit", "not_holding", _("The item was not shipped to this unit."))
                return
        elif item.holder_id != unit:
            self.fail(row, "unit", "not_holding", _("The unit does not hold this item."))
            return
        getattr(self, f"_{row.kind}")(row, unit, item)

    def _in_order(self, row: Parsed, item: State) -> bool:
        if row.at > item.last_event_at:
            return True
        if row.at == item.last_event_at and row.kind == item.last_event_kind:
            self.fail(row, "at", "duplicate", _("This event is already in the ledger."))
        elif row.at < item.last_event_at:
            self.fail(
                row,
                "at",
                "out_of_order",
                _("The item's last event is later (%(at)s).")
                % {"at": timezone.localtime(item.last_event_at).isoformat()},
            )
        else:
            return True
        return False

    def _record(self, row: Parsed, unit: int, item: State, **refs: int | None) -> None:
        """Keep the event for writing, with what it moved at that moment (product, quantity):
        the books and reconciliation sum these without replaying packing."""
        self.events.append(
            Recorded(
                row=row,
                unit=unit,
                product=item.product,
                quantity=item.quantity,
                site=refs.get("site"),
                person=refs.get("person"),
                counterpart=refs.get("counterpart"),
                project=refs.get("project"),
            )
        )

    def _move(self, item: State, at: datetime, kind: str, **changes: Any) -> None:
        """Apply to the item and everything packed inside it."""
        stack = [item]
        while stack:
            current = stack.pop()
            for name, value in changes.items():
                setattr(current, name, value)
            current.last_event_at = at
            current.last_event_kind = kind
            current.changed = True
            # What was fired or destroyed inside a box stays so whatever happens to the box.
            stack.extend(
                self.states[c]
                for c in current.children
                if c in self.states and self.states[c].state not in FINAL_STATES
            )

    def _detach(self, item: State) -> None:
        """An item taken out of its box (issued alone, say) is no longer packed in it."""
        if not item.container:
            return
        parent = self.states.get(item.container)
        if parent is not None:
            parent.children.discard(item.code)
        # The box it left holds less, and so does the case the box is in.
        while parent is not None:
            parent.quantity -= item.quantity
            parent.changed = True
            parent = self.states.get(parent.container) if parent.container else None
        item.container = ""

    def _produced(self, row: Parsed, unit: int, item: State | None) -> None:
        product = row.product
        if not product:
            self.fail(row, "product", "required", _("Name the product of a new item."))
            return
        measure_one = product in DETONATORS
        quantity = (
            row.quantity if row.quantity is not None else (Decimal(1) if measure_one else None)
        )
        if quantity is None:
            self.fail(row, "quantity", "required", _("Give the package's quantity (kg or m)."))
            return
        if product == ProductKind.ELECTRONIC_DETONATOR and not row.chip_uid:
            self.fail(row, "chip_uid", "required", _("An electronic detonator has a chip UID."))
            return
        site = self._site(row, unit, required=False)
        if site is False:
            return
        if item is not None:
            # A second production of a code already in the ledger is kept as evidence for
            # reconciliation ("code used twice"); it changes nothing.
            if (row.code, row.kind, row.at) in self.filed:
                # The same production sent again (a resent batch), not a second one.
                self.fail(row, "at", "duplicate", _("This event is already in the ledger."))
                return
            self._record(row, unit, item, site=site or None)
            return
        if row.chip_uid:
            if row.chip_uid in self.uids_taken:
                self.fail(row, "chip_uid", "uid_taken", _("This chip UID belongs to another code."))
                return
            self.uids_taken.add(row.chip_uid)
        self.states[row.code] = State(
            code=row.code,
            level=Level.ITEM,
            product=product,
            quantity=quantity,
            chip_uid=row.chip_uid or None,
            container="",
            producer_id=unit,
            state=ItemState.PRODUCED,
            holder_id=unit,
            destination_id=None,
            # Made into the producer's magazine (its books count it in), or nowhere yet.
            site_id=site or None,
            person_id=None,
            project_id=None,
            last_event_at=row.at,
            last_event_kind=row.kind,
            changed=True,
        )
        self._record(row, unit, self.states[row.code], site=site or None)

    def _arrival(self, row: Parsed, unit: int) -> None:
        """Stock arriving from outside the platform (another province's system): recorded so
        its flow is followed from here; reconciliation reports it as never produced here."""
        quantity = row.quantity or Decimal(1)
        self.states[row.code] = State(
            code=row.code,
            level=Level.ITEM,
            product=row.product,
            quantity=quantity,
            chip_uid=None,
            container="",
            producer_id=None,
            state=ItemState.RECEIVED,
            holder_id=unit,
            destination_id=None,
            site_id=None,
            person_id=None,
            project_id=None,
            last_event_at=row.at,
            last_event_kind=row.kind,
            changed=True,
        )
        self._record(row, unit, self.states[row.code])

    def _packed(self, row: Parsed, unit: int, item: State) -> None:
        if not row.container or row.container == row.code:
            self.fail(row, "container", "required", _("Name the box or case it is packed into."))
            return
        if item.level == Level.CASE:
            self.fail(
                row, "code", "impossible_transition", _("A case is not packed into anything.")
            )
            return
        container = self.states.get(row.container)
        level = Level.BOX if item.level == Level.ITEM else Level.CASE
        if container is None:
            container = State(
                code=row.container,
                level=level,
                product=item.product,
                quantity=Decimal(0),
                chip_uid=None,
                container="",
                producer_id=item.producer_id,
                state=item.state,
                holder_id=unit,
                destination_id=None,
                site_id=item.site_id,
                person_id=None,
                project_id=None,
                last_event_at=row.at,
                last_event_kind=row.kind,
                changed=True,
            )
            self.states[row.container] = container
        elif container.level != level or container.product != item.product:
            self.fail(
                row,
                "container",
                "wrong_container",
                _("This container holds another product or level."),
            )
            return
        elif container.holder_id != unit or container.state != item.state:
            self.fail(row, "container", "not_holding", _("The unit does not hold this container."))
            return
        self._detach(item)
        item.container = container.code
        container.children.add(item.code)
        holder: State | None = container
        while holder is not None:
            holder.quantity += item.quantity
            holder.changed = True
            holder = self.states.get(holder.container) if holder.container else None
        self._move(item, row.at, row.kind)
        self._record(row, unit, item)

    def _shipped(self, row: Parsed, unit: int, item: State) -> None:
        buyer = self.refs.units.get(row.counterpart) if row.counterpart else None
        if buyer is None or buyer == unit:
            self.fail(row, "counterpart", "unknown_unit", _("Name the buyer by its USCC."))
            return
        purchase = {Permit.Kind.PURCHASE, Permit.Kind.SALE, Permit.Kind.BLASTING_UNIT}
        if not self._permit(row, "purchase_permit", row.purchase_permit, purchase, buyer):
            return
        if not self._permit(
            row, "transport_permit", row.transport_permit, {Permit.Kind.TRANSPORT}, None
        ):
            return
        left = self._magazine(item)
        self._detach(item)
        self._move(
            item, row.at, row.kind, state=ItemState.IN_TRANSIT, destination_id=buyer, site_id=None
        )
        self._record(row, unit, item, site=left, counterpart=buyer)

    def _received(self, row: Parsed, unit: int, item: State) -> None:
        self._move(
            item, row.at, row.kind, state=ItemState.RECEIVED, holder_id=unit, destination_id=None
        )
        self._record(row, unit, item)

    def _stored_in(self, row: Parsed, unit: int, item: State) -> None:
        if item.site_id is not None:
            self.fail(
                row,
                "event",
                "impossible_transition",
                _("The item is already in a magazine (site %(site)s).") % {"site": item.site_id},
            )
            return
        site = self._site(row, unit, required=True)
        if site is False:
            return
        self._move(item, row.at, row.kind, state=ItemState.IN_STORE, site_id=site)
        self._record(row, unit, item, site=site or None)

    def _issued(self, row: Parsed, unit: int, item: State) -> None:
        person = self._blaster(row, unit)
        if person is None:
            return
        project = self._project(row, unit, required=True)
        if project is False:
            return
        left = item.site_id
        self._detach(item)
        self._move(
            item,
            row.at,
            row.kind,
            state=ItemState.ISSUED,
            person_id=person,
            project_id=project,
            site_id=None,
        )
        self._record(row, unit, item, site=left, person=person, project=project or None)

    def _returned(self, row: Parsed, unit: int, item: State) -> None:
        site = self._site(row, unit, required=True)
        if site is False:
            return
        self._move(item, row.at, row.kind, state=ItemState.IN_STORE, site_id=site, person_id=None)
        self._record(row, unit, item, site=site or None)

    def _fired(self, row: Parsed, unit: int, item: State) -> None:
        person = self._blaster(row, unit)
        if person is None:
            return
        project = self._project(row, unit, required=False)
        if project is False:
            return
        project = project or item.project_id
        self._detach(item)
        self._move(
            item, row.at, row.kind, state=ItemState.FIRED, person_id=person, project_id=project
        )
        self._record(row, unit, item, person=person, project=project)

    @staticmethod
    def _magazine(item: State) -> int | None:
        """The magazine an event takes the item out of. `site_id` is set only while the item
        is in one (produced into it, stored in it or returned to it): issuing, shipping,
        losing and destroying clear it."""
        return item.site_id

    def _destroyed(self, row: Parsed, unit: int, item: State) -> None:
        left = self._magazine(item)
        self._detach(item)
        self._move(item, row.at, row.kind, state=ItemState.DESTROYED, site_id=None)
        self._record(row, unit, item, site=left)

    def _lost(self, row: Parsed, unit: int, item: State) -> None:
        left = self._magazine(item)
        self._detach(item)
        self._move(item, row.at, row.kind, state=ItemState.LOST, site_id=None)
        self._record(row, unit, item, site=left)

    def _found(self, row: Parsed, unit: int, item: State) -> None:
        site = self._site(row, unit, required=False)
        if site is False:
            return
        state = ItemState.IN_STORE if site else ItemState.RECEIVED
        self._move(item, row.at, row.kind, state=state, site_id=site or None)
        self._record(row, unit, item, site=site or None)
