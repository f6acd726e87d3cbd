"""The one row-level access mechanism: `Model.objects.visible_to(user)`.

A user's reach is a set of jurisdiction-code prefixes (GB/T 2260 codes nest: 43 ⊃ 4304 ⊃ 430405),
decided once on the user (`User.scope_prefixes`). A scoped model says where its jurisdiction code
lives (`scope_lookup`) and, for partner departments, which grantable resource it is
(`partner_resource`). Pages, API, exports and jobs all filter through here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Self

from django.db import models
from django.db.models import Q

if TYPE_CHECKING:
    from weibao.accounts.models import User

NOTHING = Q(pk__in=[])


def prefix_q(lookup: str, prefix: str) -> Q:
    """Rows whose division code at `lookup` starts with `prefix`, written as a range
    (code >= "430405" AND code < "430406") rather than LIKE: both SQLite and PostgreSQL (in any
    collation) answer a range from the index, so a county's rows are found without a scan."""
    if not prefix:
        return Q()
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return Q(**{f"{lookup}__gte": prefix, f"{lookup}__lt": upper})


def covers(user: Any, code: str) -> bool:
    """Whether a division code lies inside the jurisdiction a regulator supervises."""
    if user.is_system_admin:
        return True
    if not user.is_regulator:
        return False
    return any(code.startswith(prefix) for prefix in user.scope_prefixes(None) or [])


class ScopedQuerySet(models.QuerySet[Any]):
    def visible_to(self, user: Any) -> Self:
        if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        q = self.model.visibility_q(user)
        return self.all() if q is None else self.filter(q)


class ScopedModel(models.Model):
    # Lookup path (without a lookup suffix) to the 6-digit division code that places a row.
    scope_lookup: ClassVar[str] = "jurisdiction__code"
    # Name partner-department grants use for this kind of row; None: partners never see it.
    partner_resource: ClassVar[str | None] = None

    objects = ScopedQuerySet.as_manager()

    class Meta:
        abstract = True

    @classmethod
    def get_perm(cls, perm_type: str) -> str:
        """Permission name for an action ("view" → "core.view_auditentry"), as rules expects."""
        return f"{cls._meta.app_label}.{perm_type}_{cls._meta.model_name}"

    @classmethod
    def visibility_q(cls, user: User) -> Q | None:
        """None means "every row"; otherwise the filter a user's rows must satisfy."""
        prefixes = user.scope_prefixes(cls.partner_resource)
        if prefixes is None:
            return None
        q = NOTHING
        for prefix in prefixes:
            q |= prefix_q(cls.scope_lookup, prefix)
        extra = cls.extra_visibility_q(user)
        return q | extra if extra is not None else q

    @classmethod
    def extra_visibility_q(cls, user: User) -> Q | None:
        """Rows a user sees beyond their jurisdictions (their own agency, their own unit)."""
        return None
