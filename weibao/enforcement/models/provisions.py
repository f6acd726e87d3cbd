"""Legal provisions (法律条款): the article a case applies and the penalties it allows.

Shipped as editable data (`data/legal_provisions.json`) with `verified` false: the ranges are the
commonly cited ones and an administrator checks each text against the official one before
relying on it. Any change of legal content makes a provision unverified again.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from weibao.core.i18n import localized
from weibao.core.models import AuditedModel


class PenaltyKind(models.TextChoices):
    WARNING = "warning", _("Warning")
    FINE = "fine", _("Fine on the unit")
    PERSON_FINE = "person_fine", _("Fine on a responsible person")
    CONFISCATION = "confiscation", _("Confiscation of illegal gains or goods")
    SUSPENSION = "suspension", _("Suspension of production or business")
    PERMIT_SUSPENSION = "permit_suspension", _("Permit suspension")
    PERMIT_REVOCATION = "permit_revocation", _("Permit revocation")


FINE_KINDS = frozenset({PenaltyKind.FINE, PenaltyKind.PERSON_FINE})
PERMIT_KINDS = frozenset({PenaltyKind.PERMIT_SUSPENSION, PenaltyKind.PERMIT_REVOCATION})
# Penalties that entitle the party to a hearing whatever the amount (Administrative Penalty
# Law Art. 63).
HEARING_KINDS = frozenset({PenaltyKind.SUSPENSION, *PERMIT_KINDS})


def yuan_field(label: Any) -> models.DecimalField[Decimal | int | str | None, Decimal | None]:
    """An optional amount in yuan (fen precision)."""
    return models.DecimalField(label, max_digits=12, decimal_places=2, null=True, blank=True)


class LegalProvision(AuditedModel):
    """One article (and clause) of a law or regulation, with the penalties it allows."""

    # Fields whose change is a change of legal content (the provision must be checked again).
    LEGAL_FIELDS = (
        "law",
        "article",
        "clause",
        "violation",
        "allowed_kinds",
        "fine_min",
        "fine_max",
        "person_fine_min",
        "person_fine_max",
    )

    code = models.SlugField(_("code"), max_length=50, unique=True)
    law = models.CharField(_("law (Chinese)"), max_length=200)
    law_en = models.CharField(_("law (English)"), max_length=200, blank=True)
    article = models.CharField(_("article"), max_length=30)
    clause = models.CharField(_("clause"), max_length=60, blank=True)
    title = models.CharField(_("short title (Chinese)"), max_length=200)
    title_en = models.CharField(_("short title (English)"), max_length=200, blank=True)
    violation = models.TextField(_("violation covered (Chinese)"))
    violation_en = models.TextField(_("violation covered (English)"), blank=True)
    allowed_kinds = models.JSONField(_("penalty kinds allowed"), default=list)
    fine_min = yuan_field(_("minimum fine on the unit (yuan)"))
    fine_max = yuan_field(_("maximum fine on the unit (yuan)"))
    person_fine_min = yuan_field(_("minimum fine on a person (yuan)"))
    person_fine_max = yuan_field(_("maximum fine on a person (yuan)"))
    verified = models.BooleanField(_("text verified"), default=False)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("verified by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    is_active = models.BooleanField(_("in use"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("legal provision")
        verbose_name_plural = _("legal provisions")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.law} {self.article_label}"

    @property
    def article_label(self) -> str:
        return f"{self.article}{self.clause}"

    @property
    def display_title(self) -> str:
        return localized(self.title, self.title_en)

    @property
    def display_law(self) -> str:
        return localized(self.law, self.law_en)

    def fine_range(self, kind: str) -> tuple[Decimal | None, Decimal | None]:
        if kind == PenaltyKind.PERSON_FINE:
            return self.person_fine_min, self.person_fine_max
        return self.fine_min, self.fine_max

    def penalty_problem(self, kind: str, amount: Decimal | None) -> str | None:
        """Why a penalty item of `kind` (and `amount`) is not allowed under this provision, in
        words; None when it is."""
        if kind not in self.allowed_kinds:
            return _t("%(provision)s does not allow the penalty “%(kind)s”.") % {
                "provision": str(self),
                "kind": PenaltyKind(kind).label,
            }
        if kind not in FINE_KINDS:
            return None
        if amount is None or amount <= 0:
            return _t("A fine needs an amount in yuan above zero.")
        low, high = self.fine_range(kind)
        if low is not None and amount < low:
            return _t("%(amount)s yuan is below the minimum of %(low)s yuan in %(provision)s.") % {
                "amount": f"{amount:,.2f}",
                "low": f"{low:,.2f}",
                "provision": str(self),
            }
        if high is not None and amount > high:
            return _t("%(amount)s yuan is above the maximum of %(high)s yuan in %(provision)s.") % {
                "amount": f"{amount:,.2f}",
                "high": f"{high:,.2f}",
                "provision": str(self),
            }
        return None

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        kinds = self.allowed_kinds if isinstance(self.allowed_kinds, list) else None
        if not kinds:
            errors["allowed_kinds"] = [_t("Name at least one penalty kind the provision allows.")]
        else:
            unknown = [k for k in kinds if k not in PenaltyKind.values]
            if unknown:
                names = ", ".join(map(str, unknown))
                message = _t("Unknown penalty kinds: %(kinds)s.") % {"kinds": names}
                errors["allowed_kinds"] = [message]
            elif len(set(kinds)) != len(kinds):
                errors["allowed_kinds"] = [_t("A penalty kind is listed twice.")]
        for kind, low_field, high_field in (
            (PenaltyKind.FINE, "fine_min", "fine_max"),
            (PenaltyKind.PERSON_FINE, "person_fine_min", "person_fine_max"),
        ):
            low, high = getattr(self, low_field), getattr(self, high_field)
            allowed = bool(kinds) and kind in (kinds or [])
            if not allowed and (low is not None or high is not None):
                errors[low_field if low is not None else high_field] = [
                    _t("Give fine amounts only when the provision allows that fine.")
                ]
            elif allowed and high is None:
                errors[high_field] = [_t("A provision that allows a fine gives its maximum.")]
            elif low is not None and high is not None and low > high:
                errors[high_field] = [_t("The maximum cannot be below the minimum.")]
            for name, value in ((low_field, low), (high_field, high)):
                if value is not None and value < 0:
                    errors[name] = [_t("Amounts cannot be negative.")]
        if errors:
            raise ValidationError(errors)
