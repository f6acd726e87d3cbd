from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from weibao.accounts import services


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
            except services.ServiceValidationError as exc:
                raise forms.ValidationError(exc.message_dict["__all__"]) from None
        return self.cleaned_data
