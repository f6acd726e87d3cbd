from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from weibao.accounts.models import User
from weibao.core.scoping import covers
from weibao.registry.models import Enterprise, EnterpriseKind, ExpiryState, Jurisdiction


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
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
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
