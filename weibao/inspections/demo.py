"""Demo: the city's 2025 post-holiday resumption campaign (节后复工复产安全检查) across Hengyang.

Every unit in scope self-inspects (most on time, a few late or never); each county bureau draws
its spot checks (seed recorded: "2025-post-holiday-<county>"), its two officers inspect the drawn
units, and the findings go on the hazard ledger. The hazards are then taken through their life
cycle so every status appears: most closed on time, some awaiting acceptance, some still being
rectified or untouched long past their 2025 deadlines (the overdue ones), a few extended or
cancelled. A recent routine inspection gives hazards due in the next days.

The whole run goes through the services, exactly as users would; only dates are then set back
to 2025 (services date things "today"), with queryset updates that are demo-only. One seeded
random.Random, so every database gets the same data; a second run creates nothing.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils import timezone

from weibao.accounts.models import Agency, Role, User
from weibao.core.errors import DomainError, ServiceValidationError
from weibao.hazards import services as hazard_services
from weibao.hazards.models import Hazard, HazardEvent
from weibao.inspections import services
from weibao.inspections.checklists import current_checklist_for
from weibao.inspections.models import Campaign, Inspection
from weibao.registry.models import Enterprise, Person

SEED = 2025
CAMPAIGN_NAME = "2025年春节后复工复产民爆行业安全检查专项行动"
STARTS, ENDS = date(2025, 2, 5), date(2025, 3, 31)
SELF_DUE = date(2025, 2, 20)
KINDS = [
    "explosives_production",
    "explosives_sale",
    "explosives_storage",
    "explosives_transport",
    "blasting",
    "fireworks_production",
    "fireworks_wholesale",
    "fireworks_retail",
    "precursor_chemicals",
]
OFFICER_NAMES = ["周", "吴", "郑", "孙", "钱", "冯", "陈", "褚", "卫", "蒋", "沈", "韩"]


def _moment(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def _officers(bureau: Agency, index: int) -> list[User]:
    """At least two inspectors per county bureau (the law wants two at an inspection)."""
    officers = list(
        User.objects.filter(agency=bureau, role=Role.COUNTY_REGULATOR, is_active=True).order_by(
            "pk"
        )
    )
    n = len(officers)
    while n < 2:
        n += 1
        user = User(
            username=f"inspector_{bureau.jurisdiction_id}_{n}",
            full_name=f"{OFFICER_NAMES[index % len(OFFICER_NAMES)]}{'警官' if n == 1 else '民警'}",
            role=Role.COUNTY_REGULATOR,
            agency=bureau,
        )
        user.set_unusable_password()
        user.save()
        officers.append(user)
    return officers


def _unit_officer(unit: Enterprise) -> User:
    """The unit's safety officer account (demo units without one get an account that cannot
    sign in, so their self-inspections have an author)."""
    existing: User | None = (
        User.objects.filter(
            enterprise=unit, role__in=[Role.UNIT_SAFETY_OFFICER, Role.UNIT_PRINCIPAL]
        )
        .order_by("-role", "pk")
        .first()
    )
    if existing is not None:
        return existing
    person = unit.people.filter(post=Person.Post.SAFETY_OFFICER).first()
    user = User(
        username=f"unit{unit.pk}_safety",
        full_name=person.name if person else f"{unit.name[:6]}安全员",
        role=Role.UNIT_SAFETY_OFFICER,
        enterprise=unit,
    )
    user.set_unusable_password()
    user.save()
    return user


def _fill_and_submit(
    rng: random.Random,
    inspection: Inspection,
    actor: User,
    day: date,
    fail_rate: float,
    conducted_by: str = "",
) -> Inspection:
    answers = []
    for answer in inspection.answers.all():
        rate = fail_rate / 3 if answer.hazard_level == "major" else fail_rate
        roll = rng.random()
        result = "fail" if roll < rate else ("not_applicable" if roll > 0.97 else "pass")
        answers.append(
            {
                "item": answer.item_id,
                "result": result,
                "note": rng.choice(["现场发现", "台账缺失", "设施损坏", "未按规定执行"])
                if result == "fail"
                else "",
            }
        )
    unit = inspection.enterprise
    services.inspection_update(
        actor=actor,
        inspection=inspection,
        data={
            "inspected_on": day,
            "conducted_by": conducted_by,
            "representative_name": unit.principal or "单位负责人",
            "signature_text": unit.principal or "单位负责人",
            "summary": "节后复工复产安全检查",
        },
        answers=answers,
    )
    return services.inspection_submit(actor=actor, inspection=inspection)


def _life_cycle(rng: random.Random, hazard: Hazard, unit_actor: User, officer: User) -> None:
    """Take a 2025 hazard to a status by its dice, then set its dates back to 2025."""
    roll = rng.random()
    found = hazard.found_on
    deadline = found + timedelta(days=15 if hazard.level == "general" else 45)
    acceptor = unit_actor if hazard.accepted_by_unit else officer
    plan = {
        "measures": "停用相关设施，更换损坏部件并复核",
        "funds": "20000.00",
        "deadline": timezone.localdate() + timedelta(days=30),
        "responsible_person": f"{hazard.enterprise.principal or '单位负责人'}（主要负责人）",
        "emergency_measures": "整改期间设置警戒、专人值守，按应急预案处置",
    }
    steps: list[tuple[str, date]] = []
    try:
        if roll < 0.55:  # rectified and accepted in time
            hazard_services.hazard_start(actor=unit_actor, hazard=hazard, plan=plan)
            hazard_services.hazard_submit_rectification(
                actor=unit_actor, hazard=hazard, note="已按要求整改完毕，附整改前后照片。"
            )
            hazard_services.hazard_accept(
                actor=acceptor, hazard=hazard, opinion="经现场复查，整改到位，同意销号。"
            )
            steps = [
                ("start", found + timedelta(days=1)),
                ("submit_rectification", deadline - timedelta(days=3)),
                ("accept", deadline - timedelta(days=1)),
            ]
        elif roll < 0.65:  # handed in, waiting for the bureau
            hazard_services.hazard_start(actor=unit_actor, hazard=hazard, plan=plan)
            hazard_services.hazard_submit_rectification(
                actor=unit_actor, hazard=hazard, note="已整改，申请验收。"
            )
            steps = [
                ("start", found + timedelta(days=2)),
                ("submit_rectification", deadline - timedelta(days=2)),
            ]
        elif roll < 0.73:  # rejected once, still being rectified (overdue)
            hazard_services.hazard_start(actor=unit_actor, hazard=hazard, plan=plan)
            hazard_services.hazard_submit_rectification(
                actor=unit_actor, hazard=hazard, note="已整改。"
            )
            hazard_services.hazard_reject(
                actor=acceptor, hazard=hazard, reason="整改不彻底，监控仍有盲区。"
            )
            steps = [
                ("start", found + timedelta(days=2)),
                ("submit_rectification", deadline - timedelta(days=4)),
                ("reject", deadline - timedelta(days=2)),
            ]
        elif roll < 0.80:  # extended once, still open past the new date (overdue)
            hazard_services.hazard_extend(
                actor=officer, hazard=hazard, reason="设备采购周期长", working_days=20
            )
            deadline = deadline + timedelta(days=28)
            steps = [("extend", found + timedelta(days=10))]
        elif roll < 0.85:
            hazard_services.hazard_cancel(
                actor=acceptor, hazard=hazard, reason="复核认定不属于隐患（登记有误）。"
            )
            steps = [("cancel", found + timedelta(days=3))]
        # else: untouched since it was found, long overdue
    except (DomainError, PermissionDenied, ServiceValidationError):
        # A step the rules refuse (say, a unit may not accept a major hazard) leaves it as is.
        hazard.refresh_from_db()
    _backdate(hazard, deadline, steps)


def _backdate(hazard: Hazard, deadline: date, steps: list[tuple[str, date]]) -> None:
    found = hazard.found_on
    changes: dict[str, Any] = {"deadline": deadline, "created_at": _moment(found, 16)}
    when = dict(steps)
    if "submit_rectification" in when:
        changes["rectified_on"] = when["submit_rectification"]
    if "accept" in when:
        changes["accepted_on"] = when["accept"]
    Hazard.objects.filter(pk=hazard.pk).update(**changes)
    HazardEvent.objects.filter(hazard=hazard, action="created").update(at=_moment(found, 16))
    for action, day in steps:
        HazardEvent.objects.filter(hazard=hazard, action=action).update(at=_moment(day))


def load_inspections_demo() -> dict[str, int]:
    if Campaign.objects.filter(name=CAMPAIGN_NAME).exists():
        return {"campaigns": 0, "inspections": 0, "hazards": 0}
    rng = random.Random(SEED)  # noqa: S311 - reproducible demo data, not secrets
    city = Agency.objects.get(kind=Agency.Kind.CITY_BUREAU, jurisdiction_id="430400")
    city_officer = User.objects.filter(agency=city, role=Role.CITY_REGULATOR).order_by("pk").first()
    if city_officer is None:
        return {"campaigns": 0, "inspections": 0, "hazards": 0}
    bureaus = list(
        Agency.objects.filter(kind=Agency.Kind.COUNTY_BUREAU).order_by("jurisdiction_id")
    )
    officers = {b.jurisdiction_id: _officers(b, i) for i, b in enumerate(bureaus)}
    campaign = services.campaign_create(
        actor=city_officer,
        data={
            "name": CAMPAIGN_NAME,
            "description": (
                "春节后复工复产前，对全市民爆、烟花爆竹、易制爆单位开展全覆盖自查和双随机抽查。"
            ),
            "scope": [b.jurisdiction for b in bureaus],
            "kinds": KINDS,
            "starts_on": STARTS,
            "ends_on": ENDS,
            "self_inspection_required": True,
            "self_inspection_due": SELF_DUE,
            "spot_check_ratio": "0.300",
        },
    )
    created = {"campaigns": 1, "inspections": 0, "hazards": 0}
    units = list(campaign.units_in_scope().order_by("pk"))
    unit_actors = {u.pk: _unit_officer(u) for u in units}
    # Self-inspections: 85 % of units, most before the due date.
    for unit in units:
        if rng.random() > 0.85 or current_checklist_for(unit) is None:
            continue
        actor = unit_actors[unit.pk]
        inspection = services.inspection_create(
            actor=actor,
            data={"kind": "self_inspection", "enterprise": unit, "campaign": campaign},
        )
        day = STARTS + timedelta(days=rng.randint(1, 20))
        _fill_and_submit(rng, inspection, actor, day, 0.06, conducted_by=actor.full_name)
        created["inspections"] += 1
    # Spot checks: each county bureau draws from its own units with a recorded seed.
    for bureau in bureaus:
        if not campaign.units_in_scope().filter(jurisdiction_id=bureau.jurisdiction_id).exists():
            continue
        lead = officers[bureau.jurisdiction_id][0]
        draw = services.campaign_draw(
            actor=lead, campaign=campaign, seed=f"2025-post-holiday-{bureau.jurisdiction_id}"
        )
        for inspection in draw.inspections.select_related("enterprise").order_by("pk"):
            actor = inspection.inspectors.order_by("pk").first() or lead
            day = SELF_DUE + timedelta(days=rng.randint(2, 30))
            _fill_and_submit(rng, inspection, actor, day, 0.14)
            created["inspections"] += 1
    Inspection.objects.filter(campaign=campaign).update(created_at=_moment(STARTS))
    # Life cycles of everything found in the campaign.
    hazards = Hazard.objects.filter(inspection__campaign=campaign).select_related("enterprise")
    for hazard in hazards.order_by("pk"):
        county = hazard.enterprise.jurisdiction_id
        officer = officers.get(county, [city_officer])[0]
        _life_cycle(rng, hazard, unit_actors[hazard.enterprise_id], officer)
        created["hazards"] += 1
    created["hazards"] += _recent(rng, units, officers, unit_actors)
    return created


def _recent(
    rng: random.Random,
    units: list[Enterprise],
    officers: dict[str, list[User]],
    unit_actors: dict[int, User],
) -> int:
    """This month's routine inspections of a few units (南岭 among them): hazards that are due in
    the next days, being rectified, or waiting for acceptance now."""
    picked = [u for u in units if u.people.exists()][:: max(1, len(units) // 6)][:6]
    nanling = Enterprise.objects.filter(
        Q(name__contains="南岭") & Q(jurisdiction_id="430422")
    ).first()
    if nanling is not None and nanling not in picked:
        picked.append(nanling)
    count = 0
    today = timezone.localdate()
    for n, unit in enumerate(picked):
        pair = officers.get(unit.jurisdiction_id)
        if not pair or current_checklist_for(unit) is None:
            continue
        inspection = services.inspection_create(
            actor=pair[0],
            data={"kind": "routine", "enterprise": unit, "inspectors": pair[:2]},
        )
        inspection = _fill_and_submit(rng, inspection, pair[0], today - timedelta(days=n), 0.2)
        for i, hazard in enumerate(inspection.hazards.order_by("pk")):
            count += 1
            deadline = today + timedelta(days=(0, 1, 3, 5, 8)[i % 5])
            Hazard.objects.filter(pk=hazard.pk).update(deadline=deadline)
            hazard.refresh_from_db()
            if i % 3 == 1:
                plan = {
                    "measures": "立即整改",
                    "funds": "5000.00",
                    "deadline": deadline,
                    "responsible_person": "安全员",
                    "emergency_measures": "专人看守",
                }
                hazard_services.hazard_start(actor=unit_actors[unit.pk], hazard=hazard, plan=plan)
            elif i % 3 == 2 and hazard.level == "general":
                hazard_services.hazard_submit_rectification(
                    actor=unit_actors[unit.pk],
                    hazard=hazard,
                    note="已当场整改。",
                )
    return count
