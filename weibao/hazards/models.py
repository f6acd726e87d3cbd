"""The hazard ledger (隐患台账): every problem found, followed until it is verifiably fixed."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import FSMField, transition
from rules.contrib.models import RulesModelBase, RulesModelMixin

from weibao.core.files import validate_photo, validate_scan
from weibao.core.models import AuditedModel
from weibao.core.scoping import ScopedModel
from weibao.hazards import rules as hr
from weibao.hazards.choices import HazardCategory, HazardLevel
from weibao.registry.models import Enterprise, Person, Site


class HazardStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RECTIFYING = "rectifying", _("Rectifying")
    AWAITING_ACCEPTANCE = "awaiting_acceptance", _("Awaiting acceptance")
    CLOSED = "closed", pgettext_lazy("hazard status", "Closed")
    CANCELLED = "cancelled", _("Cancelled")


# Statuses in which the unit still owes work before the deadline (overdue is derived from these).
PENDING = (HazardStatus.OPEN, HazardStatus.RECTIFYING)
ACTIVE = (*PENDING, HazardStatus.AWAITING_ACCEPTANCE)


def overdue_q(today: date | None = None, prefix: str = "") -> Q:
    """Hazards past their deadline with the unit's work not yet handed in (kept in SQL)."""
    today = today or timezone.localdate()
    return Q(**{f"{prefix}status__in": PENDING, f"{prefix}deadline__lt": today})


class Hazard(RulesModelMixin, AuditedModel, ScopedModel, metaclass=RulesModelBase):
    """隐患: one hazard of one unit, from an inspection, a self-inspection, a report, a referral
    or a rule, with its deadline and life cycle."""

    Level = HazardLevel
    Category = HazardCategory
    Status = HazardStatus

    class Source(models.TextChoices):
        INSPECTION = "inspection", _("Regulator inspection")
        SELF_INSPECTION = "self_inspection", _("Self-inspection")
        INTERNAL_REPORT = "internal_report", _("Internal report")
        REFERRAL = "referral", _("Referral")
        RULE = "rule", _("Rule")

    # Found by the unit itself: the unit's safety officer may accept its general ones.
    UNIT_SOURCES = frozenset({Source.SELF_INSPECTION, Source.INTERNAL_REPORT})

    scope_lookup = "enterprise__jurisdiction__code"

    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="hazards"
    )
    site = models.ForeignKey(
        Site,
        verbose_name=_("site"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hazards",
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    level = models.CharField(_("level"), max_length=10, choices=HazardLevel.choices)
    category = models.CharField(_("category"), max_length=20, choices=HazardCategory.choices)
    description = models.TextField(_("description"))
    legal_basis = models.CharField(_("legal basis"), max_length=300, blank=True)
    found_on = models.DateField(_("found on"), db_index=True)
    deadline = models.DateField(_("deadline"))
    responsible_person = models.ForeignKey(
        Person,
        verbose_name=_("responsible person"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hazards",
    )
    status = FSMField(
        _("status"), max_length=20, choices=HazardStatus.choices, default=HazardStatus.OPEN
    )
    inspection = models.ForeignKey(
        "inspections.Inspection",
        verbose_name=_("inspection"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hazards",
    )
    answer = models.OneToOneField(
        "inspections.Answer",
        verbose_name=_("checklist answer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hazard",
    )
    extension_count = models.PositiveSmallIntegerField(_("extensions"), default=0)
    # Set by the daily follow-up job the first day it finds the hazard overdue (who was told).
    overdue_since = models.DateField(_("overdue since"), null=True, blank=True)
    rectification_note = models.TextField(_("rectification"), blank=True)
    rectified_on = models.DateField(_("rectification handed in on"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("accepted by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    accepted_on = models.DateField(_("accepted on"), null=True, blank=True)
    acceptance_opinion = models.TextField(_("acceptance opinion"), blank=True)
    cancel_reason = models.TextField(_("reason for cancelling"), blank=True)
    created_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("hazard")
        verbose_name_plural = _("hazards")
        ordering = ["deadline", "id"]
        indexes = [
            models.Index(fields=["status", "deadline"]),
            models.Index(fields=["enterprise", "status"]),
        ]
        rules_permissions = {
            "view": hr.is_authenticated,
            "add": hr.may_record_hazard,
            "start": hr.may_rectify,
            "submit_rectification": hr.may_rectify,
            "accept": hr.may_accept,
            "reject": hr.may_accept,
            "extend": hr.may_extend,
            "cancel": hr.may_accept,
            "plan": hr.may_rectify,
            "follow_up": hr.supervises_unit,
        }

    def __str__(self) -> str:
        return f"{self.reference} {self.description[:40]}"

    @property
    def reference(self) -> str:
        """The number shown on notices and records: YH + year found + id."""
        return f"YH{self.found_on:%Y}-{self.pk or 0:06d}"

    @property
    def is_overdue(self) -> bool:
        return self.status in PENDING and self.deadline < timezone.localdate()

    @property
    def accepted_by_unit(self) -> bool:
        """Whether the unit's own safety officer accepts it (its own general hazards);
        otherwise the supervising bureau does."""
        return self.source in self.UNIT_SOURCES and self.level == HazardLevel.GENERAL

    def audit_scope_code(self) -> str:
        return self.enterprise.jurisdiction_id

    @classmethod
    def extra_visibility_q(cls, user: Any) -> Q | None:
        return Q(enterprise_id=user.enterprise_id) if user.enterprise_id else None

    # --- life cycle (django-fsm-2); services check who may and record the steps -------------
    def has_complete_plan(self) -> bool:
        plan = getattr(self, "plan", None)
        return plan is not None and not plan.missing_elements()

    def _may_start(self) -> bool:
        return self.level != HazardLevel.MAJOR or self.has_complete_plan()

    @transition(field=status, source=HazardStatus.OPEN, target=HazardStatus.RECTIFYING)
    def start(self) -> None:
        pass

    @transition(
        field=status,
        source=[HazardStatus.OPEN, HazardStatus.RECTIFYING],
        target=HazardStatus.AWAITING_ACCEPTANCE,
        conditions=[lambda h: h.status == HazardStatus.RECTIFYING or h.level != "major"],  # type: ignore[attr-defined]
    )
    def submit_rectification(self) -> None:
        self.rectified_on = timezone.localdate()

    @transition(field=status, source=HazardStatus.AWAITING_ACCEPTANCE, target=HazardStatus.CLOSED)
    def accept(self) -> None:
        self.accepted_on = timezone.localdate()

    @transition(
        field=status, source=HazardStatus.AWAITING_ACCEPTANCE, target=HazardStatus.RECTIFYING
    )
    def reject(self) -> None:
        pass

    # target=None: extending keeps the status (django-fsm leaves the field as it is).
    @transition(field=status, source=list(PENDING), target=None)
    def extend(self) -> None:
        self.extension_count += 1
        self.overdue_since = None

    @transition(field=status, source=list(ACTIVE), target=HazardStatus.CANCELLED)
    def cancel(self) -> None:
        pass


class TreatmentPlan(AuditedModel):
    """重大隐患治理方案: the plan a major hazard needs before work starts ("five in place")."""

    hazard = models.OneToOneField(
        Hazard, verbose_name=_("hazard"), on_delete=models.CASCADE, related_name="plan"
    )
    objective = models.TextField(_("objective and tasks"), blank=True)
    measures = models.TextField(_("methods and measures"))
    funds = models.DecimalField(_("funds (yuan)"), max_digits=14, decimal_places=2)
    materials = models.TextField(_("materials"), blank=True)
    responsible_person = models.CharField(_("responsible body and person"), max_length=200)
    deadline = models.DateField(_("deadline"))
    emergency_measures = models.TextField(_("safety measures and emergency plan"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # The five elements the law requires before treatment starts, by field.
    ELEMENTS = ("measures", "funds", "deadline", "responsible_person", "emergency_measures")

    class Meta:
        verbose_name = _("treatment plan")
        verbose_name_plural = _("treatment plans")

    def __str__(self) -> str:
        return f"{self.hazard.reference}"

    def audit_scope_code(self) -> str:
        return self.hazard.enterprise.jurisdiction_id

    def missing_elements(self) -> list[str]:
        missing = []
        for name in self.ELEMENTS:
            value = getattr(self, name)
            if value is None or (isinstance(value, str) and not value.strip()):
                missing.append(name)
        return missing


class HazardEvent(models.Model):
    """One step of a hazard's life (the timeline): who, when, what changed and why."""

    class Action(models.TextChoices):
        CREATED = "created", _("Recorded")
        PLAN = "plan", _("Treatment plan saved")
        START = "start", _("Rectification started")
        SUBMIT_RECTIFICATION = "submit_rectification", _("Rectification handed in")
        ACCEPT = "accept", _("Accepted and closed")
        REJECT = "reject", _("Rectification rejected")
        EXTEND = "extend", _("Deadline extended")
        CANCEL = "cancel", _("Cancelled")
        REMINDED = "reminded", _("Reminder sent")
        OVERDUE = "overdue", _("Became overdue")
        FOLLOW_UP = "follow_up", _("Follow-up inspection scheduled")
        ATTACHMENT = "attachment", _("File added")

    hazard = models.ForeignKey(
        Hazard, verbose_name=_("hazard"), on_delete=models.CASCADE, related_name="events"
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
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("hazard event")
        verbose_name_plural = _("hazard events")
        ordering = ["hazard_id", "at", "id"]

    def __str__(self) -> str:
        return f"{self.hazard_id} {self.action}"


class HazardAttachment(models.Model):
    """A photo or document on a hazard: at finding, as rectification evidence, at acceptance."""

    class Stage(models.TextChoices):
        FINDING = "finding", _("Finding")
        RECTIFICATION = "rectification", _("Rectification evidence")
        ACCEPTANCE = "acceptance", _("Acceptance")

    class Kind(models.TextChoices):
        PHOTO = "photo", _("Photo")
        DOCUMENT = "document", _("Document")

    hazard = models.ForeignKey(
        Hazard, verbose_name=_("hazard"), on_delete=models.CASCADE, related_name="attachments"
    )
    event = models.ForeignKey(
        HazardEvent,
        verbose_name=_("step"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
    )
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    file = models.FileField(_("file"), upload_to="hazards/%Y/%m/")
    name = models.CharField(_("name"), max_length=200)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("hazard file")
        verbose_name_plural = _("hazard files")
        ordering = ["hazard_id", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        (validate_photo if self.kind == self.Kind.PHOTO else validate_scan)(self.file)
