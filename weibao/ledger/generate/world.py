"""The registry side of a generated history: who makes, sells and fires the goods, where they
are stored, who may fire them and under which permits.

`World` is what the simulation needs (ids, codes and numbers, no ORM objects). `build_world`
creates a synthetic one for a seed in the database (producers, sellers and blasting contractors
in Hengyang's counties, their magazines, blasters with certificates, projects and permits); the
demo builds one from its own units instead (weibao.ledger.demo). Rows are found by natural keys
first, so a second build with the same seed creates nothing.

The synthetic registry is written with `bulk_create`: hundreds of units and permits for a
benchmark in a second, at the price of no audit entries for these rows (they are test data).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from weibao.ledger.models import DETONATORS, BlastingProject, PermitAllowance
from weibao.registry.demo import COUNTIES, MALE_NAMES, SURNAMES
from weibao.registry.models import Certificate, Enterprise, Permit, Person, Site
from weibao.registry.validators import make_identity_number, make_uscc

DETONATOR_STORE, BULK_STORE, ANY_STORE = "detonators", "bulk", "all"


@dataclass
class Magazine:
    pk: int
    name: str
    holds: str  # DETONATOR_STORE, BULK_STORE or ANY_STORE
    capacity_kg: Decimal | None = None
    capacity_detonators: int | None = None
    # Its design capacity is set from the generated stock after the run (synthetic worlds, and
    # the demo's small magazine that is meant to overflow).
    managed: bool = False

    def takes(self, product: str) -> bool:
        wanted = DETONATOR_STORE if product in DETONATORS else BULK_STORE
        return self.holds in (wanted, ANY_STORE)


@dataclass(frozen=True)
class PermitRef:
    pk: int
    number: str
    issued_on: date
    expires_on: date


@dataclass(frozen=True)
class ProjectRef:
    code: str
    latitude: float
    longitude: float


@dataclass
class Unit:
    pk: int
    uscc: str
    name: str
    county: str
    magazines: list[Magazine]
    transport_permit: str = ""
    purchase_permits: list[PermitRef] = field(default_factory=list)
    # Producers: the GA 441 enterprise part of their shell codes, and what they make.
    enterprise_code: str = ""
    products: tuple[str, ...] = ()
    # Blasting contractors: identity numbers of blasters certified through the history.
    blasters: list[str] = field(default_factory=list)
    projects: list[ProjectRef] = field(default_factory=list)

    def magazine_for(self, product: str) -> Magazine:
        for magazine in self.magazines:
            if magazine.takes(product):
                return magazine
        raise ValueError(f"{self.name} has no magazine for {product}")

    def permit_on(self, day: date) -> PermitRef | None:
        for permit in self.purchase_permits:
            if permit.issued_on <= day <= permit.expires_on:
                return permit
        return None


@dataclass
class World:
    producers: list[Unit]
    sellers: list[Unit]
    contractors: list[Unit]

    def magazines(self) -> list[Magazine]:
        units = self.producers + self.sellers + self.contractors
        return [m for u in units for m in u.magazines]


# --- the synthetic world -----------------------------------------------------------------------
PRODUCER_COUNTIES = ("430422", "430481", "430426", "430424")
PRODUCER_NAMES = ("南岭", "湘南", "祁阳", "洣水")
TRADE_WORDS = ("宏安", "华兴", "顺达", "安泰", "宏源", "衡岳", "金石", "开元", "鑫达", "永安")
DETONATOR_PRODUCTS = ("electronic_detonator", "nonel_detonator", "electric_detonator")
BULK_PRODUCTS = ("explosive", "detonating_cord", "fuse")


@dataclass(frozen=True)
class Scale:
    producers: int
    sellers: int
    contractors: int

    @classmethod
    def for_items(cls, items: int) -> Scale:
        return cls(
            producers=min(4, 2 + items // 1_000_000),
            sellers=min(12, max(2, items // 100_000)),
            contractors=min(160, max(3, items // 15_000)),
        )


def _aware(day: date, hour: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def _months(start: date, end: date) -> list[tuple[date, date]]:
    months = []
    first = start.replace(day=1)
    while first <= end:
        following = (first + timedelta(days=32)).replace(day=1)
        months.append((first, following - timedelta(days=1)))
        first = following
    return months


@dataclass
class _UnitPlan:
    role: str  # producer / seller / contractor
    index: int
    county: str
    uscc: str
    name: str
    kinds: str
    sites: list[tuple[str, str]]  # (name, holds)
    permits: list[tuple[str, str, date, date]]  # (kind, number, issued, expires)
    blasters: list[tuple[str, str]] = field(default_factory=list)  # (name, identity number)
    projects: list[tuple[str, str, float, float]] = field(default_factory=list)
    enterprise_code: str = ""
    products: tuple[str, ...] = ()


def _plan(seed: int, scale: Scale, start: date, end: date) -> list[_UnitPlan]:
    rng = random.Random(f"weibao-ledger-world-{seed}")  # noqa: S311 - synthetic data
    counties = list(COUNTIES)
    long_issue, long_expiry = start - timedelta(days=400), end + timedelta(days=700)
    base = 700_000_000 + (seed % 100_000) * 1000
    code_base = 10 + (seed * 13) % 70
    plans: list[_UnitPlan] = []
    serial = 0

    def unit(role: str, index: int, county: str, name: str, kinds: str) -> _UnitPlan:
        nonlocal serial
        serial += 1
        plan = _UnitPlan(role, index, county, make_uscc(county, base + serial), name, kinds, [], [])
        plans.append(plan)
        return plan

    tag = f"{seed % 10000:04d}"
    for i in range(scale.producers):
        county = PRODUCER_COUNTIES[i % len(PRODUCER_COUNTIES)]
        label = PRODUCER_NAMES[i % len(PRODUCER_NAMES)]
        p = unit(
            "producer",
            i,
            county,
            f"湖南{label}民用爆破器材有限公司（{tag}-{i + 1}）",
            "explosives_production,explosives_storage",
        )
        p.sites = [("总库区工业雷管库", DETONATOR_STORE), ("总库区工业炸药库", BULK_STORE)]
        p.permits = [
            ("production", f"MB生许证字-〔{tag}{i + 1:02d}〕", long_issue, long_expiry),
            ("transport", f"衡公民运字〔{tag}〕P{i + 1:03d}", long_issue, long_expiry),
        ]
        p.enterprise_code = f"{code_base + i:02d}"
        # With two or more plants, one makes detonators and another explosives and cord.
        p.products = (
            DETONATOR_PRODUCTS + BULK_PRODUCTS
            if scale.producers == 1
            else (DETONATOR_PRODUCTS if i % 2 == 0 else BULK_PRODUCTS)
        )
    for i in range(scale.sellers):
        county = counties[i % len(counties)]
        c = COUNTIES[county]
        s = unit(
            "seller",
            i,
            county,
            f"{c.name}民爆器材专营有限公司（{tag}-{i + 1}）",
            "explosives_sale,explosives_storage,explosives_transport",
        )
        s.sites = [("民爆物品储存库区", ANY_STORE)]
        year = start.year
        s.permits = [
            ("sale", f"（湘）民爆销字〔{tag}〕第{i + 1:03d}号", long_issue, long_expiry),
            ("transport", f"衡公民运字〔{tag}〕S{i + 1:03d}", long_issue, long_expiry),
            (
                "purchase",
                f"衡公民购〔{year}〕{tag}S{i + 1:03d}",
                start - timedelta(days=30),
                end + timedelta(days=335),
            ),
        ]
    months = _months(start, end)
    blaster_number = 0
    for i in range(scale.contractors):
        county = counties[(i * 5 + 3) % len(counties)]
        c = COUNTIES[county]
        word = TRADE_WORDS[i % len(TRADE_WORDS)]
        k = unit(
            "contractor", i, county, f"{c.name}{word}爆破工程有限公司（{tag}-{i + 1}）", "blasting"
        )
        k.sites = [("爆炸物品储存库", ANY_STORE)]
        k.permits = [("blasting_unit", f"{county}13{tag}{i + 1:03d}", long_issue, long_expiry)]
        for m, (first, last) in enumerate(months):
            number = f"衡公民购〔{first.year}〕{tag}C{i + 1:03d}-{m + 1:02d}"
            k.permits.append(("purchase", number, first, last))
        for _b in range(rng.randint(3, 5)):
            blaster_number += 1
            name = rng.choice(SURNAMES) + rng.choice(MALE_NAMES)
            k.blasters.append((name, ""))
        for j in range(rng.randint(1, 3)):
            lat = c.lat + rng.uniform(-0.08, 0.08)
            lon = c.lon + rng.uniform(-0.08, 0.08)
            code = f"BP{county}-{tag}-{i + 1:03d}{j + 1}"
            k.projects.append((code, f"{c.name}{rng.choice(c.towns)}石方爆破工程", lat, lon))
    _assign_identities(seed, plans)
    return plans


def _assign_identities(seed: int, plans: list[_UnitPlan]) -> None:
    """Identity numbers unique within the world and not used by anyone else in the database
    (ingest finds a blaster by identity number alone)."""
    rng = random.Random(f"weibao-ledger-people-{seed}")  # noqa: S311 - synthetic data
    used: set[str] = set()

    def draw() -> str:
        while True:
            county = rng.choice(("430421", "430422"))
            born = date(1985, 1, 1) + timedelta(days=rng.randrange(5000))
            number = make_identity_number(county, born, rng.randrange(1000))
            if number not in used:
                used.add(number)
                return number

    slots = [(p, n) for p in plans for n in range(len(p.blasters))]
    for plan, n in slots:
        plan.blasters[n] = (plan.blasters[n][0], draw())
    own = {p.uscc for p in plans}
    while True:
        taken = {
            number
            for number, uscc in Person.objects.filter(identity_number__in=used).values_list(
                "identity_number", "enterprise__uscc"
            )
            if uscc not in own
        }
        if not taken:
            return
        for plan, n in slots:
            if plan.blasters[n][1] in taken:
                plan.blasters[n] = (plan.blasters[n][0], draw())


def build_world(*, seed: int, items: int, start: date, end: date) -> World:
    """Create (or find) the synthetic registry for `seed` and return it as a World."""
    plans = _plan(seed, Scale.for_items(items), start, end)
    with transaction.atomic():
        units = _create_units(plans)
        sites = _create_sites(plans, units)
        permits = _create_permits(plans, units)
        _create_blasters(plans, units, start, end)
        _create_projects(plans, units, start, end)
    world = World([], [], [])
    for plan in plans:
        enterprise = units[plan.uscc]
        unit = Unit(
            pk=enterprise.pk,
            uscc=plan.uscc,
            name=plan.name,
            county=plan.county,
            magazines=[
                Magazine(sites[(enterprise.pk, name)], name, holds, managed=True)
                for name, holds in plan.sites
            ],
            transport_permit=next((n for k, n, _i, _e in plan.permits if k == "transport"), ""),
            purchase_permits=[
                PermitRef(permits[("purchase", number)], number, issued, expires)
                for kind, number, issued, expires in plan.permits
                if kind == "purchase"
            ],
            enterprise_code=plan.enterprise_code,
            products=plan.products,
            blasters=[identity for _name, identity in plan.blasters],
            projects=[ProjectRef(code, lat, lon) for code, _n, lat, lon in plan.projects],
        )
        getattr(world, f"{plan.role}s").append(unit)
    return world


def _create_units(plans: list[_UnitPlan]) -> dict[str, Enterprise]:
    existing = Enterprise.objects.in_bulk([p.uscc for p in plans], field_name="uscc")
    missing = []
    for p in plans:
        if p.uscc in existing:
            continue
        c = COUNTIES[p.county]
        missing.append(
            Enterprise(
                uscc=p.uscc,
                name=p.name,
                kinds=p.kinds,
                jurisdiction_id=p.county,
                address=f"{c.name}{c.towns[p.index % len(c.towns)]}",
                latitude=Decimal(f"{c.lat:.6f}"),
                longitude=Decimal(f"{c.lon:.6f}"),
            )
        )
    Enterprise.objects.bulk_create(missing)
    return dict(Enterprise.objects.in_bulk([p.uscc for p in plans], field_name="uscc"))


def _create_sites(
    plans: list[_UnitPlan], units: dict[str, Enterprise]
) -> dict[tuple[int, str], int]:
    pks = [u.pk for u in units.values()]

    def known() -> dict[tuple[int, str], int]:
        rows = Site.objects.filter(enterprise_id__in=pks).values_list("enterprise_id", "name", "pk")
        return {(unit, name): pk for unit, name, pk in rows}

    existing = known()
    missing = []
    for p in plans:
        unit = units[p.uscc]
        for name, _holds in p.sites:
            if (unit.pk, name) not in existing:
                missing.append(
                    Site(
                        enterprise=unit,
                        name=name,
                        kind=Site.Kind.MAGAZINE,
                        address=f"{unit.address}库区",
                        latitude=unit.latitude,
                        longitude=unit.longitude,
                        security_notes="双人双锁、24小时专人值守；出入库逐笔登记，日清月结。",
                    )
                )
    Site.objects.bulk_create(missing)
    return known()


def _create_permits(
    plans: list[_UnitPlan], units: dict[str, Enterprise]
) -> dict[tuple[str, str], int]:
    numbers = [number for p in plans for _k, number, _i, _e in p.permits]

    def known() -> dict[tuple[str, str], int]:
        rows = Permit.objects.filter(number__in=numbers).values_list("kind", "number", "pk")
        return {(kind, number): pk for kind, number, pk in rows}

    existing = known()
    missing = [
        Permit(
            enterprise=units[p.uscc],
            kind=kind,
            number=number,
            issued_on=issued,
            expires_on=expires,
            scope="工业炸药、工业雷管、工业索类火工品",
        )
        for p in plans
        for kind, number, issued, expires in p.permits
        if (kind, number) not in existing
    ]
    Permit.objects.bulk_create(missing)
    return known()


def _create_blasters(
    plans: list[_UnitPlan], units: dict[str, Enterprise], start: date, end: date
) -> None:
    pks = [u.pk for u in units.values()]
    people = {
        (unit, number): pk
        for unit, number, pk in Person.objects.filter(enterprise_id__in=pks).values_list(
            "enterprise_id", "identity_number", "pk"
        )
    }
    appointed = start - timedelta(days=730)
    new = [
        Person(
            enterprise=units[p.uscc],
            name=name,
            identity_number=number,
            post=Person.Post.BLASTER,
            appointed_on=appointed,
        )
        for p in plans
        for name, number in p.blasters
        if (units[p.uscc].pk, number) not in people
    ]
    Person.objects.bulk_create(new)
    people = {
        (unit, number): pk
        for unit, number, pk in Person.objects.filter(enterprise_id__in=pks).values_list(
            "enterprise_id", "identity_number", "pk"
        )
    }
    holders = set(
        Certificate.objects.filter(
            person_id__in=people.values(), kind=Certificate.Kind.BLASTER
        ).values_list("person_id", flat=True)
    )
    certificates = []
    for p in plans:
        for _name, number in p.blasters:
            person = people[(units[p.uscc].pk, number)]
            if person not in holders:
                certificates.append(
                    Certificate(
                        person_id=person,
                        kind=Certificate.Kind.BLASTER,
                        number=f"湘爆员{appointed.year}{person % 100000:05d}",
                        issued_on=appointed,
                        expires_on=end + timedelta(days=3 * 365),
                    )
                )
    Certificate.objects.bulk_create(certificates)


def _create_projects(
    plans: list[_UnitPlan], units: dict[str, Enterprise], start: date, end: date
) -> None:
    codes = [code for p in plans for code, *_rest in p.projects]
    existing = set(BlastingProject.objects.filter(code__in=codes).values_list("code", flat=True))
    BlastingProject.objects.bulk_create(
        BlastingProject(
            enterprise=units[p.uscc],
            code=code,
            name=name,
            latitude=round(lat, 6),
            longitude=round(lon, 6),
            radius_m=600,
            starts_at=_aware(start - timedelta(days=10)),
            ends_at=_aware(end + timedelta(days=90)),
        )
        for p in plans
        for code, name, lat, lon in p.projects
        if code not in existing
    )


# --- after the run: capacities and allowances ----------------------------------------------------
# Up to this many rows are saved one by one, with their audit entries (the demo); more (a
# benchmark's world) are written in bulk.
AUDITED_ROWS = 200


def set_capacities(updates: dict[int, dict[str, Any]]) -> None:
    """Design capacities of the managed magazines, {site pk: {field: value}}."""
    sites = Site.objects.in_bulk(list(updates))
    changed = []
    for pk, values in updates.items():
        site = sites[pk]
        if any(getattr(site, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(site, name, value)
            changed.append(site)
    if len(changed) <= AUDITED_ROWS:
        for site in changed:
            site.save(update_fields=["capacity_kg", "capacity_detonators", "updated_at"])
    else:
        Site.objects.bulk_update(changed, ["capacity_kg", "capacity_detonators"])


def set_allowances(allowances: dict[tuple[int, str], Decimal]) -> None:
    """{(permit pk, product): quantity}; existing rows are brought to these quantities."""
    permits = sorted({permit for permit, _product in allowances})
    existing = {
        (a.permit_id, a.product): a for a in PermitAllowance.objects.filter(permit_id__in=permits)
    }
    new, changed = [], []
    for (permit, product), quantity in allowances.items():
        row = existing.get((permit, product))
        if row is None:
            new.append(PermitAllowance(permit_id=permit, product=product, quantity=quantity))
        elif row.quantity != quantity:
            row.quantity = quantity
            changed.append(row)
    if len(new) + len(changed) <= AUDITED_ROWS:
        for row in new + changed:
            row.save()
    else:
        PermitAllowance.objects.bulk_create(new)
        PermitAllowance.objects.bulk_update(changed, ["quantity"])
