"""Cases (案件): one administrative-penalty procedure against one unit, step by step.

proposed → registered (立案) → investigating → notified (告知) → decided (决定) → executed → closed
(结案); dropped (with a reason) from any step before the decision. Every step is a row on the
timeline (`CaseEvent`) with who, when and the document it issued; documents are stored as issued
(`CaseDocument`) and never regenerated.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import FSMField, transition
from rules.contrib.models import RulesModelBase, RulesModelMixin

from weibao.core.models import AuditedModel
from weibao.core.scoping import ScopedModel
from weibao.enforcement import rules as er
from weibao.enforcement.models.provisions import LegalProvision, PenaltyKind
from weibao.registry.models import Enterprise, Permit, Person


class CaseStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    REGISTERED = "registered", _("Registered")
    INVESTIGATING = "investigating", _("Under investigation")
    NOTIFIED = "notified", _("Penalty notified")
    DECIDED = "decided", _("Decided")
    EXECUTED = "executed", _("Executed")
    CLOSED = "closed", pgettext_lazy("case status", "Closed")
    DROPPED = "dropped", _("Dropped")


OPEN_STATUSES = (
    CaseStatus.PROPOSED,
    CaseStatus.REGISTERED,
    CaseStatus.INVESTIGATING,
    CaseStatus.NOTIFIED,
    CaseStatus.DECIDED,
    CaseStatus.EXECUTED,
)
# Steps before the decision: the case may still be dropped, and its facts edited.
BEFORE_DECISION = (
    CaseStatus.PROPOSED,
    CaseStatus.REGISTERED,
    CaseStatus.INVESTIGATING,
    CaseStatus.NOTIFIED,
)
EDITABLE = (CaseStatus.PROPOSED, CaseStatus.REGISTERED, CaseStatus.INVESTIGATING)


class Case(RulesModelMixin, AuditedModel, ScopedModel, metaclass=RulesModelBase):
    Status = CaseStatus

    class Origin(models.TextChoices):
        MANUAL = "manual", _("Opened by an officer")
        ESCALATION = "escalation", _("Proposed by the escalation rules")

    scope_lookup = "enterprise__jurisdiction__code"

    # 案号: given at registration (from the bureau's sequence, or typed from a paper file).
    number = models.CharField(_("case number"), max_length=60, unique=True, null=True, blank=True)
    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="cases"
    )
    agency = models.ForeignKey(
        "accounts.Agency",
        verbose_name=_("handling bureau"),
        on_delete=models.PROTECT,
        related_name="cases",
    )
    origin = models.CharField(
        _("origin"), max_length=20, choices=Origin.choices, default=Origin.MANUAL
    )
    title = models.CharField(_("cause of action"), max_length=200)
    facts = models.TextField(_("facts"), blank=True)
    persons = models.ManyToManyField(
        Person, verbose_name=_("persons concerned"), blank=True, related_name="cases"
    )
    persons_note = models.TextField(_("other persons concerned"), blank=True)
    officers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handling officers"),
        blank=True,
        related_name="cases_handled",
    )
    provisions = models.ManyToManyField(
        LegalProvision, verbose_name=_("provisions applied"), blank=True, related_name="cases"
    )
    hazards = models.ManyToManyField(
        "hazards.Hazard", verbose_name=_("hazards"), blank=True, related_name="cases"
    )
    inspections = models.ManyToManyField(
        "inspections.Inspection", verbose_name=_("inspections"), blank=True, related_name="cases"
    )
    # What the escalation job saw (rule, hazard, deadline…) when it proposed the case.
    evidence = models.JSONField(_("escalation evidence"), default=list, blank=True)
    status = FSMField(
        _("status"), max_length=20, choices=CaseStatus.choices, default=CaseStatus.PROPOSED
    )
    # The deadline of the step the case waits for now (confirm, decide, defence, pay); None when
    # nothing is due. Kept on the row so home pages find near and passed deadlines by index.
    deadline = models.DateField(_("current deadline"), null=True, blank=True)
    proposed_on = models.DateField(_("proposed on"), default=timezone.localdate)
    registered_on = models.DateField(_("registered on"), null=True, blank=True)
    decision_due = models.DateField(_("decision due"), null=True, blank=True)
    notified_on = models.DateField(_("notified on"), null=True, blank=True)
    defence_deadline = models.DateField(_("defence period ends"), null=True, blank=True)
    hearing_available = models.BooleanField(_("hearing may be requested"), default=False)
    hearing_deadline = models.DateField(_("hearing request period ends"), null=True, blank=True)
    defence_statement = models.TextField(_("defence stated"), blank=True)
    defence_waived = models.BooleanField(_("defence waived in writing"), default=False)
    hearing_requested = models.BooleanField(_("hearing requested"), default=False)
    hearing_held_on = models.DateField(_("hearing held on"), null=True, blank=True)
    hearing_record = models.TextField(_("hearing record"), blank=True)
    decided_on = models.DateField(_("decided on"), null=True, blank=True)
    payment_due = models.DateField(_("payment due"), null=True, blank=True)
    executed_on = models.DateField(_("executed on"), null=True, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    dropped_on = models.DateField(_("dropped on"), null=True, blank=True)
    drop_reason = models.TextField(_("reason for dropping"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-proposed_on", "-id"]
        indexes = [
            models.Index(fields=["status", "deadline"]),
            models.Index(fields=["enterprise", "status"]),
        ]
        rules_permissions = {
            "view": er.is_authenticated,
            "add": er.supervises_unit,
            "change": er.handles_case,
            "register": er.handles_case,
            "investigate": er.handles_case,
            "notify": er.handles_case,
            "defence": er.handles_case,
            "decide": er.handles_case,
            "pay": er.handles_case,
            "execute": er.handles_case,
            "close": er.handles_case,
            "drop": er.handles_case,
            "attach": er.handles_case,
            "review": er.may_review,
        }

    def __str__(self) -> str:
        return f"{self.reference} {self.title[:40]}"

    @property
    def reference(self) -> str:
        """The case number once registered; before that a provisional "proposal" number."""
        return self.number or f"TY{self.proposed_on:%Y}-{self.pk or 0:06d}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def deadline_passed(self) -> bool:
        return self.deadline is not None and self.deadline < timezone.localdate()

    def audit_scope_code(self) -> str:
        return self.enterprise.jurisdiction_id

    @classmethod
    def extra_visibility_q(cls, user: Any) -> Q | None:
        # A unit sees its own cases once registered (proposals are the bureau's internal work).
        if not user.enterprise_id:
            return None
        return Q(enterprise_id=user.enterprise_id, registered_on__isnull=False)

    # --- the procedure (django-fsm-2); services check who may, the rules of law and the data -
    @transition(field=status, source=CaseStatus.PROPOSED, target=CaseStatus.REGISTERED)
    def register(self) -> None:
        self.registered_on = timezone.localdate()

    @transition(field=status, source=CaseStatus.REGISTERED, target=CaseStatus.INVESTIGATING)
    def investigate(self) -> None:
        pass

    @transition(field=status, source=CaseStatus.INVESTIGATING, target=CaseStatus.NOTIFIED)
    def notify(self) -> None:
        self.notified_on = timezone.localdate()

    @transition(field=status, source=CaseStatus.NOTIFIED, target=CaseStatus.DECIDED)
    def decide(self) -> None:
        self.decided_on = timezone.localdate()

    @transition(field=status, source=CaseStatus.DECIDED, target=CaseStatus.EXECUTED)
    def execute(self) -> None:
        self.executed_on = timezone.localdate()

    @transition(field=status, source=CaseStatus.EXECUTED, target=CaseStatus.CLOSED)
    def close(self) -> None:
        self.closed_on = timezone.localdate()

    @transition(field=status, source=list(BEFORE_DECISION), target=CaseStatus.DROPPED)
    def drop(self) -> None:
        self.dropped_on = timezone.localdate()


class PenaltyItem(AuditedModel):
    """One penalty of a case: the intended one from the notice, then the decided one."""

    Kind = PenaltyKind

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="penalties"
    )
    provision = models.ForeignKey(
        LegalProvision, verbose_name=_("provision"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=30, choices=PenaltyKind.choices)
    amount = models.DecimalField(
        _("amount (yuan)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    person = models.ForeignKey(
        Person,
        verbose_name=_("person penalised"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    permit = models.ForeignKey(
        Permit,
        verbose_name=_("permit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="penalties",
    )
    until = models.DateField(_("suspended until"), null=True, blank=True)
    description = models.CharField(_("details"), max_length=300, blank=True)
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    receipt_number = models.CharField(_("receipt number"), max_length=60, blank=True)
    executed_on = models.DateField(_("executed on"), null=True, blank=True)

    class Meta:
        verbose_name = _("penalty")
        verbose_name_plural = _("penalties")
        ordering = ["case_id", "id"]

    def __str__(self) -> str:
        amount = f" {self.amount:,.2f}" if self.amount is not None else ""
        return f"{self.get_kind_display()}{amount}"

    def audit_scope_code(self) -> str:
        return self.case.enterprise.jurisdiction_id

    @property
    def is_fine(self) -> bool:
        return self.kind in (PenaltyKind.FINE, PenaltyKind.PERSON_FINE)


class CaseDocument(models.Model):
    """A document of the case file: generated by a step (stored as issued, never regenerated)
    or uploaded (a written waiver, the defence, a hearing record, evidence, a receipt)."""

    class Kind(models.TextChoices):
        REGISTRATION_APPROVAL = "registration_approval", _("Registration approval form")
        PENALTY_NOTICE = "penalty_notice", _("Notice of intended penalty")
        PENALTY_DECISION = "penalty_decision", _("Penalty decision")
        FILE_COVER = "file_cover", _("Case file cover and index")
        DEFENCE = "defence", _("Defence statement")
        DEFENCE_WAIVER = "defence_waiver", _("Written waiver of defence")
        HEARING_RECORD = "hearing_record", _("Hearing record")
        EVIDENCE = "evidence", _("Evidence")
        PAYMENT_RECEIPT = "payment_receipt", _("Payment receipt")

    GENERATED = frozenset(
        {
            Kind.REGISTRATION_APPROVAL,
            Kind.PENALTY_NOTICE,
            Kind.PENALTY_DECISION,
            Kind.FILE_COVER,
        }
    )

    # What the party (the unit) sees of its case file: what was served on it and what it
    # handed in. The approval form, the cover and the investigation's evidence stay internal.
    PARTY_KINDS = frozenset(
        {
            Kind.PENALTY_NOTICE,
            Kind.PENALTY_DECISION,
            Kind.DEFENCE,
            Kind.DEFENCE_WAIVER,
            Kind.HEARING_RECORD,
            Kind.PAYMENT_RECEIPT,
        }
    )

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="documents"
    )
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    number = models.CharField(_("document number"), max_length=80, blank=True)
    name = models.CharField(_("name"), max_length=200)
    file = models.FileField(_("file"), upload_to="cases/%Y/%m/")
    content_type = models.CharField(_("content type"), max_length=50)
    size = models.PositiveIntegerField(_("size (bytes)"), default=0)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    generated = models.BooleanField(_("generated by the system"), default=False)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)

    class Meta:
        verbose_name = _("case document")
        verbose_name_plural = _("case documents")
        ordering = ["case_id", "issued_at", "id"]

    def __str__(self) -> str:
        return self.name


class CaseEvent(models.Model):
    """One step of a case (the timeline): who, when, from which status, and its document."""

    class Action(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        CREATED = "created", _("Opened")
        UPDATED = "updated", _("Details changed")
        REGISTER = "register", _("Registered")
        INVESTIGATE = "investigate", _("Investigation started")
        NOTIFY = "notify", _("Intended penalty notified")
        DEFENCE = "defence", _("Defence recorded")
        HEARING = "hearing", _("Hearing held")
        DECIDE = "decide", _("Penalty decided")
        PAY = "pay", _("Payment recorded")
        EXECUTE = "execute", _("Penalty executed")
        CLOSE = "close", _("Case closed")
        DROP = "drop", _("Dropped")
        ATTACH = "attach", _("File added")
        EVIDENCE = "evidence", _("New escalation evidence")
        REVIEW = "review", _("Quality reviewed")

    # The steps the party sees on its timeline (those served on it or taken by it).
    PARTY_ACTIONS = frozenset(
        {
            Action.REGISTER,
            Action.NOTIFY,
            Action.DEFENCE,
            Action.HEARING,
            Action.DECIDE,
            Action.PAY,
            Action.EXECUTE,
            Action.CLOSE,
            Action.DROP,
        }
    )

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="events"
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
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
    document = models.ForeignKey(
        CaseDocument,
        verbose_name=_("document"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
    )

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["case_id", "at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action}"


class EscalationFact(models.Model):
    """A fact the escalation job has already turned into a proposal (one row per rule and
    hazard): the unique key is what keeps the same facts from being proposed twice."""

    class Rule(models.TextChoices):
        MAJOR_OVERDUE = "major_overdue", _("Major hazard overdue")
        EXTENDED_OVERDUE = "extended_overdue", _("Overdue after an extension")
        REPEATED_OVERDUE = "repeated_overdue", _("Repeatedly overdue hazards")

    key = models.CharField(_("key"), max_length=100, unique=True)
    rule = models.CharField(_("rule"), max_length=30, choices=Rule.choices)
    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="+"
    )
    hazard = models.ForeignKey(
        "hazards.Hazard",
        verbose_name=_("hazard"),
        on_delete=models.CASCADE,
        related_name="escalation_facts",
    )
    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="facts_used"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("escalation fact")
        verbose_name_plural = _("escalation facts")

    def __str__(self) -> str:
        return self.key
