"""Demo data: the Hengyang bureau, its twelve county bureaus, two partner departments, the
registry's demo units (weibao.registry.demo) and one signed-in persona per role, unit staff
included. Loading it twice changes nothing."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from weibao.accounts.models import Agency, PartnerGrant, Role, User
from weibao.core.context import acting_as
from weibao.registry.demo import HENGDONG_FIREWORKS, NANLING, demo_uscc, load_registry_demo
from weibao.registry.models import Enterprise

DEMO_PASSWORD = "weibao-demo"

CITY = (
    "430400",
    "衡阳市公安局治安管理支队",
    "Public Order Detachment, Hengyang Municipal Public Security Bureau",
)
COUNTY_BUREAUS = [
    ("430405", "衡阳市公安局珠晖分局", "Zhuhui Branch, Hengyang Public Security Bureau"),
    ("430406", "衡阳市公安局雁峰分局", "Yanfeng Branch, Hengyang Public Security Bureau"),
    ("430407", "衡阳市公安局石鼓分局", "Shigu Branch, Hengyang Public Security Bureau"),
    ("430408", "衡阳市公安局蒸湘分局", "Zhengxiang Branch, Hengyang Public Security Bureau"),
    ("430412", "衡阳市公安局南岳分局", "Nanyue Branch, Hengyang Public Security Bureau"),
    ("430421", "衡阳县公安局", "Hengyang County Public Security Bureau"),
    ("430422", "衡南县公安局", "Hengnan County Public Security Bureau"),
    ("430423", "衡山县公安局", "Hengshan County Public Security Bureau"),
    ("430424", "衡东县公安局", "Hengdong County Public Security Bureau"),
    ("430426", "祁东县公安局", "Qidong County Public Security Bureau"),
    ("430481", "耒阳市公安局", "Leiyang Public Security Bureau"),
    ("430482", "常宁市公安局", "Changning Public Security Bureau"),
]
PARTNERS = [
    (
        "430400",
        "衡阳市生态环境局",
        "Hengyang Ecology and Environment Bureau",
        Agency.Kind.ECOLOGY_ENVIRONMENT,
    ),
    (
        "430400",
        "衡阳市应急管理局",
        "Hengyang Emergency Management Bureau",
        Agency.Kind.EMERGENCY_MANAGEMENT,
    ),
]


@dataclass(frozen=True)
class Persona:
    username: str
    full_name: str
    role: str
    agency_name: str | None
    note: str
    unit: str | None = None  # key of a demo unit (weibao.registry.demo.UNITS) for unit staff


PERSONAS = [
    Persona("admin", "系统管理员", Role.SYSTEM_ADMIN, None, "everything, and /admin/"),
    Persona("city", "王支队", Role.CITY_REGULATOR, CITY[1], "the whole city"),
    Persona("zhuhui", "李大队", Role.COUNTY_REGULATOR, "衡阳市公安局珠晖分局", "Zhuhui only"),
    Persona("yanfeng", "赵大队", Role.COUNTY_REGULATOR, "衡阳市公安局雁峰分局", "Yanfeng only"),
    Persona("eco", "周科长", Role.PARTNER_VIEWER, "衡阳市生态环境局", "granted Zhuhui"),
    Persona("emergency", "吴科长", Role.PARTNER_VIEWER, "衡阳市应急管理局", "granted the city"),
    Persona(
        "nanling_principal",
        "陈建国",
        Role.UNIT_PRINCIPAL,
        None,
        "principal of 衡阳南岭民用爆破器材有限公司 (衡南县 explosives plant): own unit only",
        NANLING,
    ),
    Persona(
        "nanling_safety",
        "刘志强",
        Role.UNIT_SAFETY_OFFICER,
        None,
        "safety officer of the 南岭 plant: own unit only",
        NANLING,
    ),
    Persona(
        "nanling_employee",
        "谭小军",
        Role.EMPLOYEE,
        None,
        "employee of the 南岭 plant: reads own unit",
        NANLING,
    ),
    Persona(
        "hengdong_fireworks_principal",
        "彭卫东",
        Role.UNIT_PRINCIPAL,
        None,
        "principal of 衡东县鸿运烟花爆竹批发有限公司 (fireworks wholesaler): own unit only",
        HENGDONG_FIREWORKS,
    ),
    Persona(
        "hengdong_fireworks_safety",
        "罗丽华",
        Role.UNIT_SAFETY_OFFICER,
        None,
        "safety officer of the 衡东 fireworks wholesaler: own unit only",
        HENGDONG_FIREWORKS,
    ),
]


@transaction.atomic
def load_demo() -> dict[str, int]:
    created = {"agencies": 0, "users": 0, "grants": 0}
    with acting_as(label="command:demo"):
        agencies: dict[str, Agency] = {}
        rows = [(CITY[0], CITY[1], CITY[2], Agency.Kind.CITY_BUREAU)]
        rows += [(c, n, e, Agency.Kind.COUNTY_BUREAU) for c, n, e in COUNTY_BUREAUS]
        rows += PARTNERS
        for code, name, name_en, kind in rows:
            agency, new = Agency.objects.get_or_create(
                jurisdiction_id=code, name=name, defaults={"name_en": name_en, "kind": kind}
            )
            agencies[name] = agency
            created["agencies"] += new

        # Ecology-environment sees Zhuhui's agencies and units; emergency management sees the
        # whole city's agencies, units, permits, sites and people.
        grants = [
            ("衡阳市生态环境局", "430405", PartnerGrant.Resource.AGENCIES),
            ("衡阳市生态环境局", "430405", PartnerGrant.Resource.ENTERPRISES),
            *[("衡阳市应急管理局", "430400", resource) for resource in PartnerGrant.Resource],
        ]
        for partner, code, resource in grants:
            _grant, new = PartnerGrant.objects.get_or_create(
                agency=agencies[partner],
                resource=resource,
                jurisdiction_id=code,
                defaults={"note": "demo data-sharing agreement"},
            )
            created["grants"] += new

        created.update(load_registry_demo())

        for p in PERSONAS:
            if User.objects.filter(username=p.username).exists():
                continue
            user = User(
                username=p.username,
                full_name=p.full_name,
                role=p.role,
                agency=agencies[p.agency_name] if p.agency_name else None,
                enterprise=Enterprise.objects.get(uscc=demo_uscc(p.unit)) if p.unit else None,
                is_staff=p.role == Role.SYSTEM_ADMIN,
                is_superuser=p.role == Role.SYSTEM_ADMIN,
            )
            user.set_password(DEMO_PASSWORD)
            user.save()
            created["users"] += 1

        from weibao.inspections.demo import load_inspections_demo

        created.update(load_inspections_demo())
    return created
