"""`weibao identity_access`: who among the regulators may see who made an internal report.

The permission (`reporting.view_reporter_identity`) is given to named people, never to a role:
seeing a reporter is an exception the bureau decides per officer. Each grant and revocation is
an audit entry on the officer's account (before and after of their permissions), recorded under
`command:identity_access`; each look at an identity is an audit entry of its own.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Q

from weibao.accounts.models import User
from weibao.core import audit
from weibao.core.context import acting_as
from weibao.reporting.rules import IDENTITY_PERMISSION

LABEL = "command:identity_access"


def identity_permission() -> Permission:
    app_label, codename = IDENTITY_PERMISSION.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def direct_permissions(user: User) -> list[str]:
    """The permissions given to the user by name (not through groups), as "app.codename"."""
    rows = user.user_permissions.values_list("content_type__app_label", "codename")
    return sorted(f"{app}.{codename}" for app, codename in rows)


class Command(BaseCommand):
    help = (
        "Give or take away a regulator's permission to see who made an internal report "
        f"({IDENTITY_PERMISSION}), or list who holds it. Every change is in the audit trail."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--grant", metavar="USERNAME", help="allow this regulator")
        group.add_argument("--revoke", metavar="USERNAME", help="take the permission away")
        group.add_argument("--list", action="store_true", help="who holds the permission")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            self._list()
        elif options["grant"]:
            self._change(self._user(options["grant"]), grant=True)
        else:
            self._change(self._user(options["revoke"]), grant=False)

    def _user(self, username: str) -> User:
        user: User | None = User.objects.select_related("agency").filter(username=username).first()
        if user is None:
            raise CommandError(f"No user is named {username!r}.")
        return user

    def _change(self, user: User, *, grant: bool) -> None:
        permission = identity_permission()
        if grant:
            if not user.is_regulator:
                raise CommandError(
                    f"{user.username} is not a regulator (role: {user.role or 'none'}): only "
                    "officers of a public-security bureau may be allowed to see who made a "
                    "report. Unit staff, partner departments and administrators never may."
                )
            if not user.is_active:
                raise CommandError(f"{user.username}'s account is deactivated.")
        with acting_as(label=LABEL), transaction.atomic():
            before = direct_permissions(user)
            held = IDENTITY_PERMISSION in before
            if held == grant:
                state = "already holds" if grant else "does not hold"
                self.stdout.write(
                    f"{user.username} {state} {IDENTITY_PERMISSION}; nothing changed."
                )
                self._warn_groups(user, permission)
                return
            if grant:
                user.user_permissions.add(permission)
            else:
                user.user_permissions.remove(permission)
            after = direct_permissions(user)
            audit.record(user, "update", {"user_permissions": before}, {"user_permissions": after})
        done = "may now see" if grant else "may no longer see"
        agency = f" ({user.agency})" if user.agency is not None else ""
        self.stdout.write(
            self.style.SUCCESS(f"{user.username}{agency} {done} who made an internal report.")
        )
        if not grant:
            self._warn_groups(user, permission)

    def _warn_groups(self, user: User, permission: Permission) -> None:
        groups = list(user.groups.filter(permissions=permission).values_list("name", flat=True))
        if groups:
            self.stderr.write(
                f"Note: {user.username} also holds it through group(s) {', '.join(groups)}; "
                "remove them from the group in /admin/ to take it away."
            )

    def _list(self) -> None:
        permission = identity_permission()
        holders = (
            User.objects.filter(Q(user_permissions=permission) | Q(groups__permissions=permission))
            .select_related("agency")
            .distinct()
            .order_by("username")
        )
        rows = list(holders)
        if not rows:
            self.stdout.write(f"Nobody holds {IDENTITY_PERMISSION}.")
            return
        by_group = set(
            User.objects.filter(groups__permissions=permission).values_list("pk", flat=True)
        )
        for user in rows:
            notes = []
            if not user.is_active:
                notes.append("deactivated")
            if not user.is_regulator:
                notes.append("not a regulator: the permission has no effect")
            if user.pk in by_group:
                notes.append("through a group")
            agency = str(user.agency) if user.agency is not None else "-"
            suffix = f"  [{'; '.join(notes)}]" if notes else ""
            self.stdout.write(f"{user.username:<20} {user.full_name:<12} {agency}{suffix}")
