from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from weibao.core.models import AuditedModel
from weibao.core.scoping import ScopedModel


class ComplianceRule(AuditedModel):
    """合规规则: one check computed from registry data, switchable and tunable by administrators.

    The check itself is code (weibao.registry.compliance, keyed by `code`); what the law may
    change — its level, legal basis, thresholds and whether it runs — is data here.
    """

    class Level(models.TextChoices):
        GENERAL = "general", _("General hazard")
        MAJOR = "major", _("Major hazard")

    code = models.SlugField(_("code"), max_length=50, unique=True)
    title = models.CharField(_("title (Chinese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    legal_basis = models.CharField(_("legal basis"), max_length=300)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        verbose_name = _("compliance rule")
        verbose_name_plural = _("compliance rules")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.display_title

    @property
    def display_title(self) -> str:
        return self.title_en if (get_language() or "").startswith("en") else self.title


class ComplianceFinding(ScopedModel):
    """A finding the daily scan has seen, kept so that only new ones are notified."""

    scope_lookup = "enterprise__jurisdiction__code"
    partner_resource = "enterprises"

    enterprise = models.ForeignKey(
        "registry.Enterprise",
        verbose_name=_("unit"),
        on_delete=models.CASCADE,
        related_name="compliance_findings",
    )
    rule = models.CharField(_("rule"), max_length=50)
    subject = models.CharField(_("subject"), max_length=60)  # e.g. "permit:12", "unit:3"
    level = models.CharField(_("level"), max_length=10)
    first_seen = models.DateTimeField(_("first seen"), auto_now_add=True)
    last_seen = models.DateTimeField(_("last seen"))
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("compliance finding")
        verbose_name_plural = _("compliance findings")
        constraints = [
            models.UniqueConstraint(
                fields=["enterprise", "rule", "subject"], name="finding_once_per_subject"
            )
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_id} {self.rule} {self.subject}"

    @classmethod
    def extra_visibility_q(cls, user: Any) -> models.Q | None:
        return models.Q(enterprise_id=user.enterprise_id) if user.enterprise_id else None
