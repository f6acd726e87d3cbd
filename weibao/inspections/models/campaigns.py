"""Campaigns (专项行动), their reproducible spot-check draws, and conflicts of interest."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rules.contrib.models import RulesModelBase, RulesModelMixin

from weibao.core.models import AuditedModel
from weibao.core.scoping import ScopedModel, prefix_q
from weibao.inspections import rules as ir
from weibao.inspections.models.checklists import Checklist
from weibao.inspections.models.common import ancestor_codes, split_codes, user_home_code
from weibao.registry.models import (
    Enterprise,
    EnterpriseKind,
    Jurisdiction,
    jurisdiction_prefix,
    kinds_q,
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
        rules_permissions = {
            "view": ir.is_regulator | ir.is_system_admin,
            "add": ir.is_regulator | ir.is_system_admin,
        }

    def __str__(self) -> str:
        return f"{self.inspector} ≠ {self.enterprise}"

    def audit_scope_code(self) -> str:
        return self.enterprise.jurisdiction_id

    @classmethod
    def visibility_q(cls, user: Any) -> Q | None:
        if not (user.is_regulator or user.is_system_admin):
            return Q(pk__in=[])
        return super().visibility_q(user)
