"""What the simulation moves and keeps: products, boxes and cases (a box holds a contiguous
serial range of items, never one object per item), each unit's stock and ordering policy, and
the anomalies planned for injection."""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field

from weibao.ledger.generate.world import Unit

H = 3600
DAY = 86400
FOREIGN_ENTERPRISE = "98"  # codes of an out-of-province plant: "never produced" here
THRESHOLDS = {"piece": 30_000, "kg": 1_000, "m": 30_000}  # criminal thresholds, in milli


@dataclass(frozen=True)
class Product:
    kind: str
    weight: float  # share of all items
    milli: int  # one item, in thousandths of its measure
    measure: str
    box: int  # items per box
    case: int  # boxes per case
    letter: str  # shell-code characteristic (detonators) or the package code's first letter

    @property
    def detonator(self) -> bool:
        return self.measure == "piece"


PRODUCTS = {
    p.kind: p
    for p in (
        Product("electronic_detonator", 0.27, 1000, "piece", 20, 10, "A"),
        Product("nonel_detonator", 0.08, 1000, "piece", 20, 10, "B"),
        Product("electric_detonator", 0.03, 1000, "piece", 20, 10, "D"),
        Product("explosive", 0.55, 3000, "kg", 8, 10, "E"),
        Product("detonating_cord", 0.05, 50_000, "m", 10, 4, "R"),
        Product("fuse", 0.02, 50_000, "m", 10, 4, "F"),
    )
}


def severity(kind: str, product: str, milli: int) -> str:
    if kind in ("not_received", "not_closed", "lost"):
        return "critical" if milli >= THRESHOLDS[PRODUCTS[product].measure] else "high"
    return "low" if kind in ("late_filing", "count_mismatch") else "high"


class Box:
    __slots__ = ("code", "first", "n", "prefix", "product", "used", "width")

    def __init__(self, code: str, product: str, prefix: str, width: int, first: int, n: int):
        self.code, self.product, self.prefix, self.width = code, product, prefix, width
        self.first, self.n, self.used = first, n, 0

    def item(self, i: int) -> str:
        return f"{self.prefix}{self.first + i:0{self.width}d}"


class Case:
    __slots__ = ("boxes", "code", "items", "product", "shipped")

    def __init__(self, code: str, product: str, boxes: list[Box]):
        self.code, self.product, self.boxes, self.shipped = code, product, boxes, 0
        self.items = sum(b.n for b in boxes)


@dataclass
class Holder:
    """A unit's stock and ordering policy during the simulation."""

    unit: Unit
    uses: list[str] = field(default_factory=list)
    cases: dict[str, deque[Case]] = field(default_factory=lambda: defaultdict(deque))
    boxes: dict[str, deque[Box]] = field(default_factory=lambda: defaultdict(deque))
    loose: dict[str, deque[tuple[str, int]]] = field(default_factory=lambda: defaultdict(deque))
    items: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    in_transit: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    rate: dict[str, float] = field(default_factory=dict)  # items a day
    supplier: Holder | None = None
    serials: dict[tuple[int, str], int] = field(default_factory=lambda: defaultdict(int))
    uid_counter: int = 0


def rotated(holders: list[Holder], day: int) -> list[Holder]:
    first = day % len(holders) if holders else 0
    return holders[first:] + holders[:first]


@dataclass
class Injection:
    kind: str
    day: int  # the first day it may happen
    last: int  # the last day it may happen
    detonator: bool | None = None  # prefer this class of product, for varied severities
    level: str = "box"
