"""Checklists (检查表): the shipped defaults, choosing one for a unit, publishing a new version.

The defaults live in data/checklists.json because the law behind them changes (domain.md: keep
such rules in data); the migration loads them once and later changes are new versions.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from weibao.accounts.models import User
from weibao.core.errors import ServiceValidationError
from weibao.hazards.choices import HazardCategory, HazardLevel
from weibao.inspections.models import Checklist, ChecklistItem, split_codes
from weibao.registry.models import Enterprise, EnterpriseKind, kinds_q

DATA = Path(__file__).resolve().parent / "data" / "checklists.json"

ITEM_FIELDS = ("text", "text_en", "category", "legal_basis", "hazard_level")


@lru_cache(maxsize=1)
def default_data() -> dict[str, Any]:
    """The shipped checklists file as parsed JSON (read once per process)."""
    data: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    return data


def load_default_checklists(checklist_model: Any, item_model: Any) -> int:
    """Create version 1 of every shipped checklist whose code does not exist yet.

    Takes the models as arguments so the data migration can pass its historical models; an
    existing code is left alone, so an administrator's later versions are never overwritten.
    Returns how many checklists were created.
    """
    created = 0
    for row in default_data()["checklists"]:
        if checklist_model.objects.filter(code=row["code"]).exists():
            continue
        checklist = checklist_model.objects.create(
            code=row["code"],
            version=1,
            title=row["title"],
            title_en=row["title_en"],
            kinds=",".join(row["kinds"]),
            description=row.get("description", ""),
            is_current=True,
        )
        item_model.objects.bulk_create(
            item_model(
                checklist=checklist,
                position=item["position"],
                **{field: item.get(field, "") for field in ITEM_FIELDS},
            )
            for item in row["items"]
        )
        created += 1
    return created


def current_checklist_for(enterprise: Enterprise) -> Checklist | None:
    """The current checklist that fits the unit's kinds best.

    Most kinds in common wins; between equals, the narrower list (fewer kinds the unit does not
    have) is the more specific one; then the code, so the choice is stable.
    """
    kinds = set(enterprise.kind_list)
    if not kinds:
        return None
    overlapping = Q(pk__in=[])
    for kind in kinds:
        overlapping |= kinds_q(kind)
    candidates: list[Checklist] = list(Checklist.objects.filter(overlapping, is_current=True))
    if not candidates:
        return None

    def rank(checklist: Checklist) -> tuple[int, int, str]:
        own = set(checklist.kind_list)
        return (-len(own & kinds), len(own - kinds), checklist.code)

    return min(candidates, key=rank)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _kinds(value: Any) -> list[str]:
    if isinstance(value, str):
        return split_codes(value)
    if isinstance(value, list | tuple):
        return [str(k) for k in value]
    return []


def _validate(data: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    code = _text(data.get("code"))
    try:
        validate_slug(code)
    except ValidationError:
        errors["code"] = [_("Enter a code of letters, digits, hyphens or underscores.")]
    if len(code) > 60:
        errors["code"] = [_("The code has at most 60 characters.")]
    for field in ("title", "title_en"):
        title = _text(data.get(field))
        if not title:
            errors[field] = [_("This field is required.")]
        elif len(title) > 200:
            errors[field] = [_("The title has at most 200 characters.")]
    kinds = _kinds(data.get("kinds"))
    unknown = [k for k in kinds if k not in EnterpriseKind.values]
    if not kinds:
        errors["kinds"] = [_("Choose at least one unit kind.")]
    elif unknown:
        errors["kinds"] = [_("Unknown kind: %(kinds)s.") % {"kinds": ", ".join(unknown)}]
    if not items:
        errors["items"] = [_("A checklist needs at least one item.")]
    for index, item in enumerate(items):
        errors.update(_validate_item(index, item))
    return errors


def _validate_item(index: int, item: Any) -> dict[str, list[str]]:
    # Keys name the item as the request's array does (items[0] is the first).
    def key(field: str) -> str:
        return f"items[{index}].{field}" if field else f"items[{index}]"

    if not isinstance(item, dict):
        return {key(""): [_("Each item must be an object.")]}
    errors: dict[str, list[str]] = {}
    position = item.get("position")
    if position is not None and position != index + 1:
        errors[key("position")] = [
            _("Positions run 1, 2, 3… in the order given: this item is number %(n)s.")
            % {"n": index + 1}
        ]
    if not _text(item.get("text")):
        errors[key("text")] = [_("Enter the item's text in Chinese.")]
    if not _text(item.get("text_en")):
        errors[key("text_en")] = [_("Enter the item's text in English.")]
    if item.get("category") not in HazardCategory.values:
        errors[key("category")] = [_("Choose a known hazard category.")]
    if item.get("hazard_level") not in HazardLevel.values:
        errors[key("hazard_level")] = [_("Choose the hazard level if the item fails.")]
    legal_basis = item.get("legal_basis") or ""
    if not isinstance(legal_basis, str) or len(legal_basis) > 300:
        errors[key("legal_basis")] = [_("The legal basis is text of at most 300 characters.")]
    return errors


@transaction.atomic
def checklist_publish(
    *, actor: User, data: dict[str, Any], items: list[dict[str, Any]]
) -> Checklist:
    """Publish a checklist: version 1 of a new code, or the next version of an existing one.

    The new version becomes the current one; earlier versions stay exactly as they were (only
    their `is_current` flag drops), because inspections made with them point at them.
    """
    if not actor.has_perm("inspections.add_checklist"):
        raise PermissionDenied(_("Only the city bureau or an administrator publishes checklists."))
    errors = _validate(data, items)
    if errors:
        raise ServiceValidationError(errors)
    code = _text(data["code"])
    # Locks this code's versions (PostgreSQL) so two publishers cannot take the same number.
    versions = list(
        Checklist.objects.select_for_update().filter(code=code).values_list("version", flat=True)
    )
    Checklist.objects.filter(code=code, is_current=True).update(is_current=False)
    checklist = Checklist(
        code=code,
        version=max(versions, default=0) + 1,
        title=_text(data["title"]),
        title_en=_text(data["title_en"]),
        kinds=",".join(dict.fromkeys(_kinds(data["kinds"]))),
        description=_text(data.get("description")),
        is_current=True,
        created_by=actor,
    )
    try:
        checklist.full_clean()
        checklist.save()
    except ValidationError as exc:
        raise ServiceValidationError(exc.message_dict) from None
    except IntegrityError:
        # A first version published at the same moment by someone else (nothing to lock yet).
        raise ServiceValidationError(
            {"code": [_("Another version of this checklist was just published; try again.")]}
        ) from None
    for position, item in enumerate(items, start=1):
        ChecklistItem.objects.create(
            checklist=checklist,
            position=position,
            text=_text(item["text"]),
            text_en=_text(item["text_en"]),
            category=item["category"],
            legal_basis=_text(item.get("legal_basis")),
            hazard_level=item["hazard_level"],
        )
    return checklist
