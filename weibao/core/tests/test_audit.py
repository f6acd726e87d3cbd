from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from weibao.accounts.models import Agency
from weibao.core import audit
from weibao.core.context import acting_as
from weibao.core.models import AuditChainHead, AuditEntry
from weibao.tests.factories import AgencyFactory, World

pytestmark = pytest.mark.django_db


def _entries_for(obj: Agency) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(object_type="accounts.agency", object_id=str(obj.pk)).order_by(
            "seq"
        )
    )


def test_create_update_delete_are_recorded_with_actor_and_request(world: World) -> None:
    with acting_as(world.admin, request_id="req-12345678"):
        agency = AgencyFactory.create(jurisdiction_id="430407", name="石鼓分局")
        agency.phone = "0734-1"
        agency.save()
        agency.save()  # nothing changed: no entry
        agency_pk = agency.pk
        agency.delete()
    created, updated, deleted = AuditEntry.objects.filter(
        object_type="accounts.agency", object_id=str(agency_pk)
    ).order_by("seq")
    assert (created.action, updated.action, deleted.action) == ("create", "update", "delete")
    assert created.actor_id == world.admin.pk and created.request_id == "req-12345678"
    assert created.scope_code == "430407"
    assert updated.before["phone"] == "" and updated.after["phone"] == "0734-1"
    assert deleted.before["name"] == "石鼓分局" and deleted.after is None


def test_passwords_never_reach_history(world: World) -> None:
    world.county_a.set_password("another-long-password")
    world.county_a.save()
    entry = AuditEntry.objects.filter(object_type="accounts.user").order_by("-seq").first()
    assert entry is not None
    assert entry.after["password"] == audit.REDACTED
    assert "last_login" not in entry.after


def test_history_rolls_back_with_the_change(world: World) -> None:
    before = AuditEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        AgencyFactory.create(jurisdiction_id="430407")
        raise RuntimeError("the service failed after the save")
    assert AuditEntry.objects.count() == before
    assert AuditChainHead.objects.get(pk=1).last_seq == before


def test_chain_verifies(world: World) -> None:
    report = audit.verify_chain()
    assert report.ok and report.checked == AuditEntry.objects.count() > 0


def test_edit_behind_the_applications_back_is_caught(world: World) -> None:
    target = _entries_for(world.county_b_bureau)[0]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_auditentry SET object_repr = %s WHERE seq = %s", ["forged", target.seq]
        )
    report = audit.verify_chain()
    assert not report.ok
    assert report.broken_seq == target.seq
    with pytest.raises(CommandError, match=f"broken at entry {target.seq}"):
        call_command("audit", "verify")


def test_deleted_entry_is_caught(world: World) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditentry WHERE seq = 3")
    report = audit.verify_chain()
    assert report.broken_seq == 3 and "missing" in report.reason


def test_truncated_tail_is_caught(world: World) -> None:
    last = AuditChainHead.objects.get(pk=1).last_seq
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditentry WHERE seq = %s", [last])
    assert audit.verify_chain().broken_seq == last


def test_rehashed_forgery_breaks_the_next_link(world: World) -> None:
    first, second = AuditEntry.objects.order_by("seq")[:2]
    first.object_repr = "forged"
    first.hash = audit.entry_digest(first)
    AuditEntry.objects.filter(pk=first.pk).update(object_repr="forged", hash=first.hash)
    assert audit.verify_chain().broken_seq == second.seq


def test_verify_command_reports_intact_chain(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("audit", "verify")
    assert "intact" in capsys.readouterr().out


def test_system_changes_are_labelled(db: None) -> None:
    with acting_as(label="command:import"):
        agency = Agency.objects.create(name="x", kind="county_bureau", jurisdiction_id="430405")
    assert _entries_for(agency)[0].actor_label == "command:import"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_writers_keep_one_gapless_chain() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs a server database with concurrent connections")
    import threading

    from django.db import connections

    errors: list[BaseException] = []

    def write(county: str) -> None:
        try:
            for i in range(15):
                with transaction.atomic():
                    Agency.objects.create(
                        name=f"并发{county}-{i}", kind="county_bureau", jurisdiction_id=county
                    )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(c,)) for c in ("430405", "430406", "430407")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = audit.verify_chain()
    assert report.ok, report
    assert report.checked == 45
