"""Filters of the registry lists, shared by the API and the pages (one meaning for each filter)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.utils.translation import gettext_lazy as _

from weibao.core.api.filters import BooleanFilter, FilterSet, IdFilter
from weibao.core.scoping import prefix_q
from weibao.registry.models import (
    Certificate,
    Enterprise,
    EnterpriseKind,
    ExpiryState,
    Jurisdiction,
    Permit,
    Person,
    Site,
    expiry_state_q,
    kinds_q,
)


class DivisionCodeFilter(django_filters.ModelChoiceFilter):
    """Filter by a division code; an unknown code is a 400 naming it, not an empty list."""

    def __init__(self, *args: Any, within: bool = True, **kwargs: Any) -> None:
        # within=True: the division and everything inside it (430400 → its 12 counties).
        self.within = within
        kwargs.setdefault("queryset", Jurisdiction.objects.all())
        kwargs.setdefault("to_field_name", "code")
        kwargs.setdefault(
            "error_messages",
            {"invalid_choice": _("Unknown division code %(value)s.")},
        )
        super().__init__(*args, **kwargs)

    def filter(self, qs: Any, value: Any) -> Any:
        if value in (None, "") or not self.within:
            return super().filter(qs, value)
        return qs.filter(prefix_q(f"{self.field_name}__code", value.prefix))


class JurisdictionFilter(FilterSet):
    parent = DivisionCodeFilter(field_name="parent", within=False)
    level = django_filters.ChoiceFilter(choices=Jurisdiction.Level.choices)

    class Meta:
        model = Jurisdiction
        fields = ["level", "parent"]


class EnterpriseFilter(FilterSet):
    jurisdiction = DivisionCodeFilter(field_name="jurisdiction")
    kind = django_filters.ChoiceFilter(choices=EnterpriseKind.choices, method="filter_kind")
    status = django_filters.ChoiceFilter(choices=Enterprise.Status.choices)
    permit_state = django_filters.ChoiceFilter(
        choices=ExpiryState.choices,
        method="filter_permit_state",
        help_text="units holding at least one permit in this state",
    )

    class Meta:
        model = Enterprise
        fields = ["jurisdiction", "kind", "status", "permit_state"]

    def filter_kind(self, qs: Any, name: str, value: str) -> Any:
        return qs.filter(kinds_q(value))

    def filter_permit_state(self, qs: Any, name: str, value: str) -> Any:
        permits = Permit.objects.filter(expiry_state_q(value)).values("enterprise_id")
        return qs.filter(pk__in=permits)


class UnitOwnedFilter(FilterSet):
    enterprise = IdFilter(field_name="enterprise_id")
    jurisdiction = DivisionCodeFilter(field_name="enterprise__jurisdiction")


class PermitFilter(UnitOwnedFilter):
    kind = django_filters.ChoiceFilter(choices=Permit.Kind.choices)
    state = django_filters.ChoiceFilter(choices=ExpiryState.choices, method="filter_state")

    class Meta:
        model = Permit
        fields = ["enterprise", "jurisdiction", "kind", "state"]

    def filter_state(self, qs: Any, name: str, value: str) -> Any:
        return qs.filter(expiry_state_q(value))


class SiteFilter(UnitOwnedFilter):
    kind = django_filters.ChoiceFilter(choices=Site.Kind.choices)

    class Meta:
        model = Site
        fields = ["enterprise", "jurisdiction", "kind"]


class PersonFilter(UnitOwnedFilter):
    post = django_filters.ChoiceFilter(choices=Person.Post.choices)
    is_active = BooleanFilter()

    class Meta:
        model = Person
        fields = ["enterprise", "jurisdiction", "post", "is_active"]


class CertificateFilter(FilterSet):
    person = IdFilter(field_name="person_id")
    enterprise = IdFilter(field_name="person__enterprise_id")
    kind = django_filters.ChoiceFilter(choices=Certificate.Kind.choices)
    state = django_filters.ChoiceFilter(choices=ExpiryState.choices, method="filter_state")

    class Meta:
        model = Certificate
        fields = ["person", "enterprise", "kind", "state"]

    def filter_state(self, qs: Any, name: str, value: str) -> Any:
        return qs.filter(expiry_state_q(value))
