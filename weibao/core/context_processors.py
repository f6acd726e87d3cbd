from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from weibao.core.models import Notification


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The menu a user sees, decided by what they may do (never a link to a page they can't use)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = [(_("Home"), reverse("home")), (_("Jurisdictions"), reverse("jurisdictions"))]
    if user.is_unit_user:
        items.append((_("My unit"), reverse("enterprise-detail", args=[user.enterprise_id])))
    else:
        items.append((_("Units"), reverse("enterprise-list")))
    if user.is_regulator or user.is_system_admin or user.is_unit_user:
        items.append((_("Campaigns"), reverse("campaign-list")))
        items.append((_("Inspections"), reverse("inspection-list")))
        items.append((_("Hazards"), reverse("hazard-list")))
        items.append((_("Cases"), reverse("case-list")))
        items.append((_("Traceability"), reverse("ledger-home")))
    if user.is_unit_user:
        items.append((_("Report a hazard"), reverse("report-create")))
        if user.is_unit_manager:
            items.append((_("Internal reports"), reverse("report-list")))
        else:
            items.append((_("My reports"), reverse("report-mine")))
    elif user.is_regulator or user.is_system_admin:
        items.append((_("Internal reports"), reverse("report-list")))
        items.append((_("Internal reports: oversight"), reverse("report-oversight")))
    if user.is_regulator or user.is_system_admin or user.is_partner:
        items.append((_("Agencies"), reverse("agencies")))
    if user.has_perm("core.view_auditentry"):
        items.append((_("History"), reverse("audit-list")))
    items.append((_("Notifications"), reverse("notifications")))
    items.append((_("API"), reverse("api-docs")))
    if user.is_system_admin:
        items.append((_("Administration"), reverse("admin:index")))
    unread = Notification.objects.visible_to(user).filter(read_at__isnull=True).count()
    return {"nav_items": items, "unread_notifications": unread}
