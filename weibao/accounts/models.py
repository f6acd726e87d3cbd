from __future__ import annotations

from functools import cached_property
from typing import ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rules.contrib.models import RulesModelBase, RulesModelMixin

from weibao.accounts import rules as r
from weibao.core.i18n import localized
from weibao.core.models import AuditedModel
from weibao.core.scoping import ScopedModel, ScopedQuerySet
from weibao.registry.models import jurisdiction_prefix


class Role(models.TextChoices):
    SYSTEM_ADMIN = "system_admin", _("System administrator")
    CITY_REGULATOR = "city_regulator", _("City regulator")
    COUNTY_REGULATOR = "county_regulator", _("County regulator / inspector")
    PARTNER_VIEWER = "partner_viewer", _("Partner-department viewer")
    UNIT_PRINCIPAL = "unit_principal", _("Unit principal")
    UNIT_SAFETY_OFFICER = "unit_safety_officer", _("Unit safety officer")
    EMPLOYEE = "employee", _("Employee")


REGULATOR_ROLES = frozenset({Role.CITY_REGULATOR, Role.COUNTY_REGULATOR})
UNIT_ROLES = frozenset({Role.UNIT_PRINCIPAL, Role.UNIT_SAFETY_OFFICER, Role.EMPLOYEE})
UNIT_MANAGER_ROLES = frozenset({Role.UNIT_PRINCIPAL, Role.UNIT_SAFETY_OFFICER})
# Choices for forms and serializers that assign unit roles (invitations).
UNIT_ROLE_CHOICES = [(role.value, role.label) for role in Role if role in UNIT_ROLES]


class Agency(RulesModelMixin, AuditedModel, ScopedModel, metaclass=RulesModelBase):
    """机关: a public-security bureau or a partner department, bound to a jurisdiction."""

    class Kind(models.TextChoices):
        CITY_BUREAU = "city_bureau", _("City public-security bureau")
        COUNTY_BUREAU = "county_bureau", _("County public-security bureau")
        ECOLOGY_ENVIRONMENT = "ecology_environment", _("Ecology and environment department")
        EMERGENCY_MANAGEMENT = "emergency_management", _("Emergency management department")

    REGULATOR_KINDS = frozenset({Kind.CITY_BUREAU, Kind.COUNTY_BUREAU})
    PARTNER_KINDS = frozenset({Kind.ECOLOGY_ENVIRONMENT, Kind.EMERGENCY_MANAGEMENT})

    partner_resource = "agencies"

    name = models.CharField(_("name (Chinese)"), max_length=150)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    jurisdiction = models.ForeignKey(
        "registry.Jurisdiction",
        verbose_name=_("jurisdiction"),
        on_delete=models.PROTECT,
        related_name="agencies",
    )
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        ordering = ["jurisdiction_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "name"], name="agency_unique_name")
        ]
        rules_permissions = {
            "add": r.is_system_admin,
            "change": r.is_system_admin,
            "delete": r.is_system_admin,
            "view": r.is_authenticated,
        }

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return localized(self.name, self.name_en)

    def audit_scope_code(self) -> str:
        return self.jurisdiction_id

    @classmethod
    def extra_visibility_q(cls, user: User) -> Q | None:
        return Q(pk=user.agency_id) if user.agency_id else None

    def clean(self) -> None:
        level = self.jurisdiction.level if self.jurisdiction_id else None
        if self.kind == self.Kind.COUNTY_BUREAU and level and level != "county":
            raise ValidationError({"jurisdiction": _("A county bureau needs a county.")})
        if self.kind == self.Kind.CITY_BUREAU and level and level != "city":
            raise ValidationError({"jurisdiction": _("A city bureau needs a city.")})


class WeibaoUserManager(UserManager.from_queryset(ScopedQuerySet)):  # type: ignore[misc]
    pass


class User(RulesModelMixin, AuditedModel, ScopedModel, AbstractUser, metaclass=RulesModelBase):
    """A person who signs in: a regulator, a partner-department officer or a unit's staff."""

    audit_exclude = ("last_login",)
    audit_redact = ("password",)
    scope_lookup: ClassVar[str] = "agency__jurisdiction__code"

    full_name = models.CharField(_("full name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    language = models.CharField(
        _("language for e-mail"),
        max_length=10,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
    )
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    agency = models.ForeignKey(
        Agency,
        verbose_name=_("agency"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    enterprise = models.ForeignKey(
        "registry.Enterprise",
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="accounts",
    )

    objects: ClassVar[WeibaoUserManager] = WeibaoUserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]
        rules_permissions = {
            "add": r.is_system_admin,
            "change": r.is_system_admin,
            "view": r.is_regulator | r.is_system_admin,
        }

    def __str__(self) -> str:
        return self.full_name or self.username

    # --- who this is ---
    @property
    def is_system_admin(self) -> bool:
        return self.is_superuser or self.role == Role.SYSTEM_ADMIN

    @property
    def is_regulator(self) -> bool:
        return self.role in REGULATOR_ROLES and self.agency_id is not None

    @property
    def is_city_regulator(self) -> bool:
        return self.role == Role.CITY_REGULATOR and self.agency_id is not None

    @property
    def is_partner(self) -> bool:
        return self.role == Role.PARTNER_VIEWER and self.agency_id is not None

    @property
    def is_unit_user(self) -> bool:
        return self.role in UNIT_ROLES and self.enterprise_id is not None

    @property
    def is_unit_manager(self) -> bool:
        """Principal or safety officer: runs the unit's registry, not just reads it."""
        return self.is_unit_user and self.role in UNIT_MANAGER_ROLES

    # --- what this person may see ---
    @cached_property
    def _grant_prefixes(self) -> dict[str, list[str]]:
        today = timezone.localdate()
        grants: dict[str, list[str]] = {}
        if self.agency_id is None:
            return grants
        rows = PartnerGrant.objects.filter(agency_id=self.agency_id, is_active=True).filter(
            Q(valid_until__isnull=True) | Q(valid_until__gte=today)
        )
        for resource, code in rows.values_list("resource", "jurisdiction_id"):
            grants.setdefault(resource, []).append(jurisdiction_prefix(code))
        return grants

    def scope_prefixes(self, resource: str | None) -> list[str] | None:
        """Jurisdiction prefixes whose rows this user may read; None means all of them."""
        if not self.is_active:
            return []
        if self.is_system_admin:
            return None
        if self.is_regulator and self.agency is not None:
            return [jurisdiction_prefix(self.agency.jurisdiction_id)]
        if self.is_partner and resource:
            return self._grant_prefixes.get(resource, [])
        return []

    @classmethod
    def extra_visibility_q(cls, user: User) -> Q | None:
        return Q(pk=user.pk)

    def audit_scope_code(self) -> str:
        return self.agency.jurisdiction_id if self.agency is not None else ""

    def clean(self) -> None:
        super().clean()
        kind = self.agency.kind if self.agency is not None else None
        if self.role in REGULATOR_ROLES and kind not in Agency.REGULATOR_KINDS:
            raise ValidationError({"agency": _("A regulator belongs to a public-security bureau.")})
        if self.role == Role.PARTNER_VIEWER and kind not in Agency.PARTNER_KINDS:
            raise ValidationError(
                {"agency": _("A partner viewer belongs to a partner department.")}
            )
        if self.role == Role.CITY_REGULATOR and kind != Agency.Kind.CITY_BUREAU:
            raise ValidationError({"agency": _("A city regulator belongs to the city bureau.")})
        if self.role == Role.COUNTY_REGULATOR and kind != Agency.Kind.COUNTY_BUREAU:
            raise ValidationError({"agency": _("A county regulator belongs to a county bureau.")})
        if self.role in UNIT_ROLES and self.enterprise_id is None:
            raise ValidationError({"enterprise": _("A unit account belongs to a unit.")})
        if self.role in UNIT_ROLES and self.agency_id is not None:
            raise ValidationError({"agency": _("A unit account does not belong to an agency.")})


class PartnerGrant(AuditedModel):
    """What a partner department may read: one resource within one jurisdiction."""

    class Resource(models.TextChoices):
        AGENCIES = "agencies", _("Agencies")
        ENTERPRISES = "enterprises", _("Units")
        PERMITS = "permits", _("Permits")
        SITES = "sites", _("Sites and magazines")
        PEOPLE = "people", _("People and certificates")

    agency = models.ForeignKey(
        Agency,
        verbose_name=_("partner department"),
        on_delete=models.CASCADE,
        related_name="grants",
        limit_choices_to={"kind__in": sorted(Agency.PARTNER_KINDS)},
    )
    resource = models.CharField(_("resource"), max_length=50, choices=Resource.choices)
    jurisdiction = models.ForeignKey(
        "registry.Jurisdiction", verbose_name=_("jurisdiction"), on_delete=models.PROTECT
    )
    is_active = models.BooleanField(_("active"), default=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    note = models.CharField(_("agreement / note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("partner grant")
        verbose_name_plural = _("partner grants")
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "resource", "jurisdiction"], name="partnergrant_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.agency} · {self.get_resource_display()} · {self.jurisdiction_id}"

    def audit_scope_code(self) -> str:
        return self.jurisdiction_id

    def clean(self) -> None:
        if self.agency_id and self.agency.kind not in Agency.PARTNER_KINDS:
            raise ValidationError({"agency": _("Grants are for partner departments only.")})


class Invitation(AuditedModel, ScopedModel):
    """An invitation for a unit's principal, safety officer or employee to open an account.

    Only a hash of the token is stored: the link is shown once to the inviting regulator and
    e-mailed to the invitee, and a database leak does not leak working links.
    """

    scope_lookup = "enterprise__jurisdiction__code"
    audit_redact = ("token_hash",)

    enterprise = models.ForeignKey(
        "registry.Enterprise",
        verbose_name=_("unit"),
        on_delete=models.CASCADE,
        related_name="invitations",
    )
    email = models.EmailField(_("e-mail"), blank=True)
    full_name = models.CharField(_("full name"), max_length=100)
    role = models.CharField(
        _("role"),
        max_length=30,
        choices=UNIT_ROLE_CHOICES,
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        User, verbose_name=_("invited by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    user = models.OneToOneField(
        User,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitation",
    )

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.full_name} · {self.get_role_display()}"

    def audit_scope_code(self) -> str:
        return self.enterprise.jurisdiction_id

    @property
    def is_usable(self) -> bool:
        return self.accepted_at is None and self.expires_at > timezone.now()
