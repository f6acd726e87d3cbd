from __future__ import annotations

from typing import cast

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy

from weibao.accounts import selectors
from weibao.accounts.forms import LoginForm
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
    user = cast(User, request.user)
    return render(request, "accounts/home.html", {"summary": selectors.home_summary(user)})


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
