"""Internal hazard reports and rewards (事故隐患内部报告奖励, 安委〔2024〕7号).

An employee reports a hazard through the unit's QR code (no login) or from their account; the
unit verifies it within its own time limit and confirms it (a hazard on the ledger), rejects it
with a reason or marks it a duplicate; a confirmed report is rewarded under the unit's policy.
Regulators oversee the system and handle reports raised to them when the unit did not act.

Identity is kept apart: `InternalReport` holds nothing that names the reporter. A named
reporter's name, phone and account live in `ReporterIdentity`, whose rows only the reporter,
regulators with an explicit permission and (with consent) the unit's managers can read, each
read recorded in the audit trail. Anonymous reporters follow their report with a receipt code of
which only a hash is stored.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import FSMField, transition
from rules.contrib.models import RulesModelBase, RulesModelMixin

from weibao.core.models import AuditedModel
from weibao.core.scoping import ScopedModel
from weibao.reporting import rules as rr
from weibao.reporting.rules import IDENTITY_PERMISSION


class ReportCategory(models.TextChoices):
    """The four kinds of hazard the national notice names."""

    UNSAFE_ACT = "unsafe_act", _("Unsafe act")
    UNSAFE_EQUIPMENT = "unsafe_equipment", _("Unsafe state of equipment")
    UNSAFE_ENVIRONMENT = "unsafe_environment", _("Unsafe environment")
    MANAGEMENT_GAP = "management_gap", _("Management gap")


class ReportStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    VERIFYING = "verifying", _("Being verified")
    CONFIRMED = "confirmed", _("Confirmed")
    REJECTED = "rejected", _("Not confirmed")
    DUPLICATE = "duplicate", pgettext_lazy("internal report status", "Duplicate")
    REWARDED = "rewarded", _("Rewarded")


# Waiting for the unit's verification: these can become overdue and be raised to the bureau.
UNVERIFIED = (ReportStatus.SUBMITTED, ReportStatus.VERIFYING)
# The unit has decided (in time or not).
DECIDED = (
    ReportStatus.CONFIRMED,
    ReportStatus.REJECTED,
    ReportStatus.DUPLICATE,
    ReportStatus.REWARDED,
)
CONFIRMED = (ReportStatus.CONFIRMED, ReportStatus.REWARDED)


def unverified_overdue_q(today: Any = None, prefix: str = "") -> Q:
    """Reports left unverified past the unit's time limit (kept in SQL)."""
    today = today or timezone.localdate()
    return Q(**{f"{prefix}status__in": UNVERIFIED, f"{prefix}verify_by__lt": today})


def yuan(verbose_name: Any, **kwargs: Any) -> models.DecimalField:  # type: ignore[type-arg]
    return models.DecimalField(
        verbose_name,
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
        **kwargs,
    )


class ReportChannel(RulesModelMixin, AuditedModel, ScopedModel, metaclass=RulesModelBase):
    """内部报告渠道与奖励办法: a unit's reporting code (printed as a QR poster) and the reward
    policy it sets for itself."""

    scope_lookup = "enterprise__jurisdiction__code"

    enterprise = models.OneToOneField(
        "registry.Enterprise",
        verbose_name=_("unit"),
        on_delete=models.CASCADE,
        related_name="report_channel",
    )
    # In the poster's link. Not a secret (it hangs on the wall) but unguessable, so nobody files
    # reports against a unit whose poster they never saw; rotating it retires old posters.
    token = models.CharField(_("reporting code"), max_length=40, unique=True)
    is_open = models.BooleanField(_("accepting reports"), default=True)
    reward_general = yuan(_("reward for a general hazard (yuan)"))
    reward_major = yuan(_("reward for a major hazard (yuan)"))
    reward_cap = yuan(_("most paid for one report (yuan)"))
    verify_within = models.PositiveSmallIntegerField(
        _("time limit for verification"),
        validators=[MinValueValidator(1), MaxValueValidator(60)],
    )
    verify_in_working_days = models.BooleanField(_("count working days"), default=True)
    payout_instructions = models.TextField(
        _("how rewards are collected"),
        blank=True,
        help_text=_("Shown to reporters, e.g. where to present the receipt code."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("reporting channel and reward policy")
        verbose_name_plural = _("reporting channels and reward policies")
        rules_permissions = {"view": rr.is_authenticated, "change": rr.may_verify}
        constraints = [
            models.CheckConstraint(
                condition=Q(reward_general__lte=models.F("reward_cap"))
                & Q(reward_major__lte=models.F("reward_cap")),
                name="reportchannel_amounts_within_cap",
            )
        ]

    def __str__(self) -> str:
        return str(self.enterprise)

    def audit_scope_code(self) -> str:
        return self.enterprise.jurisdiction_id

    @classmethod
    def extra_visibility_q(cls, user: Any) -> Q | None:
        # Every account of the unit may read its policy: employees should know the rules.
        return Q(enterprise_id=user.enterprise_id) if user.is_unit_user else None

    def proposed_reward(self, level: str) -> Decimal:
        amount: Decimal = self.reward_major if level == "major" else self.reward_general
        cap: Decimal = self.reward_cap
        return min(amount, cap)


class InternalReport(RulesModelMixin, AuditedModel, ScopedModel, metaclass=RulesModelBase):
    """内部报告: one hazard reported by an employee. Holds nothing that names the reporter."""

    Category = ReportCategory
    Status = ReportStatus

    class Via(models.TextChoices):
        QR = "qr", _("QR code (no login)")
        ACCOUNT = "account", _("Employee account")

    scope_lookup = "enterprise__jurisdiction__code"

    enterprise = models.ForeignKey(
        "registry.Enterprise",
        verbose_name=_("unit"),
        on_delete=models.PROTECT,
        related_name="internal_reports",
    )
    via = models.CharField(_("reported via"), max_length=10, choices=Via.choices)
    category = models.CharField(_("category"), max_length=30, choices=ReportCategory.choices)
    site = models.ForeignKey(
        "registry.Site",
        verbose_name=_("site"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="internal_reports",
    )
    location = models.CharField(_("where"), max_length=200, blank=True)
    description = models.TextField(_("what was seen"))
    status = FSMField(
        _("status"), max_length=20, choices=ReportStatus.choices, default=ReportStatus.SUBMITTED
    )
    # Whether the reporter left a name; the name itself is in ReporterIdentity.
    anonymous = models.BooleanField(_("anonymous"), default=True)
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now, db_index=True)
    submitted_on = models.DateField(_("submitted on"), db_index=True)
    verify_by = models.DateField(_("verify by"), db_index=True)
    receipt_hash = models.CharField(_("receipt hash"), max_length=64, unique=True)
    reply = models.TextField(_("reply to the reporter"), blank=True)
    duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("duplicate of"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="duplicates",
    )
    hazard = models.OneToOneField(
        "hazards.Hazard",
        verbose_name=_("hazard"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="internal_report",
    )
    decided_on = models.DateField(_("decided on"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reward_proposed = yuan(_("proposed reward (yuan)"), null=True, blank=True)
    reward_amount = yuan(_("reward paid (yuan)"), null=True, blank=True)
    reward_paid_on = models.DateField(_("reward paid on"), null=True, blank=True)
    reward_reference = models.CharField(_("payment reference"), max_length=100, blank=True)
    rewarded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("rewarded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Set by the daily follow-up: the day the unit was reminded of the limit, and the day the
    # report was first found past it (the unit and the county were told then, once).
    reminded_on = models.DateField(_("reminded on"), null=True, blank=True)
    overdue_since = models.DateField(_("overdue since"), null=True, blank=True)
    # Raised to the county bureau by the reporter when the unit let the time limit pass.
    escalated_at = models.DateTimeField(_("raised to the bureau at"), null=True, blank=True)
    escalation_note = models.TextField(_("reporter's complaint"), blank=True)
    complaint_reply = models.TextField(_("bureau's reply"), blank=True)
    complaint_handled_at = models.DateTimeField(_("complaint handled at"), null=True, blank=True)
    complaint_handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("complaint handled by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("internal report")
        verbose_name_plural = _("internal reports")
        ordering = ["-submitted_at", "-id"]
        indexes = [
            models.Index(fields=["enterprise", "status"]),
            models.Index(fields=["status", "verify_by"]),
        ]
        rules_permissions = {
            "view": rr.is_authenticated,
            "start": rr.may_verify,
            "confirm": rr.may_verify,
            "reject": rr.may_verify,
            "mark_duplicate": rr.may_verify,
            "reward": rr.may_verify,
            "handle_complaint": rr.may_handle_complaint,
        }

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        """The number the unit and the bureau use: NB (内报) + year + id."""
        year = self.submitted_on.year if self.submitted_on else timezone.localdate().year
        return f"NB{year}-{self.pk or 0:06d}"

    @property
    def is_overdue(self) -> bool:
        return self.status in UNVERIFIED and self.verify_by < timezone.localdate()

    @property
    def verified_in_time(self) -> bool | None:
        if self.decided_on is None:
            return None
        return self.decided_on <= self.verify_by

    @property
    def complaint_open(self) -> bool:
        return self.escalated_at is not None and self.complaint_handled_at is None

    def audit_scope_code(self) -> str:
        return self.enterprise.jurisdiction_id

    @classmethod
    def extra_visibility_q(cls, user: Any) -> Q | None:
        # The unit's managers work the queue; any reporter with an account sees what they
        # reported under their name (anonymous ones follow theirs by receipt code).
        if not user.is_unit_user:
            return None
        # A subquery, not a join: an OR across the identity join makes the planner walk every
        # report; this way the unit's index and the identity's index each answer their half.
        q = Q(pk__in=ReporterIdentity.objects.filter(user_id=user.pk).values("report_id"))
        if user.is_unit_manager:
            q |= Q(enterprise_id=user.enterprise_id)
        return q

    # --- life cycle (django-fsm-2); services check who may and record the steps -------------
    @transition(field=status, source=ReportStatus.SUBMITTED, target=ReportStatus.VERIFYING)
    def start(self) -> None:
        pass

    @transition(field=status, source=ReportStatus.VERIFYING, target=ReportStatus.CONFIRMED)
    def confirm(self) -> None:
        self.decided_on = timezone.localdate()

    @transition(field=status, source=ReportStatus.VERIFYING, target=ReportStatus.REJECTED)
    def reject(self) -> None:
        self.decided_on = timezone.localdate()

    @transition(field=status, source=ReportStatus.VERIFYING, target=ReportStatus.DUPLICATE)
    def mark_duplicate(self) -> None:
        self.decided_on = timezone.localdate()

    @transition(field=status, source=ReportStatus.CONFIRMED, target=ReportStatus.REWARDED)
    def reward(self) -> None:
        pass


class ReporterIdentity(AuditedModel, ScopedModel):
    """Who made a named report: kept apart from the report, never shown on the unit's side
    unless the reporter consented. Audit entries redact every identifying field."""

    scope_lookup = "report__enterprise__jurisdiction__code"
    audit_redact = ("name", "phone", "user_id")

    report = models.OneToOneField(
        InternalReport,
        verbose_name=_("internal report"),
        on_delete=models.CASCADE,
        related_name="identity",
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    consent_to_unit = models.BooleanField(_("the unit may see who reported"), default=False)

    class Meta:
        verbose_name = _("reporter identity")
        verbose_name_plural = _("reporter identities")
        permissions = [
            (IDENTITY_PERMISSION.split(".")[1], _("Can see who made an internal report")),
        ]

    def __str__(self) -> str:
        # Never the name: this text lands in audit entries and admin breadcrumbs.
        return str(_("Reporter of %(report)s")) % {"report": self.report_id}

    def audit_scope_code(self) -> str:
        return self.report.enterprise.jurisdiction_id

    @classmethod
    def visibility_q(cls, user: Any) -> Q | None:
        own = Q(user_id=user.pk)
        if user.is_regulator:
            if not user.has_perm(IDENTITY_PERMISSION):
                return own
            q = super().visibility_q(user)
            return own if q is None else own | q
        if user.is_unit_manager:
            return own | Q(report__enterprise_id=user.enterprise_id, consent_to_unit=True)
        return own


def _photo_path(instance: Any, filename: str) -> str:
    # A random name: the phone's file name may carry the reporter's name or device.
    today = timezone.localdate()
    return f"reports/{today:%Y/%m}/{uuid.uuid4().hex}.jpg"


class ReportPhoto(models.Model):
    """A photo with a report, re-encoded on upload so no metadata (GPS, device, owner) is kept."""

    report = models.ForeignKey(
        InternalReport,
        verbose_name=_("internal report"),
        on_delete=models.CASCADE,
        related_name="photos",
    )
    file = models.FileField(_("file"), upload_to=_photo_path)
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("report photo")
        verbose_name_plural = _("report photos")
        ordering = ["report_id", "id"]

    def __str__(self) -> str:
        return f"{self.report_id}/{self.pk}"


class ReportEvent(models.Model):
    """One step of a report's life. Steps the reporter takes have no actor, by design."""

    class Action(models.TextChoices):
        SUBMITTED = "submitted", _("Reported")
        START = "start", _("Verification started")
        CONFIRM = "confirm", _("Confirmed as a hazard")
        REJECT = "reject", _("Not confirmed")
        DUPLICATE = "duplicate", _("Marked as a duplicate")
        REWARD = "reward", _("Reward paid")
        ESCALATED = "escalated", _("Raised to the bureau by the reporter")
        COMPLAINT_HANDLED = "complaint_handled", _("Complaint handled by the bureau")

    report = models.ForeignKey(
        InternalReport,
        verbose_name=_("internal report"),
        on_delete=models.CASCADE,
        related_name="events",
    )
    action = models.CharField(_("action"), max_length=30, choices=Action.choices)
    from_status = models.CharField(_("from"), max_length=20, blank=True)
    to_status = models.CharField(_("to"), max_length=20, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("report event")
        verbose_name_plural = _("report events")
        ordering = ["report_id", "at", "id"]

    def __str__(self) -> str:
        return f"{self.report_id} {self.action}"
