"""Inspections (检查) and their answers per checklist item, with photos."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition
from rules.contrib.models import RulesModelBase, RulesModelMixin

from weibao.core.files import validate_photo
from weibao.core.i18n import localized
from weibao.core.models import AuditedModel
from weibao.core.scoping import ScopedModel
from weibao.hazards.choices import HazardCategory, HazardLevel
from weibao.inspections import rules as ir
from weibao.inspections.models.campaigns import Campaign, CampaignDraw
from weibao.inspections.models.checklists import Checklist, ChecklistItem
from weibao.registry.models import (
    Enterprise,
    Site,
)
from weibao.registry.models.units import coordinate_field


class Inspection(RulesModelMixin, AuditedModel, ScopedModel, metaclass=RulesModelBase):
    """检查: a regulator's inspection of a unit, or the unit's own self-inspection."""

    class Kind(models.TextChoices):
        ROUTINE = "routine", _("Routine inspection")
        CAMPAIGN = "campaign", _("Campaign inspection")
        SPOT_CHECK = "spot_check", _("Random spot check")
        COMPLAINT = "complaint", _("Complaint inspection")
        FOLLOW_UP = "follow_up", _("Follow-up inspection")
        SELF_INSPECTION = "self_inspection", _("Self-inspection")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")

    scope_lookup = "enterprise__jurisdiction__code"

    number = models.CharField(_("number"), max_length=40, blank=True, db_index=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="inspections",
    )
    draw = models.ForeignKey(
        CampaignDraw,
        verbose_name=_("spot-check draw"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="inspections",
    )
    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="inspections"
    )
    site = models.ForeignKey(
        Site,
        verbose_name=_("site"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="inspections",
    )
    checklist = models.ForeignKey(
        Checklist, verbose_name=_("checklist"), on_delete=models.PROTECT, related_name="inspections"
    )
    agency = models.ForeignKey(
        "accounts.Agency",
        verbose_name=_("inspecting bureau"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="inspections",
    )
    inspectors = models.ManyToManyField(
        "accounts.User", verbose_name=_("inspectors"), blank=True, related_name="inspections"
    )
    # Names as they were when the record was submitted (the document keeps them as issued).
    inspector_names = models.CharField(_("inspectors (as submitted)"), max_length=300, blank=True)
    conducted_by = models.CharField(
        _("conducted by"),
        max_length=200,
        blank=True,
        help_text=_("For a self-inspection: who in the unit led it."),
    )
    follow_up_of = models.ForeignKey(
        "hazards.Hazard",
        verbose_name=_("follows up hazard"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
    )
    planned_on = models.DateField(_("planned for"), null=True, blank=True)
    inspected_on = models.DateField(_("inspected on"), null=True, blank=True, db_index=True)
    latitude = coordinate_field(_("latitude"), 90)
    longitude = coordinate_field(_("longitude"), 180)
    summary = models.TextField(_("summary"), blank=True)
    representative_name = models.CharField(_("unit representative"), max_length=100, blank=True)
    signature_text = models.CharField(_("typed signature"), max_length=100, blank=True)
    signature_image = models.FileField(
        _("drawn signature"),
        upload_to="signatures/%Y/%m/",
        blank=True,
        validators=[validate_photo],
    )
    status = FSMField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    created_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("submitted by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        ordering = ["-inspected_on", "-id"]
        indexes = [models.Index(fields=["campaign", "status"])]
        rules_permissions = {
            "view": ir.is_authenticated,
            "add": ir.is_regulator | ir.is_unit_manager,
            "change": ir.may_edit_inspection,
            "submit": ir.may_edit_inspection,
        }

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number or self.pk}"

    @property
    def is_self_inspection(self) -> bool:
        return self.kind == self.Kind.SELF_INSPECTION

    def audit_scope_code(self) -> str:
        return self.enterprise.jurisdiction_id

    @classmethod
    def extra_visibility_q(cls, user: Any) -> Q | None:
        # A unit sees its self-inspections, and regulators' inspections once submitted: a
        # drafted spot check is unannounced.
        if not user.enterprise_id:
            return None
        return Q(enterprise_id=user.enterprise_id) & (
            Q(kind=cls.Kind.SELF_INSPECTION) | Q(status=cls.Status.SUBMITTED)
        )

    @transition(field=status, source=Status.DRAFT, target=Status.SUBMITTED)
    def submit(self) -> None:
        self.submitted_at = timezone.now()


class Answer(models.Model):
    """The result for one checklist item in one inspection, with the item's text as it was."""

    class Result(models.TextChoices):
        PASS = "pass", _("Pass")
        FAIL = "fail", _("Fail")
        NOT_APPLICABLE = "not_applicable", _("Not applicable")

    inspection = models.ForeignKey(
        Inspection, verbose_name=_("inspection"), on_delete=models.CASCADE, related_name="answers"
    )
    item = models.ForeignKey(
        ChecklistItem, verbose_name=_("item"), on_delete=models.PROTECT, related_name="answers"
    )
    position = models.PositiveIntegerField(_("position"))
    text = models.TextField(_("text (Chinese)"))
    text_en = models.TextField(_("text (English)"))
    category = models.CharField(_("category"), max_length=20, choices=HazardCategory.choices)
    legal_basis = models.CharField(_("legal basis"), max_length=300, blank=True)
    hazard_level = models.CharField(_("hazard level"), max_length=10, choices=HazardLevel.choices)
    result = models.CharField(_("result"), max_length=20, choices=Result.choices, blank=True)
    note = models.TextField(_("note"), blank=True)
    deadline = models.DateField(
        _("rectification deadline"),
        null=True,
        blank=True,
        help_text=_("For a failed item; empty: the default deadline for its level."),
    )

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        ordering = ["inspection_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["inspection", "item"], name="answer_once_per_item")
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.get_result_display() or '—'}"

    @property
    def display_text(self) -> str:
        return localized(self.text, self.text_en)


class AnswerPhoto(models.Model):
    answer = models.ForeignKey(
        Answer, verbose_name=_("answer"), on_delete=models.CASCADE, related_name="photos"
    )
    file = models.FileField(_("photo"), upload_to="inspections/%Y/%m/", validators=[validate_photo])
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("inspection photo")
        verbose_name_plural = _("inspection photos")
        ordering = ["answer_id", "id"]

    def __str__(self) -> str:
        return str(self.file.name)
