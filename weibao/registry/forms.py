from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from weibao.accounts.models import User
from weibao.core.scoping import covers
from weibao.core.widgets import DatePicker
from weibao.registry.models import (
    Certificate,
    Enterprise,
    EnterpriseKind,
    ExpiryState,
    Jurisdiction,
    Permit,
    Person,
    Site,
)
from weibao.registry.models.units import EXPIRY_BEFORE_ISSUE, dates_in_order
from weibao.registry.validators import clean_identity_number


def jurisdiction_choices(user: User) -> list[tuple[str, str]]:
    """Counties the user supervises (a county regulator: their own; the city: all of its)."""
    counties = Jurisdiction.objects.filter(level=Jurisdiction.Level.COUNTY)
    return [(j.code, f"{j.display_name} ({j.code})") for j in counties if covers(user, j.code)]


class EnterpriseForm(forms.ModelForm[Enterprise]):
    kinds = forms.MultipleChoiceField(
        label=_("kinds"), choices=EnterpriseKind.choices, widget=forms.CheckboxSelectMultiple
    )
    jurisdiction = forms.ChoiceField(label=_("jurisdiction"))

    class Meta:
        model = Enterprise
        fields = [
            "uscc",
            "name",
            "kinds",
            "jurisdiction",
            "address",
            "latitude",
            "longitude",
            "principal",
            "phone",
            "status",
        ]

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["jurisdiction"]).choices = jurisdiction_choices(user)
        if self.instance.pk:
            self.initial["kinds"] = self.instance.kind_list
            self.initial["jurisdiction"] = self.instance.jurisdiction_id

    def clean_kinds(self) -> str:
        return ",".join(sorted(set(self.cleaned_data["kinds"])))

    def clean_jurisdiction(self) -> Jurisdiction:
        code = self.cleaned_data["jurisdiction"]
        try:
            return Jurisdiction.objects.get(code=code)
        except Jurisdiction.DoesNotExist:
            raise ValidationError(
                _("Unknown division code %(value)s."), params={"value": code}
            ) from None

    def _post_clean(self) -> None:
        # The service validates the model (full_clean) inside its transaction; validating here
        # too would only run the uniqueness query twice.
        pass

    def service_data(self) -> dict[str, Any]:
        return {f: self.cleaned_data[f] for f in self.Meta.fields if f in self.cleaned_data}


class ContactForm(forms.ModelForm[Enterprise]):
    """What a unit's own staff may change about their unit."""

    class Meta:
        model = Enterprise
        fields = list(Enterprise.CONTACT_FIELDS)

    def _post_clean(self) -> None:
        pass

    def service_data(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class EnterpriseFilterForm(forms.Form):
    # Named like the API's parameter so the page's export link carries every filter over.
    search = forms.CharField(label=_("Search"), required=False, max_length=100)
    jurisdiction = forms.ChoiceField(label=_("County"), required=False)
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("All kinds")), *EnterpriseKind.choices]
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *Enterprise.Status.choices],
    )
    permit_state = forms.ChoiceField(
        label=_("Permits"),
        required=False,
        choices=[("", _("Any permit state")), *ExpiryState.choices],
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["jurisdiction"]).choices = [
            ("", _("All counties")),
            *jurisdiction_choices(user),
        ]


class ServiceForm(forms.ModelForm):  # type: ignore[type-arg]
    """A ModelForm whose model validation happens in the service, inside its transaction."""

    def _post_clean(self) -> None:
        pass

    def service_data(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class _DatedForm(ServiceForm):
    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not dates_in_order(data.get("issued_on"), data.get("expires_on")):
            self.add_error("expires_on", EXPIRY_BEFORE_ISSUE)
        return data


class PermitForm(_DatedForm):
    class Meta:
        model = Permit
        fields = ["kind", "number", "scope", "issued_on", "expires_on", "attachment"]
        widgets = {
            "issued_on": DatePicker(),
            "expires_on": DatePicker(),
            "scope": forms.Textarea(attrs={"rows": 2}),
        }


class SiteForm(ServiceForm):
    class Meta:
        model = Site
        fields = [
            "name",
            "kind",
            "address",
            "latitude",
            "longitude",
            "capacity_kg",
            "capacity_detonators",
            "security_notes",
        ]
        widgets = {"security_notes": forms.Textarea(attrs={"rows": 2})}


class PersonForm(ServiceForm):
    class Meta:
        model = Person
        fields = ["name", "identity_number", "post", "appointed_on", "phone", "is_active"]
        widgets = {"appointed_on": DatePicker()}

    def clean_identity_number(self) -> str:
        return clean_identity_number(self.cleaned_data["identity_number"])


class CertificateForm(_DatedForm):
    class Meta:
        model = Certificate
        fields = ["kind", "number", "issued_on", "expires_on"]
        widgets = {
            "issued_on": DatePicker(),
            "expires_on": DatePicker(),
        }
