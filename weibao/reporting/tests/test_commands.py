"""Operator tools of internal reports: `weibao identity_access` (who may see reporters, each
change audited) and the admin (which shows no reporter, not even to a superuser)."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from weibao.accounts.models import User
from weibao.core.models import AuditEntry
from weibao.reporting import services
from weibao.reporting.models import InternalReport, ReportChannel, ReporterIdentity
from weibao.reporting.rules import IDENTITY_PERMISSION
from weibao.tests.factories import REPORTER_NAME, REPORTER_PHONE, World, report_at

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("identity_access", *args, stdout=out, stderr=out)
    return out.getvalue()


def fresh(user: User) -> User:
    found: User = User.objects.get(pk=user.pk)  # a new object: no cached permissions
    return found


def permission_entries(user: User) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            object_type="accounts.user",
            object_id=str(user.pk),
            actor_label="command:identity_access",
        ).order_by("seq")
    )


def test_grant_lets_the_regulator_see_and_is_audited(world: World) -> None:
    report, _code = report_at(world, named=True)
    with pytest.raises(PermissionDenied):
        services.identity_reveal(actor=fresh(world.county_a), report=report)

    output = run("--grant", world.county_a.username)
    assert world.county_a.username in output and "may now see" in output
    officer = fresh(world.county_a)
    assert officer.has_perm(IDENTITY_PERMISSION)
    assert services.identity_reveal(actor=officer, report=report).name == REPORTER_NAME

    (entry,) = permission_entries(world.county_a)
    assert entry.action == "update" and entry.actor_id is None
    assert entry.before == {"user_permissions": []}
    assert entry.after == {"user_permissions": [IDENTITY_PERMISSION]}
    assert entry.scope_code == world.county_a_bureau.jurisdiction_id


def test_grant_twice_changes_nothing_the_second_time(world: World) -> None:
    run("--grant", world.county_a.username)
    output = run("--grant", world.county_a.username)
    assert "already holds" in output and "nothing changed" in output
    assert len(permission_entries(world.county_a)) == 1


def test_revoke_takes_it_away_and_is_audited(world: World) -> None:
    report, _code = report_at(world, named=True)
    run("--grant", world.county_a.username)
    output = run("--revoke", world.county_a.username)
    assert "may no longer see" in output
    officer = fresh(world.county_a)
    assert not officer.has_perm(IDENTITY_PERMISSION)
    with pytest.raises(PermissionDenied):
        services.identity_reveal(actor=officer, report=report)
    _grant, revoke = permission_entries(world.county_a)
    assert revoke.before == {"user_permissions": [IDENTITY_PERMISSION]}
    assert revoke.after == {"user_permissions": []}
    assert "does not hold" in run("--revoke", world.county_a.username)
    assert len(permission_entries(world.county_a)) == 2


@pytest.mark.parametrize(
    "persona", ["unit_a_officer", "unit_a_principal", "unit_a_employee", "partner_user", "admin"]
)
def test_only_regulators_may_be_granted(world: World, persona: str) -> None:
    user = getattr(world, persona)
    with pytest.raises(CommandError, match="not a regulator"):
        run("--grant", user.username)
    assert not fresh(user).user_permissions.exists()
    assert not permission_entries(user)


def test_unknown_or_deactivated_user_is_refused(world: World) -> None:
    with pytest.raises(CommandError, match="No user is named 'nobody'"):
        run("--grant", "nobody")
    with pytest.raises(CommandError, match="No user"):
        run("--revoke", "nobody")
    User.objects.filter(pk=world.county_b.pk).update(is_active=False)
    with pytest.raises(CommandError, match="deactivated"):
        run("--grant", world.county_b.username)


def test_one_action_at_a_time(world: World) -> None:
    with pytest.raises(CommandError):
        run()
    with pytest.raises(CommandError):
        run("--list", "--grant", world.county_a.username)


def test_list_names_the_holders(world: World) -> None:
    assert "Nobody holds" in run("--list")
    run("--grant", world.county_a.username)
    run("--grant", world.city.username)
    lines = run("--list").splitlines()
    assert [line.split()[0] for line in lines] == sorted(
        [world.county_a.username, world.city.username]
    )
    assert all(world.county_b.username != line.split()[0] for line in lines)


# --- the admin ----------------------------------------------------------------------------------
@pytest.fixture
def superuser(world: World) -> Client:
    boss = User.objects.create_superuser("root", "root@example.com", "x", role="system_admin")
    client = Client()
    client.force_login(boss)
    return client


def test_identity_is_not_in_the_admin(world: World, superuser: Client) -> None:
    assert ReporterIdentity not in admin.site._registry
    assert InternalReport in admin.site._registry and ReportChannel in admin.site._registry
    named, _code = report_at(world, "verifying", named=True, consent=True)
    report_at(world, "rewarded", named=True)
    pages = [
        reverse("admin:index"),
        reverse("admin:reporting_internalreport_changelist"),
        reverse("admin:reporting_internalreport_change", args=[named.pk]),
        reverse("admin:reporting_reportchannel_changelist"),
        reverse("admin:app_list", args=["reporting"]),
    ]
    for url in pages:
        response = superuser.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert REPORTER_NAME not in html and REPORTER_PHONE not in html, url
        assert named.receipt_hash not in html, url
    html = superuser.get(pages[0]).content.decode().lower()
    assert "reporter identit" not in html and "举报人身份" not in html
    assert superuser.get("/admin/reporting/reporteridentity/").status_code == 404


def test_reports_are_read_only_in_the_admin(world: World, superuser: Client) -> None:
    report, _code = report_at(world, "verifying")
    change = reverse("admin:reporting_internalreport_change", args=[report.pk])
    html = superuser.get(change).content.decode()
    assert "verification started" in html.lower() or "核实" in html  # the timeline inline
    response = superuser.post(change, {"status": "rewarded"})
    assert response.status_code == 403
    assert InternalReport.objects.get(pk=report.pk).status == "verifying"
    delete = reverse("admin:reporting_internalreport_delete", args=[report.pk])
    assert superuser.post(delete, {"post": "yes"}).status_code == 403
    assert superuser.get(reverse("admin:reporting_internalreport_add")).status_code == 403


def test_channel_policy_is_editable_but_not_its_code(world: World, superuser: Client) -> None:
    channel = services.channel_for(world.unit_a)
    change = reverse("admin:reporting_reportchannel_change", args=[channel.pk])
    data: dict[str, Any] = {
        "is_open": "on",
        "reward_general": "150",
        "reward_major": "1500",
        "reward_cap": "1800",
        "verify_within": "4",
        "verify_in_working_days": "on",
        "payout_instructions": "到安全科领取",
        "token": "guessable",
    }
    response = superuser.post(change, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    channel.refresh_from_db()
    assert channel.reward_general == 150 and channel.verify_within == 4
    assert channel.token != "guessable"
    # The policy's own rule: no amount above the cap.
    response = superuser.post(change, {**data, "reward_major": "5000"})
    assert response.status_code == 200
    channel.refresh_from_db()
    assert channel.reward_major == 1500
    assert superuser.get(reverse("admin:reporting_reportchannel_add")).status_code == 403
