from __future__ import annotations

from typing import cast

from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy

from weibao.accounts import selectors, services
from weibao.accounts.forms import AcceptInvitationForm, InvitationForm, LoginForm
from weibao.accounts.models import Agency, User
from weibao.registry.models import Jurisdiction


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("password-change-done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


@login_required
def home(request: HttpRequest) -> HttpResponse:
    from weibao.enforcement.selectors import cases_due

    user = cast(User, request.user)
    return render(
        request,
        "accounts/home.html",
        {"summary": selectors.home_summary(user), "cases_due": cases_due(user)},
    )


@login_required
def agencies(request: HttpRequest) -> HttpResponse:
    rows = Agency.objects.visible_to(request.user).select_related("jurisdiction")
    kind = request.GET.get("kind", "")
    if kind in Agency.Kind.values:
        rows = rows.filter(kind=kind)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/agency_list.html",
        {"page": page, "kinds": Agency.Kind.choices, "kind": kind},
    )


@login_required
def jurisdictions(request: HttpRequest) -> HttpResponse:
    rows = Jurisdiction.objects.select_related("parent")
    return render(request, "accounts/jurisdiction_list.html", {"rows": rows})


@login_required
def invitation_create(request: HttpRequest, pk: int) -> HttpResponse:
    from weibao.registry.selectors import enterprise_detail

    user = cast(User, request.user)
    unit = enterprise_detail(user, pk)
    if not user.has_perm("registry.invite_enterprise", unit):
        raise PermissionDenied
    form = InvitationForm(request.POST or None)
    link = ""
    if request.method == "POST" and form.is_valid():
        try:
            _invitation, token = services.invitation_create(
                actor=user, enterprise=unit, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            link = request.build_absolute_uri(reverse("invitation-accept", args=[token]))
            form = InvitationForm()
    return render(
        request,
        "accounts/invitation_form.html",
        {"form": form, "unit": unit, "link": link, "days": services.INVITATION_DAYS},
    )


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = services.invitation_by_token(token)
    if invitation is None:
        return render(request, "accounts/invitation_invalid.html", status=404)
    form = AcceptInvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(
                token=token,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                field = "password1" if field == "password" else field
                form.add_error(field if field in form.fields else None, errors)
        else:
            login(request, user, backend="weibao.accounts.backends.UserBackend")
            return redirect("home")
    return render(
        request, "accounts/invitation_accept.html", {"form": form, "invitation": invitation}
    )
