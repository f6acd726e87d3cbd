from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from rules.contrib.models import RulesModelBase, RulesModelMixin

from weibao.accounts import rules as r
from weibao.core.files import validate_scan
from weibao.core.models import AuditedModel
from weibao.core.scoping import ScopedModel
from weibao.registry.models.jurisdiction import Jurisdiction
from weibao.registry.validators import (
    clean_identity_number,
    clean_uscc,
    mask_identity_number,
    validate_identity_number,
    validate_uscc,
)


def _today() -> date:
    return timezone.localdate()


class ExpiryState(models.TextChoices):
    VALID = "valid", _("Valid")
    EXPIRING = "expiring", _("Expiring soon")
    EXPIRED = "expired", _("Expired")


def expiry_state(expires_on: date | None, today: date | None = None) -> str:
    """valid / expiring (within settings.EXPIRING_WITHIN_DAYS) / expired; no date never expires."""
    if expires_on is None:
        return ExpiryState.VALID
    today = today or _today()
    if expires_on < today:
        return ExpiryState.EXPIRED
    if expires_on <= today + timedelta(days=settings.EXPIRING_WITHIN_DAYS):
        return ExpiryState.EXPIRING
    return ExpiryState.VALID


def expiry_state_q(state: str, field: str = "expires_on", today: date | None = None) -> Q:
    """The filter matching rows whose derived expiry state is `state` (keeps it in SQL)."""
    today = today or _today()
    soon = today + timedelta(days=settings.EXPIRING_WITHIN_DAYS)
    if state == ExpiryState.EXPIRED:
        return Q(**{f"{field}__lt": today})
    if state == ExpiryState.EXPIRING:
        return Q(**{f"{field}__gte": today, f"{field}__lte": soon})
    return Q(**{f"{field}__gt": soon}) | Q(**{f"{field}__isnull": True})


def coordinate_field(label: Any, limit: int) -> models.DecimalField[Any, Any]:
    """An optional WGS-84 latitude (limit 90) or longitude (limit 180) in decimal degrees."""
    return models.DecimalField(
        label,
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-limit), MaxValueValidator(limit)],
    )


class EnterpriseKind(models.TextChoices):
    EXPLOSIVES_PRODUCTION = "explosives_production", _("Civil-explosives production")
    EXPLOSIVES_SALE = "explosives_sale", _("Civil-explosives sale")
    BLASTING = "blasting", _("Blasting contractor")
    EXPLOSIVES_STORAGE = "explosives_storage", _("Civil-explosives storage")
    EXPLOSIVES_TRANSPORT = "explosives_transport", _("Civil-explosives transport")
    FIREWORKS_PRODUCTION = "fireworks_production", _("Fireworks production")
    FIREWORKS_WHOLESALE = "fireworks_wholesale", _("Fireworks wholesale")
    FIREWORKS_RETAIL = "fireworks_retail", _("Fireworks retail")
    PRECURSOR_CHEMICALS = "precursor_chemicals", _("Explosive-precursor chemicals")
    TOXIC_CHEMICALS = "toxic_chemicals", _("Highly toxic chemicals")


def kinds_q(kind: str, field: str = "kinds") -> Q:
    """Rows whose comma-separated kinds include `kind` (codes never contain commas)."""
    return (
        Q(**{field: kind})
        | Q(**{f"{field}__startswith": f"{kind},"})
        | Q(**{f"{field}__endswith": f",{kind}"})
        | Q(**{f"{field}__contains": f",{kind},"})
    )


class Enterprise(RulesModelMixin, AuditedModel, ScopedModel, metaclass=RulesModelBase):
    """从业单位: a licensed unit that makes, sells, stores, transports or uses regulated goods."""

    Kind = EnterpriseKind

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        REVOKED = "revoked", _("Revoked")
        CLOSED = "closed", _("Closed")

    # What a unit's own staff may edit about themselves; the rest is the regulator's.
    CONTACT_FIELDS = ("address", "phone", "latitude", "longitude")

    partner_resource = "enterprises"

    uscc = models.CharField(
        _("unified social credit code"), max_length=18, unique=True, validators=[validate_uscc]
    )
    name = models.CharField(_("name"), max_length=200, db_index=True)
    # Comma-separated EnterpriseKind codes: one column, so history shows a change of kinds as
    # one before/after pair and filters stay a single indexed-table scan on both databases.
    kinds = models.CharField(_("kinds"), max_length=300)
    jurisdiction = models.ForeignKey(
        Jurisdiction,
        verbose_name=_("jurisdiction"),
        on_delete=models.PROTECT,
        related_name="enterprises",
    )
    address = models.CharField(_("address"), max_length=300, blank=True)
    latitude = coordinate_field(_("latitude"), 90)
    longitude = coordinate_field(_("longitude"), 180)
    principal = models.CharField(_("principal"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE, db_index=True
    )
    # How much more likely a random spot-check draw picks this unit (1 = ordinary). Set by
    # regulators now; the risk assessment will feed it.
    risk_weight = models.DecimalField(
        _("spot-check weight"),
        max_digits=5,
        decimal_places=2,
        default=1,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(100)],
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["jurisdiction_id", "name"]
        rules_permissions = {
            "add": r.is_regulator | r.is_system_admin,
            "change": r.supervises_unit | r.is_staff_of_unit,
            "change_all": r.supervises_unit,
            "manage": r.supervises_unit | r.is_manager_of_unit,
            "view": r.is_authenticated,
            "import": r.is_regulator | r.is_system_admin,
            "invite": r.supervises_unit,
        }

    def __str__(self) -> str:
        return self.name

    @property
    def kind_list(self) -> list[str]:
        return [k for k in self.kinds.split(",") if k]

    def get_kinds_display(self) -> list[str]:
        labels = dict(EnterpriseKind.choices)
        return [str(labels.get(k, k)) for k in self.kind_list]

    def audit_scope_code(self) -> str:
        return self.jurisdiction_id

    @classmethod
    def extra_visibility_q(cls, user: Any) -> Q | None:
        return Q(pk=user.enterprise_id) if user.enterprise_id else None

    def clean(self) -> None:
        unknown = [k for k in self.kind_list if k not in EnterpriseKind.values]
        if not self.kind_list:
            raise ValidationError({"kinds": _("Choose at least one kind.")})
        if unknown:
            raise ValidationError(
                {"kinds": _("Unknown kind: %(kinds)s.") % {"kinds": ", ".join(unknown)}}
            )
        if self.uscc:
            try:
                self.uscc = clean_uscc(self.uscc)
            except ValidationError as exc:
                raise ValidationError({"uscc": exc.messages}) from None


class UnitOwned(RulesModelMixin, AuditedModel, ScopedModel, metaclass=RulesModelBase):
    """Base of everything a unit owns: scoped through the unit, history filed under the unit."""

    scope_lookup = "enterprise__jurisdiction__code"

    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True

    def audit_scope_code(self) -> str:
        return self.enterprise.jurisdiction_id

    @classmethod
    def extra_visibility_q(cls, user: Any) -> Q | None:
        return Q(enterprise_id=user.enterprise_id) if user.enterprise_id else None


EXPIRY_BEFORE_ISSUE = _("The expiry date must be after the issue date.")


def dates_in_order(issued_on: date | None, expires_on: date | None) -> bool:
    """A document's expiry must come after its issue (missing dates are checked elsewhere)."""
    return not (issued_on and expires_on and expires_on <= issued_on)


class ExpiringDocument:
    """Permits and certificates: a derived validity state and the issue/expiry order rule."""

    issued_on: date
    expires_on: date | None

    @property
    def state(self) -> str:
        return expiry_state(self.expires_on)

    def get_state_display(self) -> str:
        return str(ExpiryState(self.state).label)

    def clean(self) -> None:
        if not dates_in_order(self.issued_on, self.expires_on):
            raise ValidationError({"expires_on": EXPIRY_BEFORE_ISSUE})


UNIT_OWNED_PERMISSIONS = {
    "add": r.supervises_unit | r.is_manager_of_unit,
    "change": r.supervises_unit | r.is_manager_of_unit,
    "delete": r.supervises_unit | r.is_manager_of_unit,
    "view": r.is_authenticated,
}


class Permit(ExpiringDocument, UnitOwned):
    """许可证: a licence a unit holds, with its number, scope and validity."""

    class Kind(models.TextChoices):
        PRODUCTION = "production", _("Civil-explosives production permit")
        SALE = "sale", _("Civil-explosives sale permit")
        PURCHASE = "purchase", _("Civil-explosives purchase permit")
        TRANSPORT = "transport", _("Civil-explosives transport permit")
        BLASTING_UNIT = "blasting_unit", _("Blasting-unit permit")
        FIREWORKS_PRODUCTION = "fireworks_production", _("Fireworks production permit")
        FIREWORKS_WHOLESALE = "fireworks_wholesale", _("Fireworks wholesale licence")
        FIREWORKS_RETAIL = "fireworks_retail", _("Fireworks retail licence")
        PRECURSOR_FILING = "precursor_filing", _("Precursor-chemicals filing")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        ACTIVE = "active", _("In force")
        SUSPENDED = "suspended", pgettext_lazy("permit status", "Suspended")
        REVOKED = "revoked", pgettext_lazy("permit status", "Revoked")

    partner_resource = "permits"

    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="permits"
    )
    # Set by a penalty decision (enforcement): suspension until a date, or revocation.
    status = models.CharField(
        _("permit status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    suspended_until = models.DateField(_("suspended until"), null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    number = models.CharField(_("number"), max_length=100)
    scope = models.TextField(_("scope"), blank=True)
    issued_on = models.DateField(_("issued on"))
    expires_on = models.DateField(_("expires on"), db_index=True)
    attachment = models.FileField(
        _("scan"), upload_to="permits/%Y/%m/", blank=True, validators=[validate_scan]
    )

    class Meta:
        verbose_name = _("permit")
        verbose_name_plural = _("permits")
        ordering = ["enterprise_id", "kind", "expires_on"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "number"], name="permit_unique_number")
        ]
        rules_permissions = UNIT_OWNED_PERMISSIONS

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"


class Site(UnitOwned):
    """场所/库房: a magazine, workshop, office or blasting site of a unit."""

    class Kind(models.TextChoices):
        MAGAZINE = "magazine", _("Magazine")
        WORKSHOP = "workshop", _("Workshop")
        OFFICE = "office", _("Office")
        BLASTING_SITE = "blasting_site", _("Blasting site")

    partner_resource = "sites"

    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="sites"
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    address = models.CharField(_("address"), max_length=300, blank=True)
    latitude = coordinate_field(_("latitude"), 90)
    longitude = coordinate_field(_("longitude"), 180)
    capacity_kg = models.DecimalField(
        _("design capacity (kg of explosive)"),
        max_digits=12,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    capacity_detonators = models.PositiveIntegerField(
        _("design capacity (detonators)"), null=True, blank=True
    )
    security_notes = models.TextField(_("security notes"), blank=True)

    class Meta:
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        ordering = ["enterprise_id", "name"]
        rules_permissions = UNIT_OWNED_PERMISSIONS

    def __str__(self) -> str:
        return self.name


class Person(UnitOwned):
    """从业人员: someone working for a unit in a post that may require a certificate."""

    class Post(models.TextChoices):
        PRINCIPAL = "principal", _("Principal")
        SAFETY_MANAGER = "safety_manager", _("Safety manager")
        SAFETY_OFFICER = "safety_officer", _("Safety officer")
        BLASTER = "blaster", _("Blaster")
        CUSTODIAN = "custodian", _("Custodian")
        ESCORT = "escort", _("Escort")
        DRIVER = "driver", _("Driver")
        OTHER = "other", _("Other")

    partner_resource = "people"

    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="people"
    )
    name = models.CharField(_("name"), max_length=100)
    identity_number = models.CharField(
        _("identity number"), max_length=18, validators=[validate_identity_number]
    )
    post = models.CharField(_("post"), max_length=20, choices=Post.choices)
    appointed_on = models.DateField(_("appointed on"), null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    is_active = models.BooleanField(_("in post"), default=True)

    audit_redact = ("identity_number",)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["enterprise_id", "post", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["enterprise", "identity_number"], name="person_unique_per_unit"
            )
        ]
        permissions = [("view_identity_number", _("Can see identity numbers unmasked"))]
        rules_permissions = UNIT_OWNED_PERMISSIONS

    def __str__(self) -> str:
        return self.name

    @property
    def masked_identity_number(self) -> str:
        return mask_identity_number(self.identity_number)

    def clean(self) -> None:
        if self.identity_number:
            try:
                self.identity_number = clean_identity_number(self.identity_number)
            except ValidationError as exc:
                raise ValidationError({"identity_number": exc.messages}) from None


class Certificate(
    ExpiringDocument, RulesModelMixin, AuditedModel, ScopedModel, metaclass=RulesModelBase
):
    """作业证书: a certificate held by a person (blaster, custodian, safety training...)."""

    class Kind(models.TextChoices):
        SAFETY_MANAGEMENT = "safety_management", _("Safety-management qualification")
        BLASTER = "blaster", _("Blaster certificate")
        SAFETY_OFFICER = "safety_officer", _("Safety-officer certificate")
        CUSTODIAN = "custodian", _("Custodian certificate")
        ESCORT = "escort", _("Escort certificate")
        DRIVER = "driver", _("Dangerous-goods driver certificate")
        OTHER = "other", _("Other")

    scope_lookup = "person__enterprise__jurisdiction__code"
    partner_resource = "people"

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="certificates"
    )
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    number = models.CharField(_("number"), max_length=100)
    issued_on = models.DateField(_("issued on"))
    expires_on = models.DateField(_("expires on"), null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        ordering = ["person_id", "expires_on"]
        rules_permissions = UNIT_OWNED_PERMISSIONS

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    def audit_scope_code(self) -> str:
        return self.person.enterprise.jurisdiction_id

    @classmethod
    def extra_visibility_q(cls, user: Any) -> Q | None:
        return Q(person__enterprise_id=user.enterprise_id) if user.enterprise_id else None
