"""Demo: three weeks of traceability at the demo's explosives units, with one anomaly of each kind.

衡阳南岭民用爆破器材有限公司 (the 南岭 plant, `nanling_*` logins) makes detonators, explosives and
cord; the sellers in 常宁 and 耒阳 buy its cases and sell boxes to three blasting contractors
(衡南 宏安, 常宁 顺达, 耒阳 安泰), who fire them on their projects. The history is generated
(weibao.ledger.generate) with the demo units as its world, written to a temporary directory and
ingested through the real ingest, so the trace pages, the books and the anomalies have data;
reconciliation then runs if it is installed.

What the demo adds to the registry, all dated inside the three weeks so nothing in it is about
to expire: each contractor's purchase permit (its allowances set from what was bought, one of
them exceeded) and transport permit (the consignee applies for it), the plant's transport
permit for its deliveries to the sellers, one blasting project per contractor, and a small
temporary detonator magazine at 宏安 that holds more than its design capacity.

The three weeks end the day before the demo was first loaded (the registry demo's day), so a
second load, on any day, finds the ledger there and adds nothing.
"""

from __future__ import annotations

import tempfile
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Min, Model
from django.utils import timezone

from weibao.core.context import acting_as
from weibao.ledger.generate import (
    Magazine,
    PermitRef,
    ProjectRef,
    Unit,
    World,
    load_counts,
    run,
)
from weibao.ledger.generate.world import ANY_STORE, BULK_STORE, DETONATOR_STORE
from weibao.ledger.ingest import ingest_file
from weibao.ledger.models import Anomaly, Batch, BlastingProject, Event
from weibao.registry.demo import COUNTIES, NANLING, demo_uscc
from weibao.registry.models import Certificate, Enterprise, Permit, Person, Site

MARKER = "weibao-ledger-demo"
SEED = 2026
ITEMS = 500
DAYS = 21
PRODUCER = NANLING
SELLERS = ("cn_sale", "ly_sale")
CONTRACTORS = ("hn_blasting", "cn_blasting", "ly_blasting")
ENTERPRISE_CODE = "36"  # the 南岭 plant's GA 441 code
SMALL_MAGAZINE = "2号雷管临时存放库"
PROJECTS = {
    "hn_blasting": "衡南县茶市镇石灰石矿二期剥离爆破",
    "cn_blasting": "常宁市水口山铅锌矿采场中深孔爆破",
    "ly_blasting": "耒阳市大市镇花岗岩矿台阶爆破",
}


def _save(obj: Model) -> None:
    obj.full_clean()
    obj.save()


def _aware(day: date, hour: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def _permit(unit: Enterprise, kind: str, number: str, start: date, end: date) -> PermitRef:
    permit = Permit.objects.filter(kind=kind, number=number).first()
    if permit is None:
        permit = Permit(
            enterprise=unit,
            kind=kind,
            number=number,
            scope="工业炸药、工业雷管（电子雷管）、工业索类火工品",
            issued_on=start - timedelta(days=2),
            expires_on=end,
        )
        _save(permit)
    return PermitRef(permit.pk, permit.number, permit.issued_on, permit.expires_on)


def _magazines(unit: Enterprise) -> list[Magazine]:
    magazines: list[Magazine] = []
    for site in Site.objects.filter(enterprise=unit, kind=Site.Kind.MAGAZINE).order_by("pk"):
        if site.name == SMALL_MAGAZINE:
            # Managed: the generator sets its capacity below what it will hold.
            magazines.insert(0, Magazine(site.pk, site.name, DETONATOR_STORE, managed=True))
            continue
        kg, detonators = site.capacity_kg, site.capacity_detonators
        if kg is None and detonators is None:
            continue
        holds = ANY_STORE if kg and detonators else (BULK_STORE if kg else DETONATOR_STORE)
        magazines.append(Magazine(site.pk, site.name, holds, kg, detonators))
    return magazines


def _blasters(unit: Enterprise, start: date, end: date) -> list[str]:
    valid = Certificate.objects.filter(
        person__enterprise=unit,
        person__post=Person.Post.BLASTER,
        person__is_active=True,
        kind=Certificate.Kind.BLASTER,
        issued_on__lte=start,
        expires_on__gte=end,
    )
    return sorted(set(valid.values_list("person__identity_number", flat=True)))


def demo_world(start: date, end: date) -> World | None:
    """The demo's explosives units as a generator world (None without the registry demo)."""
    keys = (PRODUCER, *SELLERS, *CONTRACTORS)
    units = {key: Enterprise.objects.filter(uscc=demo_uscc(key)).first() for key in keys}
    if any(unit is None for unit in units.values()):
        return None
    year = end.year

    def unit_of(key: str) -> Unit:
        enterprise = units[key]
        assert enterprise is not None
        return Unit(
            pk=enterprise.pk,
            uscc=enterprise.uscc,
            name=enterprise.name,
            county=enterprise.jurisdiction_id,
            magazines=_magazines(enterprise),
        )

    plant = units[PRODUCER]
    assert plant is not None
    transport = _permit(plant, Permit.Kind.TRANSPORT, f"衡公民运字〔{year}〕第901号", start, end)
    producer = unit_of(PRODUCER)
    producer.transport_permit = transport.number
    producer.enterprise_code = ENTERPRISE_CODE
    producer.products = (
        "electronic_detonator",
        "nonel_detonator",
        "electric_detonator",
        "explosive",
        "detonating_cord",
        "fuse",
    )
    world = World(producers=[producer], sellers=[], contractors=[])
    for n, key in enumerate(SELLERS, start=1):
        seller = units[key]
        assert seller is not None
        number = f"衡公民购〔{year}〕第{1000 + n:04d}号"
        purchase = _permit(seller, Permit.Kind.PURCHASE, number, start, end)
        world.sellers.append(unit_of(key))
        world.sellers[-1].purchase_permits = [purchase]
    for n, key in enumerate(CONTRACTORS, start=1):
        contractor = units[key]
        assert contractor is not None
        if n == 1 and not Site.objects.filter(enterprise=contractor, name=SMALL_MAGAZINE):
            county = COUNTIES[contractor.jurisdiction_id]
            _save(
                Site(
                    enterprise=contractor,
                    name=SMALL_MAGAZINE,
                    kind=Site.Kind.MAGAZINE,
                    address=f"{county.name}{county.towns[0]}",
                    latitude=contractor.latitude,
                    longitude=contractor.longitude,
                    capacity_detonators=100,
                    security_notes="临时存放，双人双锁。",
                )
            )
        number = f"衡公民购〔{year}〕第{1010 + n:04d}号"
        purchase = _permit(contractor, Permit.Kind.PURCHASE, number, start, end)
        road = _permit(
            contractor, Permit.Kind.TRANSPORT, f"衡公民运字〔{year}〕第{910 + n}号", start, end
        )
        code = f"BP{contractor.jurisdiction_id}-{year}-{n:02d}"
        project = BlastingProject.objects.filter(code=code).first()
        if project is None:
            county = COUNTIES[contractor.jurisdiction_id]
            project = BlastingProject(
                enterprise=contractor,
                code=code,
                name=PROJECTS[key],
                latitude=round(county.lat + 0.05 * n, 6),
                longitude=round(county.lon - 0.04 * n, 6),
                radius_m=500,
                starts_at=_aware(start - timedelta(days=7)),
                ends_at=_aware(end + timedelta(days=60)),
            )
            _save(project)
        unit = unit_of(key)
        unit.transport_permit = road.number
        unit.purchase_permits = [purchase]
        unit.blasters = _blasters(contractor, start, end)
        unit.projects = [ProjectRef(project.code, project.latitude, project.longitude)]
        world.contractors.append(unit)
    return world


def _anchor() -> date:
    usccs = [demo_uscc(k) for k in (PRODUCER, *SELLERS, *CONTRACTORS)]
    first = Enterprise.objects.filter(uscc__in=usccs).aggregate(first=Min("created_at"))["first"]
    return timezone.localdate(first) if first is not None else timezone.localdate()


def load_ledger_demo() -> dict[str, int]:
    """Generate, ingest and reconcile the demo history once; later loads add nothing."""
    created = {"ledger events": 0, "declared counts": 0, "ledger anomalies": 0}
    if Batch.objects.filter(file_name__contains=MARKER, status=Batch.Status.ACCEPTED).exists():
        return created
    end = _anchor() - timedelta(days=1)
    start = end - timedelta(days=DAYS - 1)
    with acting_as(label="command:demo"), transaction.atomic():
        world = demo_world(start, end)
        if world is None:
            return created
        with tempfile.TemporaryDirectory(prefix=MARKER) as out:
            result = run(items=ITEMS, seed=SEED, out=out, world=world, days=DAYS, end=end)
            before = Event.objects.count()
            for path in result.event_files:
                for batch in ingest_file(str(path)):
                    if not batch.accepted:
                        raise RuntimeError(f"demo ledger batch rejected: {batch.errors[:3]}")
            created["ledger events"] = Event.objects.count() - before
            created["declared counts"] = load_counts(result.counts_file)
    created["ledger anomalies"] = _reconcile()
    return created


def _reconcile() -> int:
    try:
        from weibao.ledger import reconcile
    except ImportError:
        return 0
    before = Anomaly.objects.count()
    with acting_as(label="command:demo"):
        reconcile.run()
    return Anomaly.objects.count() - before
