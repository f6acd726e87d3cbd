"""Factories (one file, per the style guide) and the fixed persona world."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone
from factory.declarations import LazyAttribute, LazyFunction, Sequence, SubFactory
from factory.django import DjangoModelFactory, Password
from factory.helpers import post_generation

from weibao.accounts.models import Agency, PartnerGrant, Role, User
from weibao.enforcement.models import Case, LegalProvision
from weibao.hazards.choices import HazardCategory, HazardLevel
from weibao.hazards.models import Hazard
from weibao.inspections.models import Checklist, ChecklistItem
from weibao.registry.models import Certificate, Enterprise, Jurisdiction, Permit, Person, Site
from weibao.registry.validators import make_identity_number, make_uscc

COUNTY_A = "430405"  # 珠晖区
COUNTY_B = "430406"  # 雁峰区
CITY = "430400"  # 衡阳市
PASSWORD = "correct-horse-battery"


class AgencyFactory(DjangoModelFactory[Agency]):
    class Meta:
        model = Agency

    name = Sequence(lambda n: f"机关{n}")
    name_en = Sequence(lambda n: f"Agency {n}")
    kind = Agency.Kind.COUNTY_BUREAU
    jurisdiction = LazyFunction(lambda: Jurisdiction.objects.get(code=COUNTY_A))


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User

    username = Sequence(lambda n: f"user{n}")
    full_name = Sequence(lambda n: f"用户{n}")
    role = Role.COUNTY_REGULATOR
    agency = SubFactory(AgencyFactory)
    password = Password(PASSWORD)


@dataclass
class World:
    city_bureau: Agency
    county_a_bureau: Agency
    county_b_bureau: Agency
    partner: Agency
    city: User
    county_a: User
    county_b: User
    county_a2: User  # a second county A officer: regulator inspections need two
    partner_user: User
    admin: User
    unit_a: Enterprise
    unit_b: Enterprise
    unit_a_principal: User
    unit_a_officer: User
    unit_a_employee: User
    unit_b_officer: User


def build_world() -> World:
    city_bureau = AgencyFactory.create(
        name="衡阳市公安局治安管理支队", kind=Agency.Kind.CITY_BUREAU, jurisdiction_id=CITY
    )
    county_a_bureau = AgencyFactory.create(name="珠晖分局", jurisdiction_id=COUNTY_A)
    county_b_bureau = AgencyFactory.create(name="雁峰分局", jurisdiction_id=COUNTY_B)
    partner = AgencyFactory.create(
        name="衡阳市生态环境局", kind=Agency.Kind.ECOLOGY_ENVIRONMENT, jurisdiction_id=CITY
    )
    for resource in (PartnerGrant.Resource.AGENCIES, PartnerGrant.Resource.ENTERPRISES):
        PartnerGrant.objects.create(agency=partner, resource=resource, jurisdiction_id=COUNTY_A)
    unit_a = EnterpriseFactory.create(name="珠晖民爆器材公司", jurisdiction_id=COUNTY_A)
    unit_b = EnterpriseFactory.create(
        name="雁峰烟花批发公司", jurisdiction_id=COUNTY_B, kinds="fireworks_wholesale"
    )

    def unit_user(username: str, role: str, unit: Enterprise) -> User:
        return UserFactory.create(username=username, role=role, agency=None, enterprise=unit)

    return World(
        city_bureau=city_bureau,
        county_a_bureau=county_a_bureau,
        county_b_bureau=county_b_bureau,
        partner=partner,
        city=UserFactory.create(username="city", role=Role.CITY_REGULATOR, agency=city_bureau),
        county_a=UserFactory.create(username="county_a", agency=county_a_bureau),
        county_b=UserFactory.create(username="county_b", agency=county_b_bureau),
        county_a2=UserFactory.create(username="county_a2", agency=county_a_bureau),
        partner_user=UserFactory.create(
            username="partner", role=Role.PARTNER_VIEWER, agency=partner
        ),
        admin=UserFactory.create(
            username="admin",
            role=Role.SYSTEM_ADMIN,
            agency=None,
            is_superuser=True,
            is_staff=True,
        ),
        unit_a=unit_a,
        unit_b=unit_b,
        unit_a_principal=unit_user("unit_a_principal", Role.UNIT_PRINCIPAL, unit_a),
        unit_a_officer=unit_user("unit_a_officer", Role.UNIT_SAFETY_OFFICER, unit_a),
        unit_a_employee=unit_user("unit_a_employee", Role.EMPLOYEE, unit_a),
        unit_b_officer=unit_user("unit_b_officer", Role.UNIT_SAFETY_OFFICER, unit_b),
    )


_serial = itertools.count(1)


class EnterpriseFactory(DjangoModelFactory[Enterprise]):
    class Meta:
        model = Enterprise

    uscc = LazyAttribute(lambda o: make_uscc(o.jurisdiction_id, next(_serial)))
    name = Sequence(lambda n: f"衡阳{n}号民爆器材有限公司")
    kinds = "explosives_sale,explosives_storage"
    jurisdiction_id = COUNTY_A
    principal = "张三"


class PermitFactory(DjangoModelFactory[Permit]):
    class Meta:
        model = Permit

    enterprise = SubFactory(EnterpriseFactory)
    kind = Permit.Kind.SALE
    number = Sequence(lambda n: f"湘民爆销字〔2025〕{n:04d}号")
    issued_on = LazyFunction(lambda: timezone.localdate() - timedelta(days=365))
    expires_on = LazyFunction(lambda: timezone.localdate() + timedelta(days=365))


class SiteFactory(DjangoModelFactory[Site]):
    class Meta:
        model = Site

    enterprise = SubFactory(EnterpriseFactory)
    name = Sequence(lambda n: f"{n}号库房")
    kind = Site.Kind.MAGAZINE
    capacity_kg = 5000


class PersonFactory(DjangoModelFactory[Person]):
    class Meta:
        model = Person

    enterprise = SubFactory(EnterpriseFactory)
    name = Sequence(lambda n: f"员工{n}")
    identity_number = LazyFunction(
        lambda: make_identity_number("430421", date(1985, 3, 14), next(_serial))
    )
    post = Person.Post.SAFETY_OFFICER
    appointed_on = LazyFunction(lambda: timezone.localdate() - timedelta(days=400))


class CertificateFactory(DjangoModelFactory[Certificate]):
    class Meta:
        model = Certificate

    person = SubFactory(PersonFactory)
    kind = Certificate.Kind.SAFETY_OFFICER
    number = Sequence(lambda n: f"AQY{n:06d}")
    issued_on = LazyFunction(lambda: timezone.localdate() - timedelta(days=300))
    expires_on = LazyFunction(lambda: timezone.localdate() + timedelta(days=700))


# --- inspections and hazards -------------------------------------------------------------------
def make_checklist(
    *, code: str = "test-storage", kinds: str = "explosives_storage,explosives_sale", items: int = 3
) -> Checklist:
    """A current checklist with `items` items: the first is a major-hazard item."""
    version = Checklist.objects.filter(code=code).count() + 1
    Checklist.objects.filter(code=code).update(is_current=False)
    checklist = Checklist.objects.create(
        code=code,
        version=version,
        title=f"测试检查表{version}",
        title_en=f"Test {version}",
        kinds=kinds,
    )
    for n in range(1, items + 1):
        ChecklistItem.objects.create(
            checklist=checklist,
            position=n,
            text=f"检查项{n}",
            text_en=f"Item {n}",
            category=HazardCategory.STORAGE,
            legal_basis="《民用爆炸物品安全管理条例》第四十一条",
            hazard_level=HazardLevel.MAJOR if n == 1 else HazardLevel.GENERAL,
        )
    return checklist


class HazardFactory(DjangoModelFactory[Hazard]):
    class Meta:
        model = Hazard

    enterprise = SubFactory(EnterpriseFactory)
    source = Hazard.Source.INSPECTION
    level = HazardLevel.GENERAL
    category = HazardCategory.STORAGE
    description = Sequence(lambda n: f"库房{n}号防盗门损坏")
    found_on = LazyFunction(lambda: timezone.localdate() - timedelta(days=5))
    deadline = LazyFunction(lambda: timezone.localdate() + timedelta(days=10))


def provision(code: str = "wsl-2021-102") -> LegalProvision:
    """A shipped legal provision (loaded by the enforcement data migration)."""
    return LegalProvision.objects.get(code=code)


class CaseFactory(DjangoModelFactory[Case]):
    """A proposed case of county A's unit by county A's bureau; pass `officers=[...]` and
    `provisions=[...]` to fill the many-to-many fields."""

    class Meta:
        model = Case
        skip_postgeneration_save = True

    enterprise = SubFactory(EnterpriseFactory)
    agency = SubFactory(AgencyFactory)
    title = "未采取措施消除事故隐患"
    facts = Sequence(lambda n: f"经查，该单位库房{n}号防盗门损坏，责令限期整改后逾期未整改。")
    deadline = LazyFunction(lambda: timezone.localdate() + timedelta(days=7))

    @post_generation
    def officers(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            self.officers.set(extracted)

    @post_generation
    def provisions(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            self.provisions.set(extracted)


# The steps `case_at` takes, in order, to bring a case to a stage.
CASE_STAGES = (
    "proposed",
    "registered",
    "investigating",
    "notified",
    "decided",
    "executed",
    "closed",
)


def case_at(world: World, stage: str, *, fine: str = "30000", **fields: Any) -> Case:
    """A case of unit A brought to `stage` through the real services (documents included),
    handled by county A's two officers under WSL Art. 102 with one fine of `fine` yuan; the
    defence period is waived in writing so the decision can follow at once."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from weibao.enforcement import services

    case = CaseFactory.create(
        enterprise=world.unit_a,
        agency=world.county_a_bureau,
        officers=[world.county_a, world.county_a2],
        provisions=[provision()],
        **fields,
    )
    target = CASE_STAGES.index(stage)
    actor = world.county_a
    if target >= 1:
        case = services.case_register(actor=actor, case=case)
    if target >= 2:
        case = services.case_investigate(actor=actor, case=case)
    if target >= 3:
        item = {"provision": provision(), "kind": "fine", "amount": Decimal(fine)}
        case = services.case_notify(actor=actor, case=case, items=[item])
    if target >= 4:
        waiver = SimpleUploadedFile("waiver.pdf", b"%PDF-1.4\n%%EOF\n")
        case = services.case_record_defence(actor=actor, case=case, waived=True, files=[waiver])
        case = services.case_decide(actor=actor, case=case)
    if target >= 5:
        services.case_record_payment(
            actor=actor,
            case=case,
            item=case.penalties.get(),
            paid_on=timezone.localdate(),
            receipt_number="FS-0001",
        )
        case = services.case_execute(actor=actor, case=case)
    if target >= 6:
        case = services.case_close(actor=actor, case=case)
    case.refresh_from_db()
    return case


# --- internal reports ------------------------------------------------------------------------
REPORT_STAGES = ("submitted", "verifying", "confirmed", "rewarded", "rejected", "duplicate")
REPORTER_NAME = "李举报"
REPORTER_PHONE = "13800001234"


def camera_photo(*, owner: str = REPORTER_NAME, size: tuple[int, int] = (64, 48)) -> Any:
    """A real JPEG as a phone takes it: with EXIF naming its owner and device, and GPS."""
    from io import BytesIO

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    image = Image.new("RGB", size, (200, 40, 40))
    exif = Image.Exif()
    exif[0x013B] = owner  # Artist
    exif[0x0110] = "ReporterPhone X1"  # Model
    exif[0x8825] = {1: "N", 2: (26.0, 53.0, 0.0), 3: "E", 4: (112.0, 34.0, 0.0)}  # GPS
    out = BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return SimpleUploadedFile(f"IMG_{owner}.jpg", out.getvalue(), "image/jpeg")


def report_at(
    world: World,
    stage: str = "submitted",
    *,
    unit: Enterprise | None = None,
    named: bool = False,
    consent: bool = False,
    photos: int = 0,
    **data: Any,
) -> tuple[Any, str]:
    """An internal report taken to `stage` through the real services; returns it and its
    receipt code. Named reports carry REPORTER_NAME and REPORTER_PHONE."""
    from weibao.reporting import services as rs

    unit = unit or world.unit_a
    manager = world.unit_a_officer if unit.pk == world.unit_a.pk else world.unit_b_officer
    channel = rs.channel_for(unit)
    fields = {
        "category": "unsafe_equipment",
        "description": "3号库房防爆灯损坏",
        "location": "3号库房门口",
        **data,
    }
    original = report_at(world, "verifying", unit=unit)[0] if stage == "duplicate" else None
    if named:
        fields.update(name=REPORTER_NAME, phone=REPORTER_PHONE, consent_to_unit=consent)
    report, code = rs.report_submit_public(
        token=channel.token, data=fields, photos=[camera_photo() for _ in range(photos)]
    )
    target = REPORT_STAGES.index(stage)
    if target >= 1:
        report = rs.report_start(actor=manager, report=report)
    if stage in ("confirmed", "rewarded"):
        report = rs.report_confirm(
            actor=manager,
            report=report,
            level=HazardLevel.GENERAL,
            hazard_category=HazardCategory.EQUIPMENT,
            reply="已核实，正在更换",
        )
    if stage == "rewarded":
        report = rs.report_reward(
            actor=manager, report=report, amount=Decimal("200"), paid_on=timezone.localdate()
        )
    if stage == "rejected":
        report = rs.report_reject(actor=manager, report=report, reason="现场核查灯具完好")
    if original is not None:
        report = rs.report_mark_duplicate(actor=manager, report=report, original=original)
    report.refresh_from_db()
    return report, code


# --- traceability ledger ---------------------------------------------------------------------
@dataclass
class LedgerWorld:
    """The chain of custody the ledger tests walk: a producer, a seller and a blasting
    contractor (unit A of the persona world), with magazines, permits, a blaster and a project."""

    producer: Enterprise
    seller: Enterprise
    contractor: Enterprise
    producer_magazine: Site
    seller_magazine: Site
    contractor_magazine: Site
    blaster: Person
    project: Any
    sale_permit: Permit
    purchase_permit: Permit
    transport_permit: Permit


def ledger_world(world: World) -> LedgerWorld:
    from weibao.ledger.models import BlastingProject

    producer = EnterpriseFactory.create(name="湘南化工民爆厂", kinds="explosives_production")
    seller = EnterpriseFactory.create(name="衡阳民爆器材经营公司", kinds="explosives_sale")
    contractor = world.unit_a
    contractor.kinds = "blasting"
    contractor.save()
    blaster = PersonFactory.create(enterprise=contractor, post=Person.Post.BLASTER, name="王爆破")
    CertificateFactory.create(person=blaster, kind=Certificate.Kind.BLASTER)
    now = timezone.now()
    project = BlastingProject.objects.create(
        enterprise=contractor,
        code="BP-2026-001",
        name="衡阳县石灰石矿爆破",
        latitude=26.97,
        longitude=112.37,
        radius_m=500,
        starts_at=now - timedelta(days=30),
        ends_at=now + timedelta(days=30),
    )
    return LedgerWorld(
        producer=producer,
        seller=seller,
        contractor=contractor,
        producer_magazine=SiteFactory.create(enterprise=producer, name="成品库"),
        seller_magazine=SiteFactory.create(enterprise=seller, name="1号库"),
        contractor_magazine=SiteFactory.create(enterprise=contractor, name="炸药库"),
        blaster=blaster,
        project=project,
        sale_permit=PermitFactory.create(enterprise=seller, kind=Permit.Kind.SALE),
        purchase_permit=PermitFactory.create(enterprise=contractor, kind=Permit.Kind.PURCHASE),
        transport_permit=PermitFactory.create(enterprise=seller, kind=Permit.Kind.TRANSPORT),
    )


def shell_code(serial: int, *, enterprise: str = "53", day: date = date(2026, 3, 14)) -> str:
    """A valid GA 441 detonator shell code."""
    return f"{enterprise}{day.year % 10}{day:%m%d}A{serial:05d}"
