"""Demo: internal reports in every state at three demo units, one raised to the county bureau.

- 衡阳南岭民用爆破器材有限公司 (衡南县; `nanling_*` logins) sets its own policy and works its
  queue: reports rewarded (one named, with consent), confirmed (one by the employee from the
  `nanling_employee` account), rejected after the time limit, a duplicate, one being verified
  (named, without consent: the unit does not see who), one just in.
- 衡东县鸿运烟花爆竹批发有限公司 (衡东县; `hengdong_fireworks_*` logins) pays by calendar days:
  a reward, a major hazard confirmed with its reward proposed, a rejection, a duplicate, one being
  verified, one just in.
- 衡阳市安运危险货物运输有限公司 (珠晖区, the `zhuhui` persona's county; no unit login) leaves
  its reports alone: one past its time limit raised by its reporter to the county bureau (an open
  complaint), one past its limit not raised, one just in. The county home page shows both.

Everything goes through the real services. Services date a step "today"; each step runs on its
own past day with the date the services read (`timezone.localdate()`) turned back (the
enforcement demo's clock), so submission days, time limits, decisions, hazards and payments are
consistent with each other. Timestamps (submitted_at, the timeline, notifications) are then set
back to that day with demo-only queryset updates. The escalation runs today, on the real clock.

Receipt codes are fixed for the demo (`demo_receipt`), so the public status page can be tried
with a code from docs/reporting.md. A second load creates nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone, translation
from PIL import Image, ImageDraw

from weibao.accounts.models import Role, User
from weibao.core.context import acting_as
from weibao.core.models import Notification
from weibao.enforcement.demo import _on as on_day
from weibao.hazards.choices import HazardCategory, HazardLevel
from weibao.hazards.models import Hazard, HazardEvent
from weibao.registry.demo import HENGDONG_FIREWORKS, NANLING, demo_uscc
from weibao.registry.models import Enterprise, Site
from weibao.reporting import receipts, services
from weibao.reporting.models import InternalReport, ReportEvent, ReportPhoto

TRANSPORT = "zh_transport"  # 珠晖区: the `zhuhui` persona's county
UNITS = (NANLING, HENGDONG_FIREWORKS, TRANSPORT)

# Each unit's reward policy. 南岭 and 鸿运 set theirs through the policy service (their
# principal); 安运 has no demo login, so its policy is written as the unit filed it.
POLICIES: dict[str, dict[str, Any]] = {
    NANLING: {
        "reward_general": Decimal("300"),
        "reward_major": Decimal("3000"),
        "reward_cap": Decimal("5000"),
        "verify_within": 5,
        "verify_in_working_days": True,
        "payout_instructions": "凭回执码到安全科（办公楼二楼）领取，每月10日统一发放；"
        "不愿露面的，可委托他人凭回执码代领。",
    },
    HENGDONG_FIREWORKS: {
        "reward_general": Decimal("200"),
        "reward_major": Decimal("2000"),
        "reward_cap": Decimal("2000"),
        "verify_within": 7,
        "verify_in_working_days": False,
        "payout_instructions": "凭回执码到财务室领取现金，工作日8:30—17:00。",
    },
    TRANSPORT: {
        "reward_general": Decimal("100"),
        "reward_major": Decimal("1000"),
        "reward_cap": Decimal("3000"),
        "verify_within": 3,
        "verify_in_working_days": True,
        "payout_instructions": "凭回执码到安全管理部领取。",
    },
}

CONSENT, NO_CONSENT, ACCOUNT = "consent", "no_consent", "account"


@dataclass(frozen=True)
class Spec:
    """One demo report; days are counted back from the day the demo is loaded."""

    key: str
    unit: str
    category: str
    description: str
    submitted: int
    location: str = ""
    site: int | None = None  # index of the unit's site (by id), when it has that many
    named: str = ""  # CONSENT / NO_CONSENT (name and phone on the QR form) / ACCOUNT
    photos: int = 0
    start: int | None = None
    confirm: int | None = None
    level: str = HazardLevel.GENERAL
    hazard_category: str = HazardCategory.EQUIPMENT
    reply: str = ""
    reject: int | None = None
    duplicate: tuple[str, int] | None = None  # (key of the earlier report, day)
    reward: tuple[int, str] | None = None  # (day paid, amount)
    escalate: str | None = None  # the reporter's note, raised today


REPORTS = (
    # --- 南岭 (5 working days) -------------------------------------------------------------
    Spec(
        "nl-rewarded",
        NANLING,
        "unsafe_equipment",
        "1号工房防静电接地线脱落，混药设备外壳未接地。",
        40,
        site=0,
        photos=2,
        start=39,
        confirm=38,
        hazard_category=HazardCategory.EQUIPMENT,
        reply="已核实，接地线已重新压接并检测合格，感谢报告。",
        reward=(30, "300"),
    ),
    Spec(
        "nl-duplicate",
        NANLING,
        "unsafe_equipment",
        "工房里设备的接地线断了，没人管。",
        39,
        site=0,
        start=38,
        duplicate=("nl-rewarded", 38),
    ),
    Spec(
        "nl-rewarded-named",
        NANLING,
        "management_gap",
        "夜班交接班记录连续三天未填写，成品库钥匙交接无签字。",
        25,
        location="成品库值班室",
        named=CONSENT,
        start=24,
        confirm=22,
        hazard_category=HazardCategory.MANAGEMENT,
        reply="已核实，已补齐交接制度并每日抽查，奖励按办法发放。",
        reward=(15, "300"),
    ),
    Spec(
        "nl-rejected",
        NANLING,
        "unsafe_environment",
        "成品库东侧围墙外杂草丛生，离库房不到20米。",
        20,
        location="成品库东侧围墙",
        start=19,
        reject=10,
        reply="现场核查：杂草已于报告前一天清除，防火隔离带宽度符合要求。",
    ),
    Spec(
        "nl-confirmed",
        NANLING,
        "unsafe_act",
        "装药工房内有人使用手机，手机未按规定存放在工房外。",
        10,
        site=1,
        named=ACCOUNT,
        start=9,
        confirm=8,
        hazard_category=HazardCategory.OPERATION,
        reply="已核实，已对当班人员进行教育，并在工房门口设手机存放柜。",
    ),
    Spec(
        "nl-verifying",
        NANLING,
        "unsafe_equipment",
        "2号库房温湿度计损坏，读数一直停在35℃不变。",
        2,
        site=2,
        named=NO_CONSENT,
        photos=1,
        start=1,
    ),
    Spec(
        "nl-submitted",
        NANLING,
        "management_gap",
        "新来的三名搬运工没有参加安全培训就上岗了。",
        0,
        location="包装车间",
    ),
    # --- 鸿运 (7 days) ---------------------------------------------------------------------
    Spec(
        "hd-rewarded",
        HENGDONG_FIREWORKS,
        "unsafe_environment",
        "批发仓库内通道堆放纸箱，消防通道宽度不足1米。",
        30,
        site=0,
        photos=1,
        start=29,
        confirm=27,
        hazard_category=HazardCategory.STORAGE,
        reply="已核实并当日清理，已在通道地面划定禁放线。",
        reward=(20, "200"),
    ),
    Spec(
        "hd-duplicate",
        HENGDONG_FIREWORKS,
        "unsafe_environment",
        "仓库通道被纸箱堵住了。",
        29,
        site=0,
        start=28,
        duplicate=("hd-rewarded", 27),
    ),
    Spec(
        "hd-confirmed-major",
        HENGDONG_FIREWORKS,
        "unsafe_equipment",
        "仓库防雷装置检测报告已过期，东北角引下线锈断。",
        6,
        site=0,
        photos=1,
        start=5,
        confirm=3,
        level=HazardLevel.MAJOR,
        hazard_category=HazardCategory.EQUIPMENT,
        reply="已核实，属重大隐患，已停止该库房收发作业并委托防雷检测。",
    ),
    Spec(
        "hd-rejected",
        HENGDONG_FIREWORKS,
        "unsafe_act",
        "有装卸工在仓库门口吸烟。",
        14,
        location="仓库大门",
        start=13,
        reject=9,
        reply="调取监控核查，该时段无人在库区吸烟，系围墙外村民吸烟，已联系村委会劝导。",
    ),
    Spec(
        "hd-verifying",
        HENGDONG_FIREWORKS,
        "unsafe_equipment",
        "门卫室视频监控屏幕黑屏两天了。",
        3,
        location="门卫室",
        start=2,
    ),
    Spec(
        "hd-submitted",
        HENGDONG_FIREWORKS,
        "unsafe_environment",
        "仓库后窗玻璃破损，下雨时雨水打湿外包装箱。",
        1,
        site=0,
        photos=1,
    ),
    # --- 安运 (3 working days; the unit does nothing) ---------------------------------------
    Spec(
        "zh-escalated",
        TRANSPORT,
        "unsafe_equipment",
        "3号危险货物运输车静电接地拖带断裂，仍在出车。",
        20,
        location="公司停车场",
        photos=1,
        escalate="报告已过去半个多月，单位没有任何回复，这辆车还在出车。",
    ),
    Spec(
        "zh-overdue",
        TRANSPORT,
        "management_gap",
        "有押运员的押运证已过期，仍在跟车押运。",
        16,
        location="调度室",
    ),
    Spec(
        "zh-submitted",
        TRANSPORT,
        "unsafe_act",
        "驾驶员在加油站加油时未熄火。",
        0,
        location="东风路加油站",
    ),
)

# Names on the named QR reports: invented people, not demo logins.
REPORTERS = {
    CONSENT: ("罗志明", "13907340001"),
    NO_CONSENT: ("何海燕", "13907340002"),
}


def demo_receipt(key: str) -> str:
    """The fixed receipt code of a demo report (demo data only: real codes are random)."""
    digest = hashlib.sha256(f"weibao-demo-receipt:{key}".encode()).digest()
    raw = "".join(receipts.ALPHABET[b % len(receipts.ALPHABET)] for b in digest[: receipts.LENGTH])
    return "-".join(raw[i : i + 4] for i in range(0, receipts.LENGTH, 4))


@contextlib.contextmanager
def _receipt(code: str) -> Iterator[None]:
    real = receipts.new_code
    receipts.new_code = lambda: code
    try:
        yield
    finally:
        receipts.new_code = real


def demo_photo(seed: int) -> SimpleUploadedFile:
    """A small JPEG standing for a phone photo of the hazard."""
    image = Image.new("RGB", (480, 360), (90 + seed * 37 % 120, 110, 130))
    draw = ImageDraw.Draw(image)
    draw.rectangle([60, 200, 420, 330], fill=(150, 120, 80), outline=(40, 40, 40), width=4)
    draw.line([(80, 60), (240, 180), (400, 70)], fill=(220, 40, 40), width=8)
    draw.ellipse(
        [200 + seed % 5 * 10, 40, 280 + seed % 5 * 10, 120], outline=(250, 220, 0), width=6
    )
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return SimpleUploadedFile(f"IMG_{2000 + seed}.jpg", out.getvalue(), "image/jpeg")


def _moment(day: date, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def _max_pk(model: Any) -> int:
    value: int | None = model.objects.aggregate(last=Max("pk"))["last"]
    return value or 0


class _Clock:
    """Runs a step on its past day and dates what it wrote (timeline, hazard) to that day."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.hour = 8

    def day(self, days_before: int) -> date:
        return self.today - timedelta(days=days_before)

    def run(self, days_before: int, step: Callable[[], Any]) -> tuple[Any, datetime | None]:
        """The step's result and the moment it was dated to (None: today, real time kept)."""
        day = self.day(days_before)
        events, hazard_events = _max_pk(ReportEvent), _max_pk(HazardEvent)
        hazards, photos = _max_pk(Hazard), _max_pk(ReportPhoto)
        with on_day(day):
            result = step()
        if not days_before:
            return result, None
        self.hour = 8 if self.hour >= 17 else self.hour + 1
        at = _moment(day, self.hour)
        ReportEvent.objects.filter(pk__gt=events).update(at=at)
        HazardEvent.objects.filter(pk__gt=hazard_events).update(at=at)
        Hazard.objects.filter(pk__gt=hazards).update(created_at=at)
        ReportPhoto.objects.filter(pk__gt=photos).update(uploaded_at=at)
        return result, at


def _staff(unit: Enterprise) -> dict[str, User]:
    return {
        user.role: user
        for user in User.objects.filter(enterprise=unit, is_active=True).order_by("-pk")
    }


def _set_policy(key: str, unit: Enterprise, staff: dict[str, User]) -> None:
    channel = services.channel_for(unit)
    policy = POLICIES[key]
    actor = staff.get(Role.UNIT_PRINCIPAL) or staff.get(Role.UNIT_SAFETY_OFFICER)
    if actor is not None:
        services.channel_save(actor=actor, channel=channel, data=policy)
        return
    for name, value in policy.items():
        setattr(channel, name, value)
    channel.full_clean()
    channel.save()  # audited, under command:demo


def _submit(spec: Spec, unit: Enterprise, staff: dict[str, User], n: int) -> Any:
    sites = list(Site.objects.filter(enterprise=unit).order_by("pk")[:3])
    site = sites[spec.site] if spec.site is not None and spec.site < len(sites) else None
    data: dict[str, Any] = {
        "category": spec.category,
        "description": spec.description,
        "site": site,
        "location": spec.location or ("" if site is not None else "厂区"),
    }
    photos = [demo_photo(n * 3 + i) for i in range(spec.photos)]

    def submit() -> Any:
        with _receipt(demo_receipt(spec.key)):
            if spec.named == ACCOUNT:
                employee = staff[Role.EMPLOYEE]
                return services.report_submit_account(
                    actor=employee, data={**data, "anonymous": False}, photos=photos
                )[0]
            if spec.named:
                name, phone = REPORTERS[spec.named]
                data.update(name=name, phone=phone, consent_to_unit=spec.named == CONSENT)
            else:
                data["anonymous"] = True
            return services.report_submit_public(
                token=services.channel_for(unit).token, data=data, photos=photos
            )[0]

    return submit


def _build(
    spec: Spec,
    unit: Enterprise,
    staff: dict[str, User],
    clock: _Clock,
    made: dict[str, Any],
    n: int,
) -> InternalReport:
    report, submitted_at = clock.run(spec.submitted, _submit(spec, unit, staff, n))
    if submitted_at is not None:
        InternalReport.objects.filter(pk=report.pk).update(submitted_at=submitted_at)
    seen_at: datetime | None = None
    manager = staff.get(Role.UNIT_SAFETY_OFFICER) or staff.get(Role.UNIT_PRINCIPAL)
    if spec.start is not None and manager is not None:
        report, seen_at = clock.run(
            spec.start, lambda: services.report_start(actor=manager, report=report)
        )
        if spec.confirm is not None:
            deadline = clock.today + timedelta(days=20 + spec.confirm)
            report, _at = clock.run(
                spec.confirm,
                lambda: services.report_confirm(
                    actor=manager,
                    report=report,
                    level=spec.level,
                    hazard_category=spec.hazard_category,
                    reply=spec.reply,
                    # Rectification still under way: not overdue on the ledger, so the demo's
                    # reports feed no escalation of repeat refusal.
                    deadline=deadline,
                ),
            )
        if spec.reject is not None:
            report, _at = clock.run(
                spec.reject,
                lambda: services.report_reject(actor=manager, report=report, reason=spec.reply),
            )
        if spec.duplicate is not None:
            earlier, day = spec.duplicate
            original = InternalReport.objects.get(pk=made[earlier].pk)
            report, _at = clock.run(
                day,
                lambda: services.report_mark_duplicate(
                    actor=manager, report=report, original=original
                ),
            )
        if spec.reward is not None:
            day, amount = spec.reward
            report, _at = clock.run(
                day,
                lambda: services.report_reward(
                    actor=manager,
                    report=report,
                    amount=Decimal(amount),
                    paid_on=clock.day(day),
                    reference=f"JL{clock.day(day):%Y%m%d}-{report.pk:04d}",
                ),
            )
    if submitted_at is not None:
        # The unit's managers were told on the day it came in, and read it when they started.
        Notification.objects.filter(url=f"/reports/{report.pk}/", verb="report.submitted").update(
            created_at=submitted_at, read_at=seen_at
        )
    if spec.escalate is not None:
        report = _escalate(spec, report)
    return InternalReport.objects.get(pk=report.pk)


def _escalate(spec: Spec, report: InternalReport) -> InternalReport:
    """Raised today by the reporter, with the receipt code, like on the status page."""
    today = timezone.localdate()
    if report.verify_by >= today:
        # Only when holidays stretch the limit past today (the demo clock counts the unit's
        # working days): backdate the limit so the demo still shows a raised report.
        InternalReport.objects.filter(pk=report.pk).update(verify_by=today - timedelta(days=1))
    return services.report_escalate(receipt=demo_receipt(spec.key), note=spec.escalate or "")


def _units() -> dict[str, Enterprise] | None:
    usccs = {demo_uscc(key): key for key in UNITS}
    units = {usccs[u.uscc]: u for u in Enterprise.objects.filter(uscc__in=usccs)}
    return units if len(units) == len(UNITS) else None


def load_reporting_demo() -> dict[str, int]:
    """Create the demo reports (nothing if any demo unit already has a report)."""
    units = _units()
    if units is None or InternalReport.objects.filter(enterprise__in=units.values()).exists():
        return {"internal reports": 0}
    today = timezone.localdate()
    created = 0
    with (
        acting_as(label="command:demo"),
        translation.override(settings.LANGUAGE_CODE),
        transaction.atomic(),
    ):
        staff = {key: _staff(unit) for key, unit in units.items()}
        for key, unit in units.items():
            _set_policy(key, unit, staff[key])
        clock = _Clock(today)
        made: dict[str, InternalReport] = {}
        for n, spec in enumerate(sorted(REPORTS, key=lambda s: -s.submitted)):
            made[spec.key] = _build(spec, units[spec.unit], staff[spec.unit], clock, made, n)
            created += 1
    return {"internal reports": created}
