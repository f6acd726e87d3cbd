from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from weibao.core.models import AuditedModel

CODE_RE = re.compile(r"^\d{6}$")


def jurisdiction_prefix(code: str) -> str:
    """The part of a GB/T 2260 code shared by everything inside the division.

    430000 (Hunan) → "43", 430400 (Hengyang) → "4304", 430405 (Zhuhui) → "430405".
    """
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def validate_division_code(value: str) -> None:
    if not CODE_RE.match(value or ""):
        raise ValidationError(
            _("A division code has exactly 6 digits (GB/T 2260), e.g. 430405."), code="format"
        )


class Jurisdiction(AuditedModel):
    """行政区划: an administrative division, identified by its GB/T 2260 code."""

    class Level(models.TextChoices):
        PROVINCE = "province", _("Province")
        CITY = "city", _("City")
        COUNTY = "county", _("County")

    code = models.CharField(
        _("division code"), max_length=6, primary_key=True, validators=[validate_division_code]
    )
    name = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )

    class Meta:
        verbose_name = _("jurisdiction")
        verbose_name_plural = _("jurisdictions")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.display_name}"

    @property
    def display_name(self) -> str:
        return self.name_en if (get_language() or "").startswith("en") else self.name

    @property
    def prefix(self) -> str:
        return jurisdiction_prefix(self.code)

    def audit_scope_code(self) -> str:
        return self.code
