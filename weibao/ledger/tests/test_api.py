"""The ledger API: filing events (JSON and CSV, accepted and rejected whole, unreadable bodies,
limits, idempotency, who may file), batches, items with their trace, anomalies and their status,
and the isolation contracts of every list."""

from __future__ import annotations

import csv
import io
import itertools
import json
from decimal import Decimal
from typing import Any, cast

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIRequestFactory, force_authenticate

from weibao.accounts.models import Role
from weibao.ledger import api as ledger_api
from weibao.ledger.ingest import COLUMNS, ingest_rows
from weibao.ledger.models import Anomaly, Batch, Event, Item, ItemState
from weibao.ledger.tests.test_ingest import at, chain, produce
from weibao.registry.models import Enterprise
from weibao.tests.contracts import ScopedApiContract
from weibao.tests.factories import (
    COUNTY_B,
    LedgerWorld,
    UserFactory,
    World,
    ledger_world,
    shell_code,
)

pytestmark = pytest.mark.django_db
EVENTS = "api:ledger-events"


@pytest.fixture
def lw(world: World) -> LedgerWorld:
    return ledger_world(world)


def to_csv(rows: list[dict[str, Any]], columns: tuple[str, ...] = COLUMNS) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    return out.getvalue()


def post_json(client: Any, rows: Any, **extra: Any) -> Any:
    return client.post(
        reverse(EVENTS), data=json.dumps(rows), content_type="application/json", **extra
    )


def post_csv(client: Any, body: bytes, **extra: Any) -> Any:
    return client.post(reverse(EVENTS), data=body, content_type="text/csv", **extra)


def unit_user(unit: Enterprise, role: str = Role.UNIT_SAFETY_OFFICER) -> Any:
    return UserFactory.create(role=role, agency=None, enterprise=unit)


# --- filing ----------------------------------------------------------------------------------
def test_admin_files_a_json_batch(world: World, lw: LedgerWorld, api: Any) -> None:
    rows = chain(lw)
    response = post_json(api(world.admin), rows)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["rows"] == len(rows) and body["status"] == "accepted"
    assert Event.objects.count() == len(rows)
    batch = Batch.objects.get(pk=body["batch"])
    assert batch.status == "accepted" and batch.source == "api"
    assert batch.submitted_by == world.admin


def test_rejected_batch_reports_each_row_and_writes_nothing(
    world: World, lw: LedgerWorld, api: Any
) -> None:
    rows = produce(lw, range(1, 4))
    rows[1]["code"] = "5361314O00002"  # forbidden characteristic "O"
    rows[2]["site"] = "999999"  # no such magazine
    response = post_json(api(world.admin), rows)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("batch-rejected")
    assert body["error_count"] == 2 and body["rows"] == 3
    assert [(e["row"], e["field"], e["code"]) for e in body["row_errors"]] == [
        (2, "code", "malformed_code"),
        (3, "site", "unknown_site"),
    ]
    assert all(e["message"] for e in body["row_errors"])
    assert set(body["errors"]) == {"row 2 · code", "row 3 · site"}
    assert Event.objects.count() == 0 and Item.objects.count() == 0
    batch = Batch.objects.get(pk=body["batch"])
    assert batch.status == "rejected"
    detail = api(world.admin).get(reverse("api:ledger-batch-detail", args=[batch.pk]))
    assert detail.status_code == 200
    assert [e["code"] for e in detail.json()["errors"]] == ["malformed_code", "unknown_site"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_in_utf8_or_gbk(world: World, lw: LedgerWorld, api: Any, encoding: str) -> None:
    rows = chain(lw)
    text = to_csv(rows)
    assert "湘" in text  # the permit numbers: GBK and UTF-8 bytes differ
    response = post_csv(api(world.admin), text.encode(encoding))
    assert response.status_code == 201, response.content
    assert Event.objects.count() == len(rows)
    shipped = Event.objects.filter(kind="shipped").order_by("at").first()
    assert shipped is not None and shipped.purchase_permit == lw.sale_permit.number


def test_wrong_header_is_a_400_naming_it(world: World, lw: LedgerWorld, api: Any) -> None:
    body = to_csv(produce(lw, range(1, 3))).replace("chip_uid", "chip").encode()
    response = post_csv(api(world.admin), body)
    assert response.status_code == 400
    problem = response.json()
    assert "header" in problem["errors"] and "chip" in problem["detail"]
    assert Batch.objects.count() == 0


def test_unreadable_bodies_are_400s(world: World, lw: LedgerWorld, api: Any) -> None:
    client = api(world.admin)
    bad_bytes = post_csv(client, b"code,event,at,unit\n\xff\xfe\xff\xff\n")
    assert bad_bytes.status_code == 400 and "encoding" in bad_bytes.json()["errors"]
    assert post_csv(client, b"").status_code == 400
    not_json = client.post(reverse(EVENTS), data=b"[{", content_type="application/json")
    assert not_json.status_code == 400 and "body" in not_json.json()["errors"]
    not_array = post_json(client, {"code": "x"})
    assert not_array.status_code == 400
    not_object = post_json(client, [1, 2])
    assert not_object.status_code == 400 and "[0]" in not_object.json()["errors"]
    unknown = post_json(client, [{**produce(lw, range(1, 2))[0], "colour": "red"}])
    assert unknown.status_code == 400 and "[0].colour" in unknown.json()["errors"]
    assert post_json(client, []).status_code == 400
    xml = client.post(reverse(EVENTS), data=b"<a/>", content_type="application/xml")
    assert xml.status_code == 415
    assert Batch.objects.count() == 0
    # A NUL inside a field is a row's problem (the CSV module reads it), never a crash.
    nul = post_csv(client, b"code,event,at,unit\nA\x00B,produced,x,y\n")
    assert nul.status_code == 422


def test_odd_json_values_are_row_errors_not_crashes(
    world: World, lw: LedgerWorld, api: Any
) -> None:
    row = produce(lw, range(1, 2))[0]
    odd = [
        {**row, "at": 12345},
        {**row, "latitude": [1], "longitude": {"a": 1}},
        {**row, "quantity": True},
        {**row, "site": 1e300},
        {**row, "code": None},
    ]
    response = post_json(api(world.admin), odd)
    assert response.status_code == 422
    assert len(response.json()["row_errors"]) == 5


def test_too_many_rows_or_bytes(world: World, lw: LedgerWorld, api: Any, settings: Any) -> None:
    settings.LEDGER_MAX_BATCH_ROWS = 3
    client = api(world.admin)
    rows = produce(lw, range(1, 5))
    as_json = post_json(client, rows)
    assert as_json.status_code == 400 and "rows" in as_json.json()["errors"]
    as_csv = post_csv(client, to_csv(rows).encode())
    assert as_csv.status_code == 400 and "rows" in as_csv.json()["errors"]
    assert post_json(client, rows[:3]).status_code == 201
    settings.LEDGER_MAX_BATCH_BYTES = 200
    big = post_csv(client, to_csv(produce(lw, range(10, 12))).encode())
    assert big.status_code == 400 and "body" in big.json()["errors"]
    # Refused from the header alone: the claimed length is never read.
    lying = post_csv(client, b"code", CONTENT_LENGTH=str(10**12))
    assert lying.status_code == 400
    assert Batch.objects.count() == 1


def test_a_long_csv_is_refused_while_streaming(world: World, settings: Any, monkeypatch: Any):
    """The row count stops the read: a body of 1,000 rows against a limit of 10 is refused after
    the first chunks, not read to its end."""
    settings.LEDGER_MAX_BATCH_ROWS = 10
    monkeypatch.setattr(ledger_api, "READ_CHUNK", 256)
    line = b"5361314A00001,lost,2026-03-14T08:00:00+08:00,91430405MA4L000017\n"
    body = b"code,event,at,unit\n" + line * 1000
    request = APIRequestFactory().post(reverse(EVENTS), data=body, content_type="text/csv")
    force_authenticate(request, user=world.admin)
    stream: Any = request._stream
    read = 0
    original = stream.read

    def counting(*args: Any) -> bytes:
        nonlocal read
        chunk: bytes = original(*args)
        read += len(chunk)
        return chunk

    stream.read = counting
    response = ledger_api.LedgerEventsView.as_view()(request)
    assert response.status_code == 400
    assert "rows" in response.data["errors"]
    assert read < len(body) / 10


@pytest.mark.parametrize(
    "line",
    [
        # 66 MB: over the byte cap, refused from Content-Length before anything is read
        b"5361314A00001,lost,2026-03-14T08:00:00+08:00,91430405MA4L000017\n",
        # 49 MB: under it, refused once 100,001 rows have streamed in
        b"5361314A00001,lost,2026-03-14,91430405MA4L000017\n",
    ],
    ids=["over-the-byte-cap", "counted-while-streaming"],
)
def test_a_million_and_one_rows_is_a_clear_400(world: World, api: Any, line: bytes) -> None:
    body = b"code,event,at,unit\n" + line * 1_000_001
    response = post_csv(api(world.admin), body)
    assert response.status_code == 400
    assert response.json()["errors"].keys() & {"rows", "body"}
    assert Batch.objects.count() == 0


def test_idempotency_key_replays_the_first_answer(world: World, lw: LedgerWorld, api: Any) -> None:
    client = api(world.admin)
    rows = produce(lw, range(1, 3))
    first = post_json(client, rows, HTTP_IDEMPOTENCY_KEY="batch-0001")
    again = post_json(client, rows, HTTP_IDEMPOTENCY_KEY="batch-0001")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Batch.objects.count() == 1 and Event.objects.count() == 2
    other = post_json(client, produce(lw, range(5, 6)), HTTP_IDEMPOTENCY_KEY="batch-0001")
    assert other.status_code == 422
    assert other.json()["type"].endswith("idempotency-key-reused")
    # A rejected batch replays its report too, without a second batch.
    bad = [dict(rows[0], code="bad")]
    one = post_json(client, bad, HTTP_IDEMPOTENCY_KEY="batch-0002")
    two = post_json(client, bad, HTTP_IDEMPOTENCY_KEY="batch-0002")
    assert one.status_code == two.status_code == 422
    assert two.json()["batch"] == one.json()["batch"]
    assert Batch.objects.count() == 2


def same_answer(first: Any, replay: Any) -> None:
    assert replay["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert replay.status_code == first.status_code
    assert replay["Content-Type"] == first["Content-Type"]
    assert replay.json() == first.json()  # (PostgreSQL's jsonb keeps no key order)


def test_a_replayed_batch_is_the_first_answer_with_its_content_type(
    world: World, lw: LedgerWorld, api: Any
) -> None:
    from weibao.core.models import IdempotencyRecord

    client = api(world.admin)
    rows = produce(lw, range(1, 3))
    accepted = post_json(client, rows, HTTP_IDEMPOTENCY_KEY="ct-0001")
    assert accepted.status_code == 201 and accepted["Content-Type"] == "application/json"
    same_answer(accepted, post_json(client, rows, HTTP_IDEMPOTENCY_KEY="ct-0001"))
    bad = [dict(rows[0], code="bad")]
    rejected = post_json(client, bad, HTTP_IDEMPOTENCY_KEY="ct-0002")
    assert rejected.status_code == 422
    assert rejected["Content-Type"] == "application/problem+json"
    same_answer(rejected, post_json(client, bad, HTTP_IDEMPOTENCY_KEY="ct-0002"))
    # The same over CSV, in Chinese.
    csv_body = to_csv(bad).encode()
    zh = {"HTTP_ACCEPT_LANGUAGE": "zh-hans", "HTTP_IDEMPOTENCY_KEY": "ct-0003"}
    first_csv = post_csv(client, csv_body, **zh)
    same_answer(first_csv, post_csv(client, csv_body, **zh))
    assert first_csv["Content-Type"] == "application/problem+json"
    # A record kept before the content type was: the bare body. Replayed as the problem
    # document it is.
    for key in ("ct-0001", "ct-0002"):
        record = IdempotencyRecord.objects.get(key=key)
        envelope = cast(dict[str, Any], record.response_body)
        record.response_body = envelope["data"]
        record.save()
    same_answer(rejected, post_json(client, bad, HTTP_IDEMPOTENCY_KEY="ct-0002"))
    same_answer(accepted, post_json(client, rows, HTTP_IDEMPOTENCY_KEY="ct-0001"))
    assert Batch.objects.count() == 3


def test_a_unit_files_only_its_own_events(world: World, lw: LedgerWorld, api: Any) -> None:
    rows = chain(lw)
    contractor_rows = [
        r
        for r in rows
        if r["unit"] == lw.contractor.uscc and r["event"] in {"issued", "fired", "returned"}
    ]
    before = [r for r in rows if r not in contractor_rows]
    assert ingest_rows(before).accepted
    officer = api(world.unit_a_officer)  # unit A is the contractor
    theirs = post_json(officer, produce(lw, range(20, 22)))
    assert theirs.status_code == 422
    assert {e["code"] for e in theirs.json()["row_errors"]} == {"not_your_unit"}
    batch = Batch.objects.get(pk=theirs.json()["batch"])
    assert batch.enterprise_id == lw.contractor.pk
    own = post_json(officer, contractor_rows)
    assert own.status_code == 201, own.content
    assert Item.objects.get(code=shell_code(1)).state == ItemState.FIRED


@pytest.mark.parametrize("who", ["city", "county_a", "partner_user", "unit_a_employee"])
def test_who_may_not_file(world: World, lw: LedgerWorld, api: Any, who: str) -> None:
    response = post_json(api(getattr(world, who)), produce(lw, range(1, 2)))
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"


def test_anonymous_may_not_file(world: World, api: Any) -> None:
    assert post_json(api(), []).status_code == 401


# --- batches ---------------------------------------------------------------------------------
class TestBatchIsolation(ScopedApiContract):
    list_route = "api:ledger-batch-list"
    detail_route = "api:ledger-batch-detail"
    page_route = "ledger-home"
    partner_sees_a = False
    unit_sees_a = True

    def make(self, world: World, county: str) -> Any:
        unit = world.unit_a if county == "430405" else world.unit_b
        return Batch.objects.create(
            status=Batch.Status.REJECTED,
            source=Batch.Source.API,
            enterprise=unit,
            rows=1,
            error_count=1,
            errors=[{"row": 1, "field": "code", "code": "unknown_code", "message": "x"}],
        )


# --- items and their trace -------------------------------------------------------------------
_codes = itertools.count(1)


class TestItemIsolation(ScopedApiContract):
    list_route = "api:ledger-item-list"
    detail_route = "api:ledger-item-detail"
    lookup = "code"
    page_route = "ledger-home"
    partner_sees_a = False
    unit_sees_a = True

    def make(self, world: World, county: str) -> Any:
        unit = world.unit_a if county == "430405" else world.unit_b
        return Item.objects.create(
            code=shell_code(next(_codes), enterprise="61"),
            level="item",
            product="nonel_detonator",
            quantity=1,
            state=ItemState.IN_STORE,
            holder=unit,
            last_event_at=timezone.now(),
            last_event_kind="stored_in",
        )


def trace_of(client: Any, code: str) -> Any:
    return client.get(reverse("api:ledger-item-detail", args=[code]))


def late_case_event(lw: LedgerWorld) -> dict[str, Any]:
    """The case is destroyed after BOX-0001 left it: part of BOX-0002's items' life only."""
    return {"code": "CASE-0001", "event": "destroyed", "at": at(35), "unit": lw.seller.uscc}


def test_trace_follows_the_boxes_and_cases_while_inside(
    world: World, lw: LedgerWorld, api: Any
) -> None:
    assert ingest_rows([*chain(lw), late_case_event(lw)]).accepted
    fired = trace_of(api(world.county_a), shell_code(1))
    assert fired.status_code == 200
    body = fired.json()
    assert body["item"]["state"] == "fired"
    assert body["containers"] == ["BOX-0001", "CASE-0001"]
    life = [(e["kind"], e["code"], e["inherited"]) for e in body["events"]]
    assert life == [
        ("produced", shell_code(1), False),
        ("packed", shell_code(1), False),
        ("packed", "BOX-0001", True),
        ("shipped", "CASE-0001", True),
        ("received", "CASE-0001", True),
        ("stored_in", "CASE-0001", True),
        ("shipped", "BOX-0001", True),
        ("received", "BOX-0001", True),
        ("stored_in", "BOX-0001", True),
        ("issued", shell_code(1), False),
        ("fired", shell_code(1), False),
    ]
    shipped = body["events"][3]
    assert shipped["unit"]["uscc"] == lw.producer.uscc
    assert shipped["counterpart"]["uscc"] == lw.seller.uscc
    assert shipped["purchase_permit"] == lw.sale_permit.number
    last = body["events"][-1]
    assert last["person"] == lw.blaster.name and last["project"] == lw.project.code
    assert last["position"] == {"latitude": 26.97, "longitude": 112.37, "source": "event"}
    stayed = trace_of(api(world.county_a), shell_code(7)).json()
    kinds = [(e["kind"], e["code"]) for e in stayed["events"]]
    assert ("stored_in", "CASE-0001") in kinds and ("destroyed", "CASE-0001") in kinds
    assert ("shipped", "BOX-0001") not in kinds
    boxed = trace_of(api(world.county_a), shell_code(3)).json()
    assert ("stored_in", "CASE-0001") in [(e["kind"], e["code"]) for e in boxed["events"]]
    assert [e["at"] for e in boxed["events"]] == sorted(e["at"] for e in boxed["events"])
    # not the case's later destruction: BOX-0001 had left it
    late = [e for e in boxed["events"] if e["code"] == "CASE-0001" and e["kind"] == "destroyed"]
    assert late == []


def test_trace_data_is_what_the_schema_says(world: World, lw: LedgerWorld) -> None:
    from weibao.ledger.selectors import item_trace
    from weibao.ledger.serializers import ItemTraceOutput, trace_data

    assert ingest_rows([*chain(lw), late_case_event(lw)]).accepted
    for code in (shell_code(1), shell_code(7), "BOX-0001", "CASE-0001"):
        trace = item_trace(code)
        assert trace is not None
        assert json.dumps(trace_data(trace)) == json.dumps(ItemTraceOutput(trace).data)


def test_trace_scope(world: World, lw: LedgerWorld, api: Any) -> None:
    assert ingest_rows(chain(lw)).accepted
    contractor = api(world.unit_a_officer)
    assert trace_of(contractor, shell_code(1)).status_code == 200  # it held it
    assert trace_of(contractor, shell_code(7)).status_code == 404  # never held: in BOX-0002
    assert trace_of(api(world.unit_b_officer), shell_code(1)).status_code == 404
    assert trace_of(api(world.partner_user), shell_code(1)).status_code == 404
    assert trace_of(api(world.county_b), shell_code(7)).status_code == 404
    assert trace_of(api(world.county_a), "5361314A99999").status_code == 404
    assert trace_of(api(), shell_code(1)).status_code == 401
    # The producer's county sees every item the producer ever held.
    Enterprise.objects.filter(pk=lw.producer.pk).update(jurisdiction_id=COUNTY_B)
    assert trace_of(api(world.county_b), shell_code(7)).status_code == 200
    assert trace_of(api(world.city), shell_code(7)).status_code == 200
    # The seller's accounts see what they once held, after it left them.
    seller = api(unit_user(lw.seller))
    assert trace_of(seller, shell_code(1)).status_code == 200


def test_trace_reads_a_fixed_number_of_queries(world: World, lw: LedgerWorld, api: Any) -> None:
    assert ingest_rows(chain(lw)).accepted
    client = api(world.county_a)
    trace_of(client, shell_code(7))
    with CaptureQueriesContext(connection) as boxed:
        assert trace_of(client, shell_code(1)).status_code == 200
    with CaptureQueriesContext(connection) as loose:
        assert trace_of(client, "BOX-0002").status_code == 200
    # the item, its own events, its boxes', its cases' (and the user's agency, once)
    assert len(boxed) <= 5, [q["sql"] for q in boxed.captured_queries]
    assert len(loose) <= len(boxed)


def test_item_list_filters(world: World, lw: LedgerWorld, api: Any) -> None:
    assert ingest_rows(chain(lw)).accepted
    client = api(world.unit_a_officer)
    held = client.get(reverse("api:ledger-item-list"), {"holder": lw.contractor.pk})
    codes = {r["code"] for r in held.json()["results"]}
    assert codes == {"BOX-0001", *(shell_code(n) for n in range(1, 6))}
    in_store = client.get(reverse("api:ledger-item-list"), {"state": "in_store", "level": "item"})
    assert {r["code"] for r in in_store.json()["results"]} == {shell_code(n) for n in (2, 3, 4, 5)}
    site = client.get(
        reverse("api:ledger-item-list"), {"site": lw.contractor_magazine.pk, "state": "in_store"}
    )
    assert site.json()["count"] == 5  # the box and the four detonators in the magazine
    seller_items = client.get(reverse("api:ledger-item-list"), {"holder": lw.seller.pk})
    assert seller_items.json()["count"] == 0  # not the contractor's to list
    bad = client.get(reverse("api:ledger-item-list"), {"state": "melted"})
    assert bad.status_code == 400


def items_by_uid(client: Any, uid: str, *, language: str = "en", **more: Any) -> Any:
    return client.get(
        reverse("api:ledger-item-list"),
        {"chip_uid": uid, **more},
        HTTP_ACCEPT_LANGUAGE=language,
    )


def test_items_by_chip_uid(
    world: World, lw: LedgerWorld, api: Any, django_assert_max_num_queries: Any
) -> None:
    assert ingest_rows(chain(lw)).accepted
    client = api(world.unit_a_officer)  # the contractor: holds detonators 1 to 5
    items_by_uid(client, "0000000000000001")
    with django_assert_max_num_queries(2):  # the count and the page
        exact = items_by_uid(client, "0000000000000001")
    assert exact.status_code == 200
    assert [(r["code"], r["chip_uid"]) for r in exact.json()["results"]] == [
        (shell_code(1), "0000000000000001")
    ]
    # with the other filters, and spaces around it
    five = items_by_uid(client, " 0000000000000005 ", state="in_store")
    assert [r["code"] for r in five.json()["results"]] == [shell_code(5)]
    # any case: stored 000000000000000A
    ten = items_by_uid(api(world.city), "000000000000000a")
    assert [r["code"] for r in ten.json()["results"]] == [shell_code(10)]
    # exact: a well-formed prefix finds nothing
    assert items_by_uid(client, "00000000").json()["count"] == 0


def test_a_unit_searching_another_units_uid_gets_nothing(
    world: World, lw: LedgerWorld, api: Any
) -> None:
    assert ingest_rows(chain(lw)).accepted
    held_by_a = "0000000000000001"  # the contractor, unit A, holds it
    held_by_seller = "000000000000000A"  # still in the seller's magazine
    assert items_by_uid(api(world.unit_a_officer), held_by_a).json()["count"] == 1
    assert items_by_uid(api(world.unit_a_officer), held_by_seller).json()["count"] == 0
    for who in ("unit_b_officer", "county_b", "partner_user"):
        response = items_by_uid(api(getattr(world, who)), held_by_a)
        assert response.status_code == 200 and response.json()["count"] == 0, who
    assert items_by_uid(api(world.county_a), held_by_a).json()["count"] == 1


@pytest.mark.parametrize("uid", ["0C3E29B7000000XY", "1234567", "0" * 33, "0C3E-29B7", "—"])
def test_a_malformed_chip_uid_is_a_400_naming_it(
    world: World, lw: LedgerWorld, api: Any, uid: str
) -> None:
    response = items_by_uid(api(world.city), uid)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == {
        "chip_uid": ["A chip UID is 8 to 32 hexadecimal digits (0-9, A-F)."]
    }
    chinese = items_by_uid(api(world.city), uid, language="zh-hans")
    assert chinese.json()["errors"]["chip_uid"] != response.json()["errors"]["chip_uid"]


# --- anomalies -------------------------------------------------------------------------------
_anomalies = itertools.count(1)


def make_anomaly(unit: Enterprise, **fields: Any) -> Anomaly:
    n = next(_anomalies)
    data = {
        "key": f"lost:{shell_code(n, enterprise='71')}",
        "kind": Anomaly.Kind.LOST,
        "severity": Anomaly.Severity.HIGH,
        "enterprise": unit,
        "subject": shell_code(n, enterprise="71"),
        "product": "nonel_detonator",
        "quantity": Decimal(1),
        "evidence": {"events": [{"code": shell_code(n, enterprise="71"), "kind": "lost"}]},
        **fields,
    }
    return Anomaly.objects.create(**data)


class TestAnomalyIsolation(ScopedApiContract):
    list_route = "api:ledger-anomaly-list"
    detail_route = "api:ledger-anomaly-detail"
    page_route = "ledger-anomaly-list"
    partner_sees_a = False
    unit_sees_a = True

    def make(self, world: World, county: str) -> Any:
        return make_anomaly(world.unit_a if county == "430405" else world.unit_b)


def status_url(anomaly: Anomaly) -> str:
    return reverse("api:ledger-anomaly-change-status", args=[anomaly.pk])


def test_anomaly_filters(world: World, api: Any) -> None:
    lost = make_anomaly(world.unit_a, severity=Anomaly.Severity.CRITICAL)
    make_anomaly(world.unit_a, kind=Anomaly.Kind.LATE_FILING, severity=Anomaly.Severity.LOW)
    other = make_anomaly(world.unit_b, status=Anomaly.Status.CLOSED)
    client = api(world.city)
    url = reverse("api:ledger-anomaly-list")

    def ids(**query: Any) -> set[int]:
        response = client.get(url, query)
        assert response.status_code == 200, response.content
        return {r["id"] for r in response.json()["results"]}

    assert ids(severity="critical") == {lost.pk}
    assert ids(kind="lost", status="open") == {lost.pk}
    assert ids(county="430406") == {other.pk}
    assert ids(enterprise=world.unit_b.pk) == {other.pk}
    assert len(ids(county="430400")) == 3
    assert client.get(url, {"county": "999999"}).status_code == 400
    detail = client.get(reverse("api:ledger-anomaly-detail", args=[lost.pk])).json()
    assert detail["evidence"]["events"][0]["kind"] == "lost"
    assert "evidence" not in client.get(url).json()["results"][0]


def test_status_by_the_bureau(world: World, api: Any) -> None:
    anomaly = make_anomaly(world.unit_a)
    client = api(world.county_a)
    missing = client.post(status_url(anomaly), {"status": "closed"}, format="json")
    assert missing.status_code == 400 and "explanation" in missing.json()["errors"]
    confirmed = client.post(status_url(anomaly), {"status": "confirmed_loss"}, format="json")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed_loss"
    again = client.post(status_url(anomaly), {"status": "confirmed_loss"}, format="json")
    assert again.status_code == 409 and "open" in again.json()["allowed"]
    closed = client.post(
        status_url(anomaly), {"status": "closed", "explanation": "已立案侦查"}, format="json"
    )
    assert closed.status_code == 200
    anomaly.refresh_from_db()
    assert anomaly.status == "closed" and anomaly.explanation == "已立案侦查"
    other_county = api(world.county_b)
    assert (
        other_county.post(status_url(anomaly), {"status": "open"}, format="json").status_code == 404
    )
    bad = client.post(status_url(anomaly), {"status": "forgotten"}, format="json")
    assert bad.status_code == 400


def test_status_by_the_unit(world: World, api: Any) -> None:
    anomaly = make_anomaly(world.unit_a)
    officer = api(world.unit_a_officer)
    refused = officer.post(
        status_url(anomaly), {"status": "closed", "explanation": "x"}, format="json"
    )
    assert refused.status_code == 403
    explained = officer.post(
        status_url(anomaly),
        {"status": "explained", "explanation": "已在2号库找到，系记录错误"},
        format="json",
    )
    assert explained.status_code == 200 and explained.json()["status"] == "explained"
    # Once explained, the bureau decides.
    twice = officer.post(
        status_url(anomaly), {"status": "explained", "explanation": "again"}, format="json"
    )
    assert twice.status_code == 409
    employee = api(world.unit_a_employee)
    assert employee.get(reverse("api:ledger-anomaly-detail", args=[anomaly.pk])).status_code == 200
    assert (
        employee.post(
            status_url(anomaly), {"status": "explained", "explanation": "x"}, format="json"
        ).status_code
        == 403
    )
    assert (
        api(world.partner_user)
        .post(status_url(anomaly), {"status": "explained"}, format="json")
        .status_code
        == 404
    )


def test_status_change_is_audited(world: World, api: Any) -> None:
    from weibao.core.models import AuditEntry

    anomaly = make_anomaly(world.unit_a)
    api(world.county_a).post(status_url(anomaly), {"status": "confirmed_loss"}, format="json")
    entry = AuditEntry.objects.filter(object_id=str(anomaly.pk), action="update").get()
    assert entry.before["status"] == "open" and entry.after["status"] == "confirmed_loss"
    assert entry.actor_id == world.county_a.pk
