"""Writes for the ledger: keyword-only, one transaction each; history is recorded by the models.

Firing side: devices (registered by the unit's principal or safety officer, or a regulator
supervising the unit; blacklisted and cleared by regulators), blasting projects (a blasting
contractor's managers), forbidden zones and the chip-UID blacklist (regulators). The API and the
pages call these same functions.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from weibao.accounts.models import User
from weibao.core.errors import DomainError, ServiceValidationError, clean_and_save
from weibao.core.scoping import covers
from weibao.ledger.authentication import token_hash
from weibao.ledger.models import BlacklistedUid, BlastingProject, Device, ForbiddenZone
from weibao.registry.models import Enterprise, EnterpriseKind

_save = clean_and_save


def _supervises(actor: User, unit: Enterprise) -> bool:
    return actor.is_system_admin or covers(actor, unit.jurisdiction_id)


def _manages(actor: User, unit: Enterprise) -> bool:
    return actor.is_unit_manager and actor.enterprise_id == unit.pk


def _require_blasting(unit: Enterprise) -> None:
    if EnterpriseKind.BLASTING not in unit.kind_list:
        raise ServiceValidationError(
            {"enterprise": [_("Only a blasting contractor has firing devices and projects.")]}
        )


# --- devices ----------------------------------------------------------------------------------
@transaction.atomic
def device_register(*, actor: User, enterprise: Enterprise, device_id: str) -> tuple[Device, str]:
    """Register a firing device to a unit. Returns the device and its token: the token is shown
    this once (only its SHA-256 is kept)."""
    if not (_manages(actor, enterprise) or _supervises(actor, enterprise)):
        raise PermissionDenied(
            _(
                "Only the unit's principal or safety officer, or a regulator supervising it, "
                "registers its firing devices."
            )
        )
    _require_blasting(enterprise)
    taken = {"device_id": [_("A device with this id is already registered.")]}
    if Device.objects.filter(device_id=device_id).exists():
        raise ServiceValidationError(taken)
    token = secrets.token_urlsafe(32)
    device = Device(enterprise=enterprise, device_id=device_id, token_hash=token_hash(token))
    device.full_clean(validate_unique=False)
    try:
        device.save()
    except IntegrityError:  # registered by a concurrent request since the check above
        raise ServiceValidationError(taken) from None
    return device, token


def _require_regulator(actor: User, device: Device) -> None:
    if not _supervises(actor, device.enterprise):
        raise PermissionDenied(_("Only a regulator supervising the unit blacklists its devices."))


@transaction.atomic
def device_blacklist(*, actor: User, device: Device, reason: str) -> Device:
    """Refuse every authorization from the device from now on (it is told so, signed)."""
    _require_regulator(actor, device)
    device = Device.objects.select_for_update().select_related("enterprise").get(pk=device.pk)
    if device.blacklisted:
        raise DomainError(
            _("The device is already blacklisted."), allowed=["unblacklist"], blacklisted=True
        )
    device.blacklisted = True
    device.blacklist_reason = reason
    _save(device)
    return device


@transaction.atomic
def device_unblacklist(*, actor: User, device: Device, reason: str) -> Device:
    """Lift the blacklisting. The reason for lifting replaces the reason for blacklisting; the
    audit trail keeps both."""
    _require_regulator(actor, device)
    device = Device.objects.select_for_update().select_related("enterprise").get(pk=device.pk)
    if not device.blacklisted:
        raise DomainError(
            _("The device is not blacklisted."), allowed=["blacklist"], blacklisted=False
        )
    device.blacklisted = False
    device.blacklist_reason = reason
    _save(device)
    return device


# --- blasting projects ------------------------------------------------------------------------
def _require_project_owner(actor: User, unit: Enterprise) -> None:
    if not _manages(actor, unit):
        raise PermissionDenied(
            _("Only the blasting contractor's principal or safety officer keeps its projects.")
        )


def _check_window(starts_at: Any, ends_at: Any) -> None:
    if starts_at is not None and ends_at is not None and starts_at >= ends_at:
        raise ServiceValidationError({"ends_at": [_("The end must be after the start.")]})


@transaction.atomic
def project_create(*, actor: User, data: dict[str, Any]) -> BlastingProject:
    """A blasting project of the actor's own unit (a blasting contractor)."""
    unit = actor.enterprise
    if unit is None:
        raise PermissionDenied(
            _("Only the blasting contractor's principal or safety officer keeps its projects.")
        )
    _require_project_owner(actor, unit)
    _require_blasting(unit)
    _check_window(data.get("starts_at"), data.get("ends_at"))
    if BlastingProject.objects.filter(code=data["code"]).exists():
        raise ServiceValidationError({"code": [_("A project with this code already exists.")]})
    project = BlastingProject(enterprise=unit, **data)
    _save(project)
    return project


@transaction.atomic
def project_update(
    *, actor: User, project: BlastingProject, data: dict[str, Any]
) -> BlastingProject:
    """Change a project's name, zone or window. Its code is what ingest and devices refer to:
    it does not change."""
    _require_project_owner(actor, project.enterprise)
    if "code" in data and data["code"] != project.code:
        raise ServiceValidationError({"code": [_("A project's code cannot change.")]})
    data = {k: v for k, v in data.items() if k != "code"}
    _check_window(data.get("starts_at", project.starts_at), data.get("ends_at", project.ends_at))
    for name, value in data.items():
        setattr(project, name, value)
    _save(project)
    return project


# --- forbidden zones --------------------------------------------------------------------------
def _require_zone_jurisdiction(actor: User, code: str) -> None:
    if not (actor.is_regulator or actor.is_system_admin):
        raise PermissionDenied(_("Only regulators keep forbidden zones."))
    if not covers(actor, code):
        raise ServiceValidationError(
            {
                "jurisdiction": [
                    _("Division %(code)s is outside your jurisdiction.") % {"code": code}
                ]
            }
        )


@transaction.atomic
def zone_create(*, actor: User, data: dict[str, Any]) -> ForbiddenZone:
    zone = ForbiddenZone(**data)
    _require_zone_jurisdiction(actor, zone.jurisdiction_id)
    _check_window(zone.starts_at, zone.ends_at)
    _save(zone)
    return zone


@transaction.atomic
def zone_update(*, actor: User, zone: ForbiddenZone, data: dict[str, Any]) -> ForbiddenZone:
    """The actor must supervise the zone's jurisdiction before and after the change."""
    _require_zone_jurisdiction(actor, zone.jurisdiction_id)
    for name, value in data.items():
        setattr(zone, name, value)
    _require_zone_jurisdiction(actor, zone.jurisdiction_id)
    _check_window(zone.starts_at, zone.ends_at)
    _save(zone)
    return zone


# --- chip UID blacklist -----------------------------------------------------------------------
@transaction.atomic
def uid_blacklist(*, actor: User, uid: str, reason: str) -> BlacklistedUid:
    """Put a chip UID on the national blacklist (recalled, reported stolen): it never gets a
    work code again."""
    if not (actor.is_regulator or actor.is_system_admin):
        raise PermissionDenied(_("Only regulators blacklist chip UIDs."))
    taken = {"uid": [_("This chip UID is already blacklisted.")]}
    if BlacklistedUid.objects.filter(uid=uid).exists():
        raise ServiceValidationError(taken)
    entry = BlacklistedUid(uid=uid, reason=reason)
    entry.full_clean(validate_unique=False)
    try:
        entry.save()
    except IntegrityError:
        raise ServiceValidationError(taken) from None
    return entry
