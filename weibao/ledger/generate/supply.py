"""The day's supply steps of the simulation: sellers to contractors, producers to sellers, and
production (with the code a plant makes twice)."""

from __future__ import annotations

from datetime import timedelta
from math import ceil
from typing import TYPE_CHECKING

from weibao.ledger.generate.output import milli_text
from weibao.ledger.generate.stock import DAY, Box, Case, H, Holder, rotated

if TYPE_CHECKING:
    from weibao.ledger.generate.simulate import History


# --- sellers to contractors ------------------------------------------------------------
def _boxes_from(h: History, seller: Holder, product: str, n: int) -> list[Box]:
    taken: list[Box] = []
    cases = seller.cases[product]
    while n and cases:
        case = cases[0]
        k = min(n, len(case.boxes) - case.shipped)
        taken += case.boxes[case.shipped : case.shipped + k]
        case.shipped += k
        n -= k
        if case.shipped == len(case.boxes):
            cases.popleft()
    seller.items[product] -= sum(b.n for b in taken)
    return taken


def supply_contractors(h: History, day: int) -> None:
    rng, base = h.rng, day * DAY
    moment = h.start + timedelta(days=day)
    # A different buyer goes first each day: when stock is short, it is shared over days.
    for c in rotated(h.contractors, day):
        permit = c.unit.permit_on(moment)
        seller = c.supplier
        if permit is None or seller is None:
            continue
        order: list[Box] = []
        for product in c.uses:
            size = h.products[product].box
            rate = c.rate.get(product, 0.0)
            position = c.items[product]
            if position >= max(1.0, 2.5 * rate):
                continue
            need = max(size, ceil(5 * rate) - position)
            order += _boxes_from(h, seller, product, ceil(need / size))
        if not order:
            continue
        t_ship = base + 9 * H + rng.randrange(2 * H)
        t_recv = t_ship + 2 * H + rng.randrange(3 * H)
        t_store = t_recv + 600 + rng.randrange(1800)
        _deliver(h, seller, c, permit.pk, permit.number, order, t_ship, t_recv, t_store)


def _deliver(
    h: History,
    seller: Holder,
    c: Holder,
    permit_pk: int,
    permit: str,
    order: list[Box],
    t_ship: int,
    t_recv: int,
    t_store: int,
) -> None:
    rng, day = h.rng, t_ship // DAY
    unit, buyer = seller.unit.uscc, c.unit.uscc
    moment = str(h.start + timedelta(days=day))
    for i, box in enumerate(order):
        product = box.product
        p = h.products[product]
        milli = box.n * p.milli
        special = next(
            (k for k in ("late_filing", "not_received", "lost", "lost_found")
             if h.due(k, day, p.detonator if k != "lost_found" else None)),
            "",
        )  # fmt: skip
        ts = t_ship + i
        late = ts + 4 * DAY + rng.randrange(2 * H, 12 * H)
        recorded = h.stamp(late if special == "late_filing" else ts + 1800 + i)
        h.emit(
            ts,
            h.row(
                ts, box.code, "shipped", unit, counterpart=buyer, purchase_permit=permit,
                transport_permit=c.unit.transport_permit or seller.unit.transport_permit,
                recorded_at=recorded,
            ),
        )  # fmt: skip
        h.sub(seller.unit.magazine_for(product).pk, product, milli)
        h.purchases[(permit_pk, product)] += milli
        details = {"product": product, "milli": milli, "unit": unit, "day": moment}
        if special in ("late_filing", "not_received"):
            h.note(special, box.code, counterpart=buyer, **details)
            if special == "not_received":
                continue
        tr = t_recv + i
        h.emit(tr, h.row(tr, box.code, "received", buyer))
        if special == "lost":
            h.emit(tr + 900, h.row(tr + 900, box.code, "lost", buyer))
            h.note("lost", box.code, **(details | {"unit": buyer}))
            continue
        stored = t_store + i
        if special == "lost_found":  # clean: found again within the hour
            h.emit(tr + 600, h.row(tr + 600, box.code, "lost", buyer))
            h.emit(tr + 1800, h.row(tr + 1800, box.code, "found", buyer))
            stored = tr + 2400
        site = c.unit.magazine_for(product).pk
        h.emit(stored, h.row(stored, box.code, "stored_in", buyer, site=str(site)))
        h.add(site, product, milli)
        c.boxes[product].append(box)
        c.items[product] += box.n


# --- producers to sellers --------------------------------------------------------------
def _cases_from(h: History, product: str, n: int) -> list[tuple[Holder, Case]]:
    makers = [p for p in h.producers if product in p.unit.products]
    makers.sort(key=lambda p: -p.items[product])
    taken: list[tuple[Holder, Case]] = []
    for p in makers:
        cases = p.cases[product]
        while n and cases:
            case = cases.popleft()
            p.items[product] -= case.items
            taken.append((p, case))
            n -= 1
    return taken


def supply_sellers(h: History, day: int) -> None:
    rng, base = h.rng, day * DAY
    moment = h.start + timedelta(days=day)
    for s in rotated(h.sellers, day):
        permit = s.unit.permit_on(moment)
        if permit is None:
            continue
        for product in s.uses:
            p = h.products[product]
            rate = sum(c.rate.get(product, 0.0) for c in h.contractors if c.supplier is s)
            position = s.items[product] + s.in_transit[product]
            if position >= max(1.0, 4 * rate):
                continue
            per_case = p.box * p.case
            need = max(per_case, ceil(8 * rate) - position)
            shipment = _cases_from(h, product, ceil(need / per_case))
            if not shipment:
                continue
            t_ship = base + 8 * H + rng.randrange(2 * H)
            if day <= h.days - 2 and rng.random() < 0.4:
                t_recv = base + DAY + 8 * H + rng.randrange(2 * H)
            else:
                t_recv = t_ship + 4 * H + rng.randrange(4 * H)
            t_store = t_recv + 900 + rng.randrange(2700)
            for i, (producer, case) in enumerate(shipment):
                _ship_case(h, producer, s, permit.pk, permit.number, case,
                                (t_ship + 5 * i, t_recv + 5 * i, t_store + 5 * i))  # fmt: skip


def _ship_case(
    h: History,
    producer: Holder,
    seller: Holder,
    permit_pk: int,
    permit: str,
    case: Case,
    times: tuple[int, int, int],
) -> None:
    t_ship, t_recv, t_store = times
    day = t_ship // DAY
    p = h.products[case.product]
    milli = case.items * p.milli
    unit, buyer = producer.unit.uscc, seller.unit.uscc
    special = next(
        (k for k in ("late_filing", "not_received") if h.due(k, day, p.detonator, "case")),
        "",
    )
    late = t_ship + 4 * DAY + h.rng.randrange(2 * H, 12 * H)
    recorded = h.stamp(late if special == "late_filing" else t_ship + 3600)
    h.emit(
        t_ship,
        h.row(
            t_ship, case.code, "shipped", unit, counterpart=buyer, purchase_permit=permit,
            transport_permit=seller.unit.transport_permit or producer.unit.transport_permit,
            recorded_at=recorded,
        ),
    )  # fmt: skip
    h.sub(producer.unit.magazine_for(case.product).pk, case.product, milli)
    h.purchases[(permit_pk, case.product)] += milli
    if special:
        moment = str(h.start + timedelta(days=day))
        h.note(special, case.code, product=case.product, milli=milli, unit=unit,
                   counterpart=buyer, day=moment)  # fmt: skip
        if special == "not_received":
            return
    h.emit(t_recv, h.row(t_recv, case.code, "received", buyer))
    site = seller.unit.magazine_for(case.product).pk
    h.emit(t_store, h.row(t_store, case.code, "stored_in", buyer, site=str(site)))
    if t_store // DAY == day:
        h.add(site, case.product, milli)
    else:
        h.later[t_store // DAY].append((site, case.product, milli))
    seller.in_transit[case.product] += case.items
    h.arrivals[t_store // DAY + 1].append((seller, case))


# --- production ------------------------------------------------------------------------
def produce(h: History, day: int) -> None:
    rng, base, clk = h.rng, day * DAY, h.clock
    moment = h.start + timedelta(days=day)
    at_day = h.prefix[day]
    ymd, y1md = f"{moment:%y%m%d}", f"{moment.year % 10}{moment:%m%d}"
    for pi, p in enumerate(h.producers):
        unit, ent = p.unit.uscc, p.unit.enterprise_code
        _reproduce(h, p, day)
        for product in p.unit.products:
            boxes_today = h.quota[(pi, product)][day]
            if not boxes_today:
                continue
            pr = h.products[product]
            n, detonator = pr.box, pr.detonator
            per_box = 3 * n + 20
            lines = max(1, ceil(boxes_today * per_box / (6 * H)))
            clocks = [base + 8 * H + rng.randrange(600) for _ in range(lines)]
            site = p.unit.magazine_for(product).pk
            if detonator:
                prefix, width = f"{ent}{y1md}{pr.letter}", 5
            else:
                prefix, width = f"{pr.letter}{ent}{ymd}", 6
            electronic = product == "electronic_detonator"
            uid_prefix = f"{int(ent):02X}{h.seed & 0xFFFF:04X}"
            quantity = "" if detonator else milli_text(pr.milli)
            buf = h.buf[day]
            for ci in range(ceil(boxes_today / pr.case)):
                count = min(pr.case, boxes_today - ci * pr.case)
                p.serials[(day, "case" + product)] += 1
                case_code = f"K{ent}{ymd}{pr.letter}{p.serials[(day, 'case' + product)]:04d}"
                boxes: list[Box] = []
                done = 0
                for bi in range(count):
                    line = (ci * pr.case + bi) % lines
                    t0 = clocks[line]
                    first = p.serials[(day, product)] + 1
                    p.serials[(day, product)] += n
                    p.serials[(day, "box" + product)] += 1
                    box_code = f"X{ent}{ymd}{pr.letter}{p.serials[(day, 'box' + product)]:05d}"
                    box = Box(box_code, product, prefix, width, first, n)
                    for i in range(n):
                        code = f"{prefix}{first + i:0{width}d}"
                        uid = ""
                        if electronic:
                            p.uid_counter += 1
                            uid = f"{uid_prefix}{p.uid_counter:010X}"
                        t = t0 + 2 * i - base
                        buf.append(
                            (t + base, h.seq,
                             (code, "produced", at_day + clk[t], unit, "", "", "", "", "",
                              "", "", "", "", product, quantity, uid, at_day + clk[t + 300]))
                        )  # fmt: skip
                        t = t0 + 2 * n + 5 + i - base
                        buf.append(
                            (t + base, h.seq + 1,
                             (code, "packed", at_day + clk[t], unit, "", "", "", "", box_code,
                              "", "", "", "", "", "", "", at_day + clk[t + 300]))
                        )  # fmt: skip
                        h.seq += 2
                    tb = t0 + 3 * n + 10
                    h.emit(tb, h.row(tb, box_code, "packed", unit, container=case_code))
                    clocks[line] = tb + 10
                    done = max(done, tb)
                    boxes.append(box)
                case = Case(case_code, product, boxes)
                tc = done + 300 + rng.randrange(600)
                h.emit(tc, h.row(tc, case_code, "stored_in", unit, site=str(site)))
                h.add(site, product, case.items * pr.milli)
                p.cases[product].append(case)
                p.items[product] += case.items
                h.produced += case.items
                if detonator and h.reuse_take and h.reuse_take[0] <= day:
                    _plan_reuse(h, p, boxes[0], day)
            if p.serials[(day, product)] > 10**width - 1:
                raise ValueError("too many items a day for one plant: add producers")


def _plan_reuse(h: History, p: Holder, box: Box, day: int) -> None:
    """Remember a code made today, to be made again by the same plant on a later day."""
    final = h.days - 2
    if day + 2 > final:
        return
    h.reuse_take.pop(0)
    again = h.rng.randint(day + 2, max(day + 2, min(final, day + h.days // 3)))
    h.reuse_later[again].append((p, box.item(0), box.product))


def _reproduce(h: History, p: Holder, day: int) -> None:
    for owner, code, product in list(h.reuse_later.get(day, [])):
        if owner is not p:
            continue
        h.reuse_later[day].remove((owner, code, product))
        t = day * DAY + 15 * H + h.rng.randrange(H)
        uid = ""
        if product == "electronic_detonator":
            p.uid_counter += 1
            uid = f"{int(p.unit.enterprise_code):02X}{h.seed & 0xFFFF:04X}"
            uid += f"{p.uid_counter:010X}"
        h.emit(t, h.row(t, code, "produced", p.unit.uscc, product=product, chip_uid=uid))
        h.note("code_reused", code, product=product, unit=p.unit.uscc,
                   day=str(h.start + timedelta(days=day)))  # fmt: skip
