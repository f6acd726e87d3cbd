"""The day-by-day simulation behind a generated history.

Each day, in this order: contractors blast with what they had in store that morning (items
issued to a blaster for a project, then fired, the rest returned the same afternoon); sellers
ship boxes to contractors whose stock fell below their reorder point (received and stored the
same afternoon); producers ship cases to sellers (received the same day or the next morning);
producers make the day's quota (items produced, packed into boxes, boxes into cases, cases
stored in the plant's magazine). At the end of the day every magazine's books are the declared
count. Every event falls between 08:00 and 23:00 local time, so a day is the same day in
Beijing time and in UTC.

Stock is tracked by box and by item (a box holds a contiguous serial range), never one object
per item, and each day's events are sorted and written before the next day starts: memory
holds the stock, not the history.

Anomalies are injected at planned days, on the first event that fits (`History.due`); the
clean rest follows every rule reconciliation checks.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from math import ceil
from typing import Any

from weibao.ledger.generate.output import EventWriter, clock, milli_text
from weibao.ledger.generate.stock import (
    DAY,
    FOREIGN_ENTERPRISE,
    PRODUCTS,
    Case,
    H,
    Holder,
    Injection,
    Product,
    severity,
)
from weibao.ledger.generate.supply import produce, supply_contractors, supply_sellers
from weibao.ledger.generate.world import Unit, World


class History:
    """Runs the simulation and writes its events; see the module docstring."""

    def __init__(
        self,
        world: World,
        *,
        items: int,
        seed: int,
        start: date,
        days: int,
        writer: EventWriter,
        anomalies_per_kind: int,
    ) -> None:
        self.world, self.items_wanted, self.seed = world, items, seed
        self.start, self.days, self.writer = start, days, writer
        self.rng = random.Random(f"weibao-ledger-history-{seed}")  # noqa: S311 - synthetic
        small = items < 5000
        self.products = {
            kind: Product(
                p.kind,
                p.weight,
                p.milli,
                p.measure,
                max(4, p.box // 2) if small else p.box,
                max(2, p.case // 3) if small else p.case,
                p.letter,
            )
            for kind, p in PRODUCTS.items()
        }
        self.clock = clock()
        self.prefix = [f"{start + timedelta(days=d)}T" for d in range(days + 8)]
        self.buf: dict[int, list[tuple[int, int, tuple[str, ...]]]] = defaultdict(list)
        self.seq = 0
        # Books: (site, product) → thousandths; the order pairs first appeared in, for counts.
        self.books: dict[tuple[int, str], int] = {}
        self.inc: dict[tuple[int, bool], int] = defaultdict(int)
        self.level: dict[tuple[int, bool], int] = defaultdict(int)
        self.morning: dict[tuple[int, bool], int] = defaultdict(int)
        self.peak: dict[tuple[int, bool], int] = defaultdict(int)
        self.counts: list[tuple[int, date, str, int]] = []
        self.purchases: dict[tuple[int, str], int] = defaultdict(int)
        self.later: dict[int, list[tuple[int, str, int]]] = defaultdict(list)
        self.arrivals: dict[int, list[tuple[Holder, Case]]] = defaultdict(list)
        self.anomalies: list[dict[str, Any]] = []
        self.produced = 0
        self.producers = [Holder(u) for u in world.producers]
        self.sellers = [Holder(u) for u in world.sellers]
        self.contractors = [Holder(u) for u in world.contractors]
        self._plan_demand()
        self._plan_injections(anomalies_per_kind)

    # --- planning --------------------------------------------------------------------------
    def _plan_demand(self) -> None:
        rng = self.rng
        made = sorted({k for p in self.producers for k in p.unit.products})
        detonators = [k for k in made if self.products[k].detonator]
        if "explosive" not in made or not detonators:
            raise ValueError("the producers must make explosives and detonators")
        shares: dict[str, dict[int, float]] = defaultdict(dict)
        for i, c in enumerate(self.contractors):
            main = detonators[0] if i % 10 < 7 else detonators[i % len(detonators)]
            c.uses = ["explosive", main]
            if "detonating_cord" in made and i % 2 == 0:
                c.uses.append("detonating_cord")
            if "fuse" in made and i % 3 == 1:
                c.uses.append("fuse")
            weight = rng.uniform(0.5, 1.5)
            for kind in c.uses:
                shares[kind][i] = weight
        for kind in made:  # everything made has a user
            if not shares[kind]:
                shares[kind][len(shares[kind]) % len(self.contractors)] = 1.0
                self.contractors[0].uses.append(kind)
        total_weight = sum(self.products[k].weight for k in made)
        self.wanted = {
            k: max(1, round(self.items_wanted * self.products[k].weight / total_weight))
            for k in made
        }
        use_days = max(1, self.days - 4)
        for kind, by_contractor in shares.items():
            total = sum(by_contractor.values())
            for i, weight in by_contractor.items():
                self.contractors[i].rate[kind] = self.wanted[kind] * 1.2 / use_days * weight / total
        for i, c in enumerate(self.contractors):
            c.supplier = self._seller_for(i, c.unit)
        # Production quotas in boxes, per producer, spread over every day but the last.
        self.quota: dict[tuple[int, str], list[int]] = {}
        days = max(1, self.days - 1)
        for kind in made:
            makers = [i for i, p in enumerate(self.producers) if kind in p.unit.products]
            boxes = ceil(self.wanted[kind] / self.products[kind].box)
            for n, i in enumerate(makers):
                own = boxes // len(makers) + (1 if n < boxes % len(makers) else 0)
                self.quota[(i, kind)] = [
                    (d + 1) * own // days - d * own // days for d in range(days)
                ] + [0]

    def _seller_for(self, index: int, unit: Unit) -> Holder:
        local = [s for s in self.sellers if s.unit.county == unit.county]
        choice = local[index % len(local)] if local else self.sellers[index % len(self.sellers)]
        for kind in self.contractors[index].uses:
            if kind not in choice.uses:
                choice.uses.append(kind)
        return choice

    def _plan_injections(self, per_kind: int) -> None:
        rng, last = self.rng, self.days - 1
        early = max(2, self.days // 5)

        def days(first: int, final: int) -> list[int]:
            final = max(first, final)
            return sorted(rng.randint(first, final) for _ in range(per_kind))

        self.pending: dict[str, list[Injection]] = {}
        plan = {
            # (first day, last day): late filings must be recorded before the as-of time,
            # shipments not received must be 72 h old by then.
            "not_received": (early, last - 4),
            "late_filing": (early, last - 6),
            "lost": (early, last - 1),
            "lost_found": (early, last - 2),
            "not_closed": (early + 1, last - 1),
            "never_produced": (early, last - 2),
            "destroyed": (early + 2, last - 1),
        }
        for kind, (first, final) in plan.items():
            count = 1 if kind in ("lost_found",) else per_kind
            self.pending[kind] = [
                Injection(
                    kind,
                    day,
                    max(day, final),
                    detonator=(n % 2 == 0),
                    level="case" if kind in ("not_received", "late_filing") and n % 2 else "box",
                )
                for n, day in enumerate(days(first, final)[:count])
            ]
        # Code reuse: an item made early is "made" again later by the same plant.
        self.reuse_take = days(0, max(0, last // 3))
        self.reuse_later: dict[int, list[tuple[Holder, str, str]]] = defaultdict(list)

    def due(self, kind: str, day: int, detonator: bool | None, level: str = "box") -> bool:
        """Whether an injection of `kind` is due now on something of this class and level;
        takes it off the plan if so. A planned one waits up to three days for the class and
        level it prefers, then takes what comes; one whose last day passed is dropped (the
        ground truth lists what was injected)."""
        queue = self.pending[kind]
        while queue and day > queue[0].last:
            queue.pop(0)
        if not queue or queue[0].day > day:
            return False
        want = queue[0]
        if day < min(want.last, want.day + 3):
            if want.level != level:
                return False
            if None not in (want.detonator, detonator) and want.detonator != detonator:
                return False
        queue.pop(0)
        return True

    # --- books and events ------------------------------------------------------------------
    def emit(self, sec: int, row: tuple[str, ...]) -> None:
        self.buf[sec // DAY].append((sec, self.seq, row))
        self.seq += 1

    def stamp(self, sec: int) -> str:
        return self.prefix[sec // DAY] + self.clock[sec % DAY]

    def row(self, sec: int, code: str, kind: str, unit: str, **f: str) -> tuple[str, ...]:
        return (
            code,
            kind,
            self.stamp(sec),
            unit,
            f.get("site", ""),
            f.get("person", ""),
            f.get("counterpart", ""),
            f.get("project", ""),
            f.get("container", ""),
            f.get("purchase_permit", ""),
            f.get("transport_permit", ""),
            f.get("latitude", ""),
            f.get("longitude", ""),
            f.get("product", ""),
            f.get("quantity", ""),
            f.get("chip_uid", ""),
            f.get("recorded_at", "") or self.stamp(sec + 600 + self.seq % 1200),
        )

    def add(self, site: int, product: str, milli: int) -> None:
        key = (site, product)
        self.books[key] = self.books.get(key, 0) + milli
        cls = (site, self.products[product].detonator)
        self.level[cls] += milli
        self.inc[cls] += milli

    def sub(self, site: int, product: str, milli: int) -> None:
        key = (site, product)
        self.books[key] -= milli
        if self.books[key] < 0:
            raise AssertionError(f"negative stock at site {site}: {product}")
        self.level[(site, self.products[product].detonator)] -= milli

    def note(self, kind: str, subject: str, **details: Any) -> None:
        product = details.get("product", "")
        milli = details.pop("milli", 0)
        entry = {"key": f"{kind}:{subject}", "kind": kind, "subject": subject}
        entry["severity"] = severity(kind, product, milli) if product else "high"
        if kind == "count_mismatch":
            entry["severity"] = "low"
        if milli:
            entry["quantity"] = milli_text(milli)
        entry.update(details)
        self.anomalies.append(entry)

    # --- the run ---------------------------------------------------------------------------
    def run(self) -> None:
        for day in range(self.days):
            for site, product, milli in self.later.pop(day, []):
                self.add(site, product, milli)
            for seller, case in self.arrivals.pop(day, []):
                seller.cases[case.product].append(case)
                seller.items[case.product] += case.items
                seller.in_transit[case.product] -= case.items
            self._blasts(day)
            supply_contractors(self, day)
            supply_sellers(self, day)
            produce(self, day)
            self._close(day)

    def _close(self, day: int) -> None:
        moment = self.start + timedelta(days=day)
        self.counts.extend(
            (site, moment, product, milli) for (site, product), milli in self.books.items()
        )
        for key, level in self.level.items():
            self.peak[key] = max(self.peak[key], self.morning[key] + self.inc[key], level)
            self.morning[key] = level
        self.inc.clear()
        rows = self.buf.pop(day, [])
        rows.sort()
        self.writer.write([r[2] for r in rows])

    # --- contractors -----------------------------------------------------------------------
    def _take(self, c: Holder, product: str, n: int) -> list[tuple[str, int]]:
        taken: list[tuple[str, int]] = []
        loose = c.loose[product]
        while n and loose:
            taken.append(loose.popleft())
            n -= 1
        boxes = c.boxes[product]
        milli = self.products[product].milli
        while n and boxes:
            box = boxes[0]
            k = min(n, box.n - box.used)
            taken.extend((box.item(box.used + i), milli) for i in range(k))
            box.used += k
            n -= k
            if box.used == box.n:
                boxes.popleft()
        c.items[product] -= len(taken)
        return taken

    def _blasts(self, day: int) -> None:
        rng, base, clk, prefix = self.rng, day * DAY, self.clock, self.prefix
        for c in self.contractors:
            if rng.random() > 0.85 or not c.unit.blasters or not c.unit.projects:
                continue
            unit = c.unit.uscc
            returned: list[tuple[str, str, int]] = []
            blasts = 1 if rng.random() < 0.7 else 2
            for _b in range(blasts):
                person = rng.choice(c.unit.blasters)
                project = rng.choice(c.unit.projects)
                lat = f"{project.latitude + rng.uniform(-0.003, 0.003):.6f}"
                lon = f"{project.longitude + rng.uniform(-0.003, 0.003):.6f}"
                t_issue = base + 8 * H + rng.randrange(50 * 60)
                t_fire = base + 10 * H + rng.randrange(4 * H)
                t_back = base + 15 * H + 1800 + rng.randrange(90 * 60)
                share = rng.choice((0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7))
                for product in c.uses:
                    want = c.rate[product] / 0.85 / blasts * rng.uniform(0.6, 1.4)
                    n = int(want) + (rng.random() < want - int(want))
                    taken = self._take(c, product, n)
                    if not taken:
                        continue
                    site = c.unit.magazine_for(product).pk
                    detonator = self.products[product].detonator
                    open_one = self.due("not_closed", day, detonator)
                    for i, (code, milli) in enumerate(taken):
                        t = t_issue + i
                        self.buf[day].append(
                            (
                                t,
                                self.seq,
                                (code, "issued", prefix[day] + clk[t - base], unit, "",
                                 person, "", project.code, "", "", "", "", "", "", "", "",
                                 prefix[day] + clk[t - base + 900]),
                            )
                        )  # fmt: skip
                        self.seq += 1
                        self.sub(site, product, milli)
                        if open_one and i == 0:
                            self.note(
                                "not_closed", code, product=product, milli=milli, unit=unit,
                                day=str(self.start + timedelta(days=day)),
                            )  # fmt: skip
                            continue
                        if rng.random() < share:
                            t = t_back + i
                            row = (code, "returned", prefix[day] + clk[t - base], unit,
                                   str(site), "", "", "", "", "", "", "", "", "", "", "",
                                   prefix[day] + clk[t - base + 600])  # fmt: skip
                            returned.append((product, code, milli))
                            self.add(site, product, milli)
                        else:
                            t = t_fire + i
                            row = (code, "fired", prefix[day] + clk[t - base], unit, "",
                                   person, "", "", "", "", "", lat, lon, "", "", "",
                                   prefix[day] + clk[t - base + 1200])  # fmt: skip
                        self.buf[day].append((t, self.seq, row))
                        self.seq += 1
            for product, code, milli in returned:
                c.loose[product].append((code, milli))
                c.items[product] += 1
            self._destroy(c, day)
            self._arrival(c, day)

    def _destroy(self, c: Holder, day: int) -> None:
        """A damaged item destroyed in the magazine (clean: the books drop with it)."""
        for product in c.uses:
            taken = c.loose[product] or c.boxes[product]
            if not taken or not self.due("destroyed", day, None):
                continue
            ((code, milli),) = self._take(c, product, 1)
            site = c.unit.magazine_for(product).pk
            t = day * DAY + 17 * H + 1800 + self.rng.randrange(1800)
            self.emit(t, self.row(t, code, "destroyed", c.unit.uscc))
            self.sub(site, product, milli)
            return

    def _arrival(self, c: Holder, day: int) -> None:
        """Stock received from outside the platform: events on a code never produced here."""
        if not self.due("never_produced", day, None):
            return
        index = sum(1 for a in self.anomalies if a["kind"] == "never_produced")
        moment = self.start + timedelta(days=day)
        if index % 2 == 0:
            product = "nonel_detonator"
            code = f"{FOREIGN_ENTERPRISE}{moment.year % 10}{moment:%m%d}B{index + 1:05d}"
        else:
            product = "explosive"
            code = f"E{FOREIGN_ENTERPRISE}{moment:%y%m%d}{index + 1:06d}"
        milli = self.products[product].milli
        t = day * DAY + 18 * H + 1800 + self.rng.randrange(H)
        quantity = milli_text(milli) if product == "explosive" else ""
        unit = c.unit.uscc
        self.emit(t, self.row(t, code, "received", unit, product=product, quantity=quantity))
        site = c.unit.magazine_for(product).pk
        self.emit(t + 1200, self.row(t + 1200, code, "stored_in", unit, site=str(site)))
        self.add(site, product, milli)
        c.loose[product].append((code, milli))
        c.items[product] += 1
        self.note("never_produced", code, product=product, unit=unit)
