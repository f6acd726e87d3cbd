"""Writes of what units and bureaus declare to the ledger, beside the events: a magazine's daily
count (日清, compared with its books: `count_mismatch`) and a purchase permit's allowance per
product (purchases above it: `over_permit`). Keyword-only, one transaction each; history is
recorded by the models (AuditedModel.save, row by row: never bulk). The API and the pages call
these same functions.

Who: a count is the unit's statement about its own magazine, so only its principal or safety
officer declares it (regulators read it; no one declares for another unit). An allowance is the
bureau's decision (purchase permits are issued by the county public-security bureau), so only a
regulator supervising the permit's unit, or an administrator, sets it; the unit reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from weibao.accounts.models import User
from weibao.core.errors import ServiceValidationError, clean_and_save
from weibao.core.scoping import covers
from weibao.ledger.models import DETONATORS, MagazineCount, PermitAllowance, ProductKind
from weibao.registry.models import Permit, Site

# One request declares at most this many counts (a unit's magazines × products × a few days).
MAX_COUNTS = 500
# A unit declares the days of the last year (a leap year and a day fit), never before 2000.
MAX_AGE_DAYS = 366
EARLIEST_DAY = date(2000, 1, 1)


# --- who -------------------------------------------------------------------------------------
def may_declare(user: Any, site: Site) -> bool:
    """The principal or safety officer of the magazine's own unit."""
    return bool(
        getattr(user, "is_authenticated", False)
        and user.is_unit_manager
        and user.enterprise_id == site.enterprise_id
    )


def require_declarer(actor: User) -> None:
    """Refuse (403) whoever may not declare any count."""
    if actor.is_regulator:
        raise PermissionDenied(_("Regulators read declared counts; the unit declares them."))
    if not actor.is_unit_manager:
        raise PermissionDenied(
            _("A magazine's daily count is declared by its unit's principal or safety officer.")
        )


def may_keep_allowances(user: Any, permit: Permit) -> bool:
    """A regulator supervising the permit's unit, or an administrator."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_system_admin:
        return True
    return bool(user.is_regulator and covers(user, permit.enterprise.jurisdiction_id))


def _keepers_only() -> PermissionDenied:
    return PermissionDenied(_("Only the bureau supervising the permit's unit sets its allowances."))


def require_allowance_role(actor: User) -> None:
    """Refuse (403) whoever may set no allowance at all (units, partners)."""
    if not (actor.is_regulator or actor.is_system_admin):
        raise _keepers_only()


def _require_keeper(actor: User, permit: Permit) -> None:
    if not may_keep_allowances(actor, permit):
        raise _keepers_only()


# --- quantities ------------------------------------------------------------------------------
def quantity_errors(product: str, quantity: Decimal, *, positive: bool) -> list[str]:
    """What is wrong with a quantity of `product`: below zero (or zero, when it must be
    positive), or a fraction of a detonator (they are counted in whole pieces)."""
    if positive and quantity <= 0:
        return [_("The quantity must be more than 0.")]
    if quantity < 0:
        return [_("The quantity cannot be negative.")]
    if product in DETONATORS and quantity != quantity.to_integral_value():
        return [_("Detonators are counted in whole pieces.")]
    return []


def earliest_day(today: date) -> date:
    return max(EARLIEST_DAY, today - timedelta(days=MAX_AGE_DAYS))


def _field_errors(exc: ValidationError) -> dict[str, list[str]]:
    return {name: [str(m) for m in messages] for name, messages in exc.message_dict.items()}


# --- declared counts -------------------------------------------------------------------------
@dataclass(frozen=True)
class CountEntry:
    """One declared count as sent: the magazine's id, the local day, the product, how much."""

    site: int
    day: date
    product: str
    quantity: Decimal


@dataclass
class Declared:
    counts: list[MagazineCount] = field(default_factory=list)
    created: int = 0  # the others corrected an earlier declaration

    @property
    def corrected(self) -> int:
        return len(self.counts) - self.created


@transaction.atomic
def counts_declare(
    *, actor: User, entries: Sequence[CountEntry], numbered: bool = True
) -> Declared:
    """Declare the counts of the actor's unit's magazines, all or none. A count already declared
    for the same magazine, day and product is replaced (a correction; the audit trail keeps the
    earlier one); each records who declared it and when.

    Errors name each entry as `[i].field` (0-based, in the order sent), or the plain field with
    `numbered=False` (one entry)."""
    require_declarer(actor)
    if not entries:
        raise ServiceValidationError({"non_field_errors": [_("Declare at least one count.")]})
    if len(entries) > MAX_COUNTS:
        raise ServiceValidationError(
            {
                "non_field_errors": [
                    _("Declare at most %(limit)d counts at a time.") % {"limit": MAX_COUNTS}
                ]
            }
        )
    today = timezone.localdate()
    earliest = earliest_day(today)
    site_ids = {e.site for e in entries}
    # Another unit's site reads as unknown: its existence is not revealed.
    sites = {
        site.pk: site
        for site in Site.objects.filter(
            pk__in=site_ids, enterprise_id=cast(int, actor.enterprise_id)
        ).select_related("enterprise")
    }
    existing = {
        (c.site_id, c.day, c.product): c
        for c in MagazineCount.objects.select_for_update().filter(
            site_id__in=list(sites),
            day__in={e.day for e in entries},
            product__in={e.product for e in entries},
        )
    }
    errors: dict[str, list[str]] = {}

    bad: set[int] = set()

    def add(index: int, name: str, messages: list[str]) -> None:
        if messages:
            bad.add(index)
            errors.setdefault(f"[{index}].{name}" if numbered else name, []).extend(messages)

    first_at: dict[tuple[int, date, str], int] = {}
    ready: list[tuple[MagazineCount, bool]] = []
    now = timezone.now()
    for index, entry in enumerate(entries):
        site = sites.get(entry.site)
        if site is None:
            add(index, "site", [_("Not a magazine of your unit.")])
        elif site.kind != Site.Kind.MAGAZINE:
            add(index, "site", [_("This site is not a magazine: only magazines declare counts.")])
        if entry.day > today:
            add(index, "day", [_("The day cannot be in the future.")])
        elif entry.day < earliest:
            add(
                index,
                "day",
                [
                    _("Declare a day from %(earliest)s to today.")
                    % {"earliest": earliest.isoformat()}
                ],
            )
        if entry.product not in ProductKind.values:
            add(index, "product", [_("Unknown product.")])
        else:
            add(index, "quantity", quantity_errors(entry.product, entry.quantity, positive=False))
        key = (entry.site, entry.day, entry.product)
        if key in first_at:
            add(
                index,
                "product",
                [
                    _("Entry [%(first)d] already declares this magazine, day and product.")
                    % {"first": first_at[key]}
                ],
            )
        first_at.setdefault(key, index)
        if site is None or index in bad:
            continue
        count = existing.get(key)
        created = count is None
        if count is None:
            count = MagazineCount(day=entry.day, product=entry.product)
        count.site = site  # the loaded magazine, with its unit: the audit entry reads it
        count.quantity = entry.quantity
        count.recorded_at = now
        count.declared_by = actor
        try:
            # The foreign keys were checked above and the key is unique by the lookup: no
            # query per entry here.
            count.full_clean(
                exclude=["site", "declared_by"], validate_unique=False, validate_constraints=False
            )
        except ValidationError as exc:
            for name, messages in _field_errors(exc).items():
                add(index, name, messages)
            continue
        ready.append((count, created))
    if errors:
        raise ServiceValidationError(errors)
    result = Declared()
    for count, created in ready:
        try:
            count.save()
        except IntegrityError:  # declared by a concurrent request since the lookup above
            raise ServiceValidationError(
                {
                    "non_field_errors": [
                        _("Someone declared the same count at the same moment; send it again.")
                    ]
                }
            ) from None
        result.counts.append(count)
        result.created += created
    return result


# --- permit allowances -----------------------------------------------------------------------
def _require_purchase(permit: Permit) -> None:
    if permit.kind != Permit.Kind.PURCHASE:
        raise ServiceValidationError({"permit": [_("Allowances belong to purchase permits only.")]})


def _allowance_taken() -> ServiceValidationError:
    return ServiceValidationError(
        {"product": [_("The permit already has an allowance for this product; change it.")]}
    )


def _checked_quantity(product: str, quantity: Decimal) -> None:
    problems = quantity_errors(product, quantity, positive=True)
    if problems:
        raise ServiceValidationError({"quantity": problems})


def _save_allowance(allowance: PermitAllowance) -> None:
    try:
        with transaction.atomic():
            clean_and_save(allowance)
    except IntegrityError:  # set by a concurrent request since the check
        raise _allowance_taken() from None


@transaction.atomic
def allowance_create(
    *, actor: User, permit: Permit, product: str, quantity: Decimal
) -> PermitAllowance:
    """How much of a product a purchase permit allows (purchases above it are `over_permit`)."""
    _require_keeper(actor, permit)
    _require_purchase(permit)
    _checked_quantity(product, quantity)
    if PermitAllowance.objects.filter(permit=permit, product=product).exists():
        raise _allowance_taken()
    allowance = PermitAllowance(permit=permit, product=product, quantity=quantity)
    _save_allowance(allowance)
    return allowance


@transaction.atomic
def allowance_update(
    *,
    actor: User,
    allowance: PermitAllowance,
    product: str | None = None,
    quantity: Decimal | None = None,
) -> PermitAllowance:
    """Change an allowance's quantity (or its product); its permit does not change."""
    allowance = (
        PermitAllowance.objects.select_for_update()
        .select_related("permit__enterprise")
        .get(pk=allowance.pk)
    )
    _require_keeper(actor, allowance.permit)
    new_product = product if product is not None else allowance.product
    new_quantity = quantity if quantity is not None else allowance.quantity
    _checked_quantity(new_product, new_quantity)
    if (
        new_product != allowance.product
        and PermitAllowance.objects.filter(permit=allowance.permit, product=new_product).exists()
    ):
        raise _allowance_taken()
    allowance.product = new_product
    allowance.quantity = new_quantity
    _save_allowance(allowance)
    return allowance


@transaction.atomic
def allowance_delete(*, actor: User, allowance: PermitAllowance) -> None:
    """Remove an allowance (the audit trail keeps it). A permit left without any allowance is no
    longer checked for purchases above it."""
    allowance = PermitAllowance.objects.select_related("permit__enterprise").get(pk=allowance.pk)
    _require_keeper(actor, allowance.permit)
    allowance.delete()
