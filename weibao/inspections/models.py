"""Checklists, campaigns with random spot-check draws, and inspections (检查) with their answers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition
from rules.contrib.models import RulesModelBase, RulesModelMixin

from weibao.core.files import validate_photo
from weibao.core.models import AuditedModel
from weibao.core.scoping import ScopedModel, prefix_q
from weibao.hazards.choices import HazardCategory, HazardLevel
from weibao.inspections import rules as ir
from weibao.registry.models import (
    Enterprise,
    EnterpriseKind,
    Jurisdiction,
    Site,
    jurisdiction_prefix,
    kinds_q,
)
from weibao.registry.models.units import coordinate_field


def ancestor_codes(code: str) -> list[str]:
    """The province and city codes above a county code (GB/T 2260), without the code itself."""
    if not code or len(code) != 6:
        return []
    candidates = [code[:2] + "0000", code[:4] + "00"]
    return [c for c in dict.fromkeys(candidates) if c != code]


def user_home_code(user: Any) -> str:
    """The division a signed-in user works in: their bureau's, or their unit's."""
    if getattr(user, "agency_id", None) and user.agency is not None:
        return str(user.agency.jurisdiction_id)
    if getattr(user, "enterprise_id", None) and user.enterprise is not None:
        return str(user.enterprise.jurisdiction_id)
    return ""


def split_codes(value: str) -> list[str]:
    return [c for c in (value or "").split(",") if c]


class Checklist(RulesModelMixin, AuditedModel, ScopedModel, metaclass=RulesModelBase):
    """检查表: a versioned template of items for one or more unit kinds.

    A version is never edited once published: a change is a new version with the same code, and
    inspections keep pointing at (and copying the text of) the version they were made with.
    """

    code = models.SlugField(_("code"), max_length=60)
    version = models.PositiveIntegerField(_("version"), default=1)
    title = models.CharField(_("title (Chinese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200)
    kinds = models.CharField(_("unit kinds"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    is_current = models.BooleanField(_("current version"), default=True, db_index=True)
    created_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("checklist")
        verbose_name_plural = _("checklists")
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="checklist_unique_version")
        ]
        rules_permissions = {"view": ir.is_authenticated, "add": ir.may_publish_checklists}

    def __str__(self) -> str:
        return f"{self.display_title} v{self.version}"

    @property
    def display_title(self) -> str:
        return (
            self.title_en
            if (get_language() or "").startswith("en") and self.title_en
            else self.title
        )

    @property
    def kind_list(self) -> list[str]:
        return split_codes(self.kinds)

    def get_kinds_display(self) -> list[str]:
        labels = dict(EnterpriseKind.choices)
        return [str(labels.get(k, k)) for k in self.kind_list]

    @classmethod
    def visibility_q(cls, user: Any) -> Q | None:
        return None  # reference data: every signed-in user reads every checklist


class ChecklistItem(models.Model):
    """One line of a checklist; failing it means a hazard of `hazard_level`."""

    checklist = models.ForeignKey(
        Checklist, verbose_name=_("checklist"), on_delete=models.CASCADE, related_name="items"
    )
    position = models.PositiveIntegerField(_("position"))
    text = models.TextField(_("text (Chinese)"))
    text_en = models.TextField(_("text (English)"))
    category = models.CharField(_("category"), max_length=20, choices=HazardCategory.choices)
    legal_basis = models.CharField(_("legal basis"), max_length=300, blank=True)
    hazard_level = models.CharField(
        _("hazard level if failed"), max_length=10, choices=HazardLevel.choices
    )

    class Meta:
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        ordering = ["checklist_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["checklist", "position"], name="item_unique_position")
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.display_text}"

    @property
    def display_text(self) -> str:
        return (
            self.text_en if (get_language() or "").startswith("en") and self.text_en else self.text
        )


class Campaign(RulesModelMixin, AuditedModel, ScopedModel, metaclass=RulesModelBase):
    """专项行动: a bureau's campaign over some divisions and unit kinds for a period."""

    jurisdiction = models.ForeignKey(
        Jurisdiction,
        verbose_name=_("organised for"),
        on_delete=models.PROTECT,
        related_name="campaigns",
    )
    agency = models.ForeignKey(
        "accounts.Agency",
        verbose_name=_("organising bureau"),
        on_delete=models.PROTECT,
        related_name="campaigns",
    )
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    scope_codes = models.CharField(_("divisions covered"), max_length=400)
    kinds = models.CharField(_("unit kinds covered"), max_length=300)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    checklist = models.ForeignKey(
        Checklist,
        verbose_name=_("checklist"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="campaigns",
        help_text=_("Empty: each unit is inspected with the current checklist for its kind."),
    )
    self_inspection_required = models.BooleanField(_("units must self-inspect"), default=True)
    self_inspection_due = models.DateField(_("self-inspection due"), null=True, blank=True)
    spot_check_ratio = models.DecimalField(
        _("spot-check ratio"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.2"),
        validators=[MinValueValidator(0), MaxValueValidator(1)],
    )
    created_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-starts_on", "name"]
        rules_permissions = {
            "view": ir.is_authenticated,
            "add": ir.is_regulator,
            "change": ir.organises_campaign,
            "draw": ir.may_draw,
        }

    def __str__(self) -> str:
        return self.name

    @property
    def scope_list(self) -> list[str]:
        return split_codes(self.scope_codes)

    @property
    def kind_list(self) -> list[str]:
        return split_codes(self.kinds)

    def audit_scope_code(self) -> str:
        return self.jurisdiction_id

    @classmethod
    def extra_visibility_q(cls, user: Any) -> Q | None:
        # A city campaign reaches every county in it, and the units there (to self-inspect).
        above = ancestor_codes(user_home_code(user))
        if user.is_unit_user:
            return Q(jurisdiction_id__in=[*above, user_home_code(user)])
        return Q(jurisdiction_id__in=above) if above else None

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            errors["ends_on"] = _("The campaign cannot end before it starts.")
        if (
            self.self_inspection_due
            and self.starts_on
            and self.ends_on
            and not self.starts_on <= self.self_inspection_due <= self.ends_on
        ):
            errors["self_inspection_due"] = _("The self-inspection date must lie in the period.")
        unknown = [k for k in self.kind_list if k not in EnterpriseKind.values]
        if not self.kind_list or unknown:
            errors["kinds"] = _("Choose at least one known unit kind.")
        if self.jurisdiction_id:
            prefix = jurisdiction_prefix(self.jurisdiction_id)
            outside = [c for c in self.scope_list if not c.startswith(prefix)]
            if not self.scope_list or outside:
                errors["scope"] = _("Every division covered must lie in %(area)s.") % {
                    "area": self.jurisdiction_id
                }
        if errors:
            raise ValidationError(errors)

    def units_in_scope(self) -> models.QuerySet[Enterprise]:
        where = Q(pk__in=[])
        for code in self.scope_list:
            where |= prefix_q("jurisdiction__code", jurisdiction_prefix(code))
        kinds = Q(pk__in=[])
        for kind in self.kind_list:
            kinds |= kinds_q(kind)
        return Enterprise.objects.filter(where, kinds, status=Enterprise.Status.ACTIVE)


class CampaignDraw(AuditedModel, ScopedModel):
    """双随机抽查: one reproducible draw of units and inspector pairs for a campaign and area.

    Everything the draw depended on is stored (seed, population with weights, inspector pool,
    conflicts), so anyone can re-run it and get the same result (`inspections.draw.replay`).
    """

    scope_lookup = "jurisdiction__code"

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT, related_name="draws"
    )
    jurisdiction = models.ForeignKey(
        Jurisdiction, verbose_name=_("area drawn"), on_delete=models.PROTECT, related_name="+"
    )
    seed = models.CharField(_("seed"), max_length=64)
    ratio = models.DecimalField(_("ratio"), max_digits=4, decimal_places=3)
    population = models.JSONField(_("units eligible, with weights"))
    inspector_pool = models.JSONField(_("inspectors available"))
    # Empty lists are meaningful here ("no conflicts"), so blank is allowed.
    conflicts = models.JSONField(_("conflicts of interest"), blank=True)
    result = models.JSONField(_("units drawn, with inspectors"), blank=True)
    drawn_by = models.ForeignKey(
        "accounts.User", verbose_name=_("drawn by"), on_delete=models.PROTECT, related_name="+"
    )
    drawn_at = models.DateTimeField(_("drawn at"), default=timezone.now)

    class Meta:
        verbose_name = _("spot-check draw")
        verbose_name_plural = _("spot-check draws")
        ordering = ["-drawn_at"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "jurisdiction"], name="draw_once_per_area")
        ]

    def __str__(self) -> str:
        return f"{self.campaign} / {self.jurisdiction_id}"

    def audit_scope_code(self) -> str:
        return self.jurisdiction_id

    @classmethod
    def visibility_q(cls, user: Any) -> Q | None:
        # Draws are unannounced inspections: never shown to units or partners.
        if not (user.is_regulator or user.is_system_admin):
            return Q(pk__in=[])
        return super().visibility_q(user)


class InspectorConflict(RulesModelMixin, AuditedModel, ScopedModel, metaclass=RulesModelBase):
    """回避: an inspector who must not inspect a unit (kinship, former employment, ...)."""

    scope_lookup = "enterprise__jurisdiction__code"

    inspector = models.ForeignKey(
        "accounts.User",
        verbose_name=_("inspector"),
        on_delete=models.CASCADE,
        related_name="conflicts",
    )
    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="conflicts"
    )
    reason = models.CharField(_("reason"), max_length=300)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("conflict of interest")
        verbose_name_plural = _("conflicts of interest")
        constraints = [
            models.UniqueConstraint(fields=["inspector", "enterprise"], name="conflict_once")
        ]
        rules_permissions = {"view": ir.is_regulator, "add": ir.is_regulator}

    def __str__(self) -> str:
        return f"{self.inspector} ≠ {self.enterprise}"

    def audit_scope_code(self) -> str:
        return self.enterprise.jurisdiction_id

    @classmethod
    def visibility_q(cls, user: Any) -> Q | None:
        if not (user.is_regulator or user.is_system_admin):
            return Q(pk__in=[])
        return super().visibility_q(user)


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
        return (
            self.text_en if (get_language() or "").startswith("en") and self.text_en else self.text
        )


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
