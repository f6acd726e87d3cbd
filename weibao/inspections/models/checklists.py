"""Checklists (检查表): versioned templates of items per unit kind."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from rules.contrib.models import RulesModelBase, RulesModelMixin

from weibao.core.i18n import localized
from weibao.core.models import AuditedModel
from weibao.core.scoping import ScopedModel
from weibao.hazards.choices import HazardCategory, HazardLevel
from weibao.inspections import rules as ir
from weibao.inspections.models.common import split_codes
from weibao.registry.models import (
    EnterpriseKind,
)


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
        return localized(self.title, self.title_en)

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
        return localized(self.text, self.text_en)
