"""Writes for the registry: keyword-only, one transaction each; history is recorded by the models.

Pages, the API and imports all create and change registry rows through these functions.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Model
from django.utils.translation import gettext as _

from weibao.accounts.models import User
from weibao.core.errors import ServiceValidationError
from weibao.core.files import validate_scan
from weibao.core.scoping import covers
from weibao.registry.models import Certificate, Enterprise, Permit, Person, Site


def _check_jurisdiction(actor: User, code: str) -> None:
    if not covers(actor, code):
        raise ServiceValidationError(
            {
                "jurisdiction": [
                    _("Division %(code)s is outside your jurisdiction.") % {"code": code}
                ]
            }
        )


def _save(obj: Model) -> None:
    obj.full_clean()
    obj.save()


def _apply(obj: Model, data: dict[str, Any]) -> None:
    for field, value in data.items():
        setattr(obj, field, value)


@transaction.atomic
def enterprise_create(*, actor: User, data: dict[str, Any]) -> Enterprise:
    enterprise = Enterprise(**data)
    _check_jurisdiction(actor, enterprise.jurisdiction_id)
    _save(enterprise)
    return enterprise


@transaction.atomic
def enterprise_update(*, actor: User, enterprise: Enterprise, data: dict[str, Any]) -> Enterprise:
    if not actor.has_perm("registry.change_enterprise", enterprise):
        raise PermissionDenied(_("You may not change this unit."))
    if not actor.has_perm("registry.change_all_enterprise", enterprise):
        locked = sorted(set(data) - set(Enterprise.CONTACT_FIELDS))
        if locked:
            raise PermissionDenied(
                _("A unit may change only its contact data, not: %(fields)s.")
                % {"fields": ", ".join(locked)}
            )
    if "jurisdiction" in data and data["jurisdiction"].pk != enterprise.jurisdiction_id:
        _check_jurisdiction(actor, data["jurisdiction"].pk)
    _apply(enterprise, data)
    _save(enterprise)
    return enterprise


def _check_unit(actor: User, enterprise: Enterprise) -> None:
    if not actor.has_perm("registry.manage_enterprise", enterprise):
        raise PermissionDenied(_("You may not change this unit's registry."))


Owned = TypeVar("Owned", Permit, Site, Person, Certificate)


def _owner(obj: Permit | Site | Person | Certificate) -> Enterprise:
    return obj.person.enterprise if isinstance(obj, Certificate) else obj.enterprise


def _write(actor: User, obj: Owned, changes: dict[str, Any] | None = None) -> Owned:
    """Save a unit's permit, site, person or certificate. On an update the actor must manage
    the unit it belongs to before and after the change (moving it is no way around that)."""
    if changes is not None:
        _check_unit(actor, _owner(obj))
        _apply(obj, changes)
    _check_unit(actor, _owner(obj))
    _save(obj)
    return obj


@transaction.atomic
def permit_create(*, actor: User, data: dict[str, Any]) -> Permit:
    return _write(actor, Permit(**data))


@transaction.atomic
def permit_update(*, actor: User, permit: Permit, data: dict[str, Any]) -> Permit:
    return _write(actor, permit, data)


@transaction.atomic
def site_create(*, actor: User, data: dict[str, Any]) -> Site:
    return _write(actor, Site(**data))


@transaction.atomic
def site_update(*, actor: User, site: Site, data: dict[str, Any]) -> Site:
    return _write(actor, site, data)


@transaction.atomic
def person_create(
    *, actor: User, data: dict[str, Any], certificates: list[dict[str, Any]] | None = None
) -> Person:
    person = _write(actor, Person(**data))
    for cert in certificates or []:
        _save(Certificate(person=person, **cert))
    return person


@transaction.atomic
def person_update(*, actor: User, person: Person, data: dict[str, Any]) -> Person:
    return _write(actor, person, data)


@transaction.atomic
def certificate_create(*, actor: User, data: dict[str, Any]) -> Certificate:
    return _write(actor, Certificate(**data))


@transaction.atomic
def certificate_update(
    *, actor: User, certificate: Certificate, data: dict[str, Any]
) -> Certificate:
    return _write(actor, certificate, data)


@transaction.atomic
def permit_attach(*, actor: User, permit: Permit, upload: Any) -> Permit:
    _check_unit(actor, permit.enterprise)
    validate_scan(upload)
    permit.attachment.save(upload.name, upload, save=False)
    permit.save()
    return permit
