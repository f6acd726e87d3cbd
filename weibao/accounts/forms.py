from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.utils.translation import gettext_lazy as _

from weibao.accounts import services
from weibao.accounts.models import UNIT_ROLE_CHOICES
from weibao.core.errors import ServiceValidationError


class LoginForm(AuthenticationForm):
    """Django's sign-in form, with throttling through the same service as the token endpoint."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        password = self.cleaned_data.get("password") or ""
        if username and password:
            assert self.request is not None, "LoginView always passes the request"
            try:
                self.user_cache = services.user_authenticate(
                    request=self.request, username=username, password=password
                )
            except ServiceValidationError as exc:
                raise forms.ValidationError(exc.message_dict["__all__"]) from None
        return self.cleaned_data


class InvitationForm(forms.Form):
    full_name = forms.CharField(label=_("full name"), max_length=100)
    role = forms.ChoiceField(label=_("role"), choices=UNIT_ROLE_CHOICES)
    email = forms.EmailField(
        label=_("e-mail"),
        required=False,
        help_text=_("If given, the link is also sent by e-mail."),
    )


class AcceptInvitationForm(forms.Form):
    username = forms.CharField(
        label=_("User name"), max_length=150, validators=[UnicodeUsernameValidator()]
    )
    password1 = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label=_("Password again"), widget=forms.PasswordInput, strip=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return data
