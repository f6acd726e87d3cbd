from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from weibao.ledger.ingest import IngestError, ingest_rows
from weibao.ledger.models import Batch, Event, Item, ItemState
from weibao.tests.factories import LedgerWorld, World, ledger_world, shell_code

pytestmark = pytest.mark.django_db

# Five days back at 20:00 local time, not at the time the suite runs: the histories built from
# it (`at(hours)`) then fall on the same local days at any hour. From now, the books'
# brought-forward balance failed when the suite ran between about 04:00 and 18:00 in Shanghai.
T0 = (timezone.localtime() - timedelta(days=5)).replace(hour=20, minute=0, second=0, microsecond=0)


def at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat()


@pytest.fixture
def lw(world: World) -> LedgerWorld:
    return ledger_world(world)


def produce(lw: LedgerWorld, serials: range) -> list[dict[str, Any]]:
    return [
        {
            "code": shell_code(n),
            "event": "produced",
            "at": at(0),
            "unit": lw.producer.uscc,
            "product": "electronic_detonator",
            "chip_uid": f"{n:016X}",
            "site": str(lw.producer_magazine.pk),
        }
        for n in serials
    ]


def chain(lw: LedgerWorld) -> list[dict[str, Any]]:
    """Ten detonators: produced, boxed, shipped producer → seller, received, stored; then one
    box sold to the contractor, one detonator issued and fired, one returned."""
    rows = produce(lw, range(1, 11))
    rows += [
        {
            "code": shell_code(n),
            "event": "packed",
            "at": at(1),
            "unit": lw.producer.uscc,
            "container": "BOX-0001" if n <= 5 else "BOX-0002",
        }
        for n in range(1, 11)
    ]
    rows += [
        {
            "code": box,
            "event": "packed",
            "at": at(2),
            "unit": lw.producer.uscc,
            "container": "CASE-0001",
        }
        for box in ("BOX-0001", "BOX-0002")
    ]
    rows += [
        {
            "code": "CASE-0001",
            "event": "shipped",
            "at": at(3),
            "unit": lw.producer.uscc,
            "counterpart": lw.seller.uscc,
            "purchase_permit": lw.sale_permit.number,
            "transport_permit": lw.transport_permit.number,
        },
        {"code": "CASE-0001", "event": "received", "at": at(20), "unit": lw.seller.uscc},
        {
            "code": "CASE-0001",
            "event": "stored_in",
            "at": at(21),
            "unit": lw.seller.uscc,
            "site": str(lw.seller_magazine.pk),
        },
        {
            "code": "BOX-0001",
            "event": "shipped",
            "at": at(30),
            "unit": lw.seller.uscc,
            "counterpart": lw.contractor.uscc,
            "purchase_permit": lw.purchase_permit.number,
            "transport_permit": lw.transport_permit.number,
        },
        {"code": "BOX-0001", "event": "received", "at": at(40), "unit": lw.contractor.uscc},
        {
            "code": "BOX-0001",
            "event": "stored_in",
            "at": at(41),
            "unit": lw.contractor.uscc,
            "site": str(lw.contractor_magazine.pk),
        },
    ]
    for n, end in ((1, "fired"), (2, "returned")):
        rows.append(
            {
                "code": shell_code(n),
                "event": "issued",
                "at": at(50),
                "unit": lw.contractor.uscc,
                "person": lw.blaster.identity_number,
                "project": lw.project.code,
            }
        )
        last = {"code": shell_code(n), "event": end, "at": at(55), "unit": lw.contractor.uscc}
        if end == "fired":
            last.update(person=lw.blaster.identity_number, latitude="26.97", longitude="112.37")
        else:
            last.update(site=str(lw.contractor_magazine.pk))
        rows.append(last)
    return rows


def test_a_whole_chain_is_accepted_and_states_follow(lw: LedgerWorld) -> None:
    result = ingest_rows(chain(lw))
    assert result.accepted, result.errors[:3]
    assert Event.objects.count() == result.rows
    states = dict(Item.objects.values_list("code", "state"))
    assert states[shell_code(1)] == ItemState.FIRED
    assert states[shell_code(2)] == ItemState.IN_STORE
    assert states[shell_code(3)] == ItemState.IN_STORE
    box2 = Item.objects.get(code="BOX-0002")
    assert box2.holder_id == lw.seller.pk and box2.container == "CASE-0001"
    assert Item.objects.get(code=shell_code(7)).holder_id == lw.seller.pk
    box1 = Item.objects.get(code="BOX-0001")
    assert box1.holder_id == lw.contractor.pk and box1.quantity == 3  # two taken out
    assert Item.objects.get(code=shell_code(1)).container == ""


def test_a_bad_row_rejects_the_whole_batch(lw: LedgerWorld) -> None:
    rows = chain(lw)
    rows[-2]["person"] = "430421198503140000"  # not a person of the unit
    rows.append(
        {
            "code": shell_code(99),
            "event": "stored_in",
            "at": at(60),
            "unit": lw.seller.uscc,
            "site": str(lw.seller_magazine.pk),
        }
    )
    result = ingest_rows(rows)
    assert not result.accepted
    # The refused issue also makes the return that follows it impossible: both are reported.
    assert [e.code for e in result.errors] == [
        "unknown_person",
        "impossible_transition",
        "unknown_code",
    ]
    assert Event.objects.count() == 0 and Item.objects.count() == 0
    batch = Batch.objects.get()
    assert (
        batch.status == "rejected"
        and batch.error_count == 3
        and batch.errors[0]["row"] == len(rows) - 2
    )


def test_order_duplicates_and_holding(lw: LedgerWorld) -> None:
    assert ingest_rows(produce(lw, range(1, 3))).accepted
    again = ingest_rows(produce(lw, range(1, 2)))
    assert [e.code for e in again.errors] == ["duplicate"]
    late = ingest_rows(
        [
            {
                "code": shell_code(1),
                "event": "stored_in",
                "at": (T0 - timedelta(hours=1)).isoformat(),
                "unit": lw.producer.uscc,
                "site": str(lw.producer_magazine.pk),
            }
        ]
    )
    assert [e.code for e in late.errors] == ["out_of_order"]
    theirs = ingest_rows(
        [
            {
                "code": shell_code(2),
                "event": "stored_in",
                "at": at(1),
                "unit": lw.seller.uscc,
                "site": str(lw.seller_magazine.pk),
            }
        ]
    )
    assert [e.code for e in theirs.errors] == ["not_holding"]
    fired = ingest_rows(
        [
            {
                "code": shell_code(2),
                "event": "fired",
                "at": at(1),
                "unit": lw.producer.uscc,
                "person": lw.blaster.identity_number,
            }
        ]
    )
    assert [e.code for e in fired.errors] == ["impossible_transition"]


def test_malformed_rows_named(lw: LedgerWorld) -> None:
    rows = produce(lw, range(1, 2))
    rows[0]["code"] = "5361314O00001"  # characteristic "O"
    bad_day = dict(produce(lw, range(2, 3))[0], code="5361399A00002")
    bad_pos = dict(produce(lw, range(3, 4))[0], latitude="95", longitude="112")
    result = ingest_rows([*rows, bad_day, bad_pos])
    assert [(e.row, e.field) for e in result.errors] == [(1, "code"), (2, "code"), (3, "latitude")]


def test_limits(lw: LedgerWorld, settings: Any) -> None:
    with pytest.raises(IngestError):
        ingest_rows(produce(lw, range(1, 4)), max_rows=2)
    with pytest.raises(IngestError):
        ingest_rows([])


def test_a_resent_production_is_a_duplicate_even_after_the_code_moved_on(
    lw: LedgerWorld,
) -> None:
    first = produce(lw, range(1, 3))
    assert ingest_rows(first).accepted
    moved = {
        "code": shell_code(1),
        "event": "packed",
        "at": at(1),
        "unit": lw.producer.uscc,
        "container": "BOX-0001",
    }
    assert ingest_rows([moved]).accepted
    again = ingest_rows(first)
    assert [e.code for e in again.errors] == ["duplicate", "duplicate"]
    # A production of the same code at another time is a second production: kept as evidence.
    second = dict(first[0], at=at(2))
    assert ingest_rows([second]).accepted
    assert Event.objects.filter(code=shell_code(1), kind="produced").count() == 2


def test_times_outside_the_century_are_refused(lw: LedgerWorld) -> None:
    row = dict(produce(lw, range(1, 2))[0], at="0154-12-19T12:04:31+08:00")
    assert [(e.field, e.code) for e in ingest_rows([row]).errors] == [("at", "bad_time")]


def test_events_in_the_future_are_refused(lw: LedgerWorld) -> None:
    ahead = timezone.now() + timedelta(hours=1)
    row = dict(produce(lw, range(1, 2))[0], at=ahead.isoformat())
    assert [(e.field, e.code) for e in ingest_rows([row]).errors] == [("at", "future_time")]
    # A clock a few minutes fast is tolerated.
    near = dict(row, at=(timezone.now() + timedelta(minutes=5)).isoformat())
    assert ingest_rows([near]).accepted
    late = dict(produce(lw, range(2, 3))[0], recorded_at=ahead.isoformat())
    assert [(e.field, e.code) for e in ingest_rows([late]).errors] == [
        ("recorded_at", "future_time")
    ]


def test_an_item_leaving_its_box_in_a_later_batch_updates_the_box_and_the_case(
    lw: LedgerWorld,
) -> None:
    rows = chain(lw)
    # Everything up to the seller storing the case; the rest comes in later batches.
    stored = next(i for i, r in enumerate(rows) if r["event"] == "stored_in")
    assert ingest_rows(rows[: stored + 1]).accepted
    assert Item.objects.get(code="CASE-0001").quantity == 10
    destroyed = {
        "code": shell_code(7),
        "event": "destroyed",
        "at": at(25),
        "unit": lw.seller.uscc,
    }
    assert ingest_rows([destroyed]).accepted
    items = {i.code: i for i in Item.objects.all()}
    assert items["BOX-0002"].quantity == 4 and items["CASE-0001"].quantity == 9
    assert items[shell_code(7)].container == "" and items[shell_code(7)].state == "destroyed"
    # The box then moves without the item that left it.
    assert ingest_rows(rows[stored + 1 :]).accepted
    shipped = {
        "code": "BOX-0002",
        "event": "shipped",
        "at": at(60),
        "unit": lw.seller.uscc,
        "counterpart": lw.contractor.uscc,
        "purchase_permit": lw.purchase_permit.number,
        "transport_permit": lw.transport_permit.number,
    }
    assert ingest_rows([shipped]).accepted
    items = {i.code: i for i in Item.objects.all()}
    assert items[shell_code(6)].state == "in_transit"
    assert items[shell_code(7)].state == "destroyed"
    assert Event.objects.get(code="BOX-0002", kind="shipped").quantity == 4


def test_a_batch_written_meanwhile_is_seen_before_writing(
    lw: LedgerWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches are validated without the write lock; if another batch was written in between,
    the batch is validated again under the lock, against what that one did."""
    from weibao.ledger.ingest import batch as module

    assert ingest_rows(produce(lw, range(1, 2))).accepted
    store = {
        "code": shell_code(1),
        "event": "packed",
        "at": at(1),
        "unit": lw.producer.uscc,
        "container": "BOX-0009",
    }
    real = module.validate
    calls = []

    def validate_then_race(*args: Any) -> Any:
        outcome = real(*args)
        calls.append(outcome)
        if len(calls) == 1:  # another writer files the same event while this one validates
            monkeypatch.setattr(module, "validate", real)
            assert ingest_rows([store]).accepted
            monkeypatch.setattr(module, "validate", validate_then_race)
        return outcome

    monkeypatch.setattr(module, "validate", validate_then_race)
    result = ingest_rows([store])
    assert len(calls) == 2 and calls[0][1] == []  # valid alone, a duplicate after the other
    assert [e.code for e in result.errors] == ["duplicate"]
    assert Event.objects.filter(code=shell_code(1), kind="packed").count() == 1


def test_state_columns_follow_the_item_table() -> None:
    from dataclasses import fields

    from weibao.ledger.ingest.rules import STATE_COLUMNS, State

    assert tuple(f.name for f in fields(State))[: len(STATE_COLUMNS)] == STATE_COLUMNS


def test_changed_columns_only_are_written(lw: LedgerWorld) -> None:
    assert ingest_rows(produce(lw, range(1, 3))).accepted
    before = Item.objects.get(code=shell_code(2))
    store = {
        "code": shell_code(1),
        "event": "packed",
        "at": at(1),
        "unit": lw.producer.uscc,
        "container": "BOX-0009",
    }
    result = ingest_rows([store])
    assert result.accepted
    after = {i.code: i for i in Item.objects.all()}
    assert after[shell_code(2)].last_event_at == before.last_event_at  # untouched
    first = after[shell_code(1)]
    assert (first.container, first.chip_uid) == ("BOX-0009", "0000000000000001")
    assert Item.objects.get(code="BOX-0009").quantity == 1
    batch = result.batch
    assert batch.first_event_id == batch.last_event_id == Event.objects.get(kind="packed").pk
