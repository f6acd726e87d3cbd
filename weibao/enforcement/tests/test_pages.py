"""The case pages: the list with its filters and counts, a case with its timeline, evidence,
documents and step forms, opening and editing a case, downloads, the quality review and its
per-county results, the legal provisions, the unit page's enforcement history and the menu."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from weibao.enforcement import services
from weibao.enforcement.models import (
    Case,
    CaseDocument,
    CaseEvent,
    CaseReview,
    CaseStatus,
    PenaltyItem,
)
from weibao.enforcement.selectors import GRADE_Q, review_results
from weibao.registry.models import Enterprise
from weibao.tests.factories import (
    CaseFactory,
    EnterpriseFactory,
    HazardFactory,
    PersonFactory,
    World,
    case_at,
    provision,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture(autouse=True)
def _today() -> None:
    """Today as of each test, not as of the import: a run crossing midnight (Asia/Shanghai)
    would otherwise build yesterday's deadlines against today's pages."""
    global TODAY
    TODAY = timezone.localdate()


PDF = b"%PDF-1.4\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def client(client: Any) -> Any:
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def pdf(name: str = "scan.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def case_a(world: World, **fields: Any) -> Case:
    """A case of unit A by county A's two officers under WSL Art. 102, fields set directly
    (no service, no document)."""
    fields.setdefault("enterprise", world.unit_a)
    case: Case = CaseFactory.create(
        agency=world.county_a_bureau,
        officers=[world.county_a, world.county_a2],
        provisions=[provision()],
        **fields,
    )
    return case


_numbers = iter(range(1, 10_000))


def registered(world: World, **fields: Any) -> Case:
    """A registered case (visible to its unit), set directly."""
    fields.setdefault("status", CaseStatus.REGISTERED)
    fields.setdefault("number", f"430405-{TODAY.year}-{next(_numbers):04d}")
    fields.setdefault("registered_on", TODAY - timedelta(days=3))
    case = case_a(world, **fields)
    CaseEvent.objects.create(
        case=case,
        action=CaseEvent.Action.REGISTER,
        from_status=CaseStatus.PROPOSED,
        to_status=case.status,
        actor=world.county_a,
    )
    return case


def detail_url(case: Case) -> str:
    return reverse("case-detail", args=[case.pk])


def step_url(case: Case, action: str) -> str:
    return reverse("case-action", args=[case.pk, action])


def body(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return str(response.content.decode())


def texts(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def steps_shown(client: Any, case: Case) -> list[str]:
    response = client.get(detail_url(case))
    return [s["name"] for s in response.context["steps"]]


# --- access and isolation -------------------------------------------------------------------------
def test_anonymous_is_sent_to_sign_in(client: Any, world: World) -> None:
    case = case_a(world)
    urls = [
        reverse("case-list"),
        reverse("case-create"),
        reverse("case-reviews"),
        reverse("provision-list"),
        detail_url(case),
        reverse("case-edit", args=[case.pk]),
        reverse("case-document", args=[case.pk, 1]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    response = client.post(step_url(case, "drop"), {"drop-reason": "x"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    case.refresh_from_db()
    assert case.status == CaseStatus.PROPOSED


@pytest.mark.parametrize("who", ["city", "county_a", "admin", "unit_a_officer", "unit_a_employee"])
def test_pages_render_in_english(client: Any, world: World, who: str) -> None:
    case = registered(world)
    client.force_login(getattr(world, who))
    assert "Enforcement cases" in body(client.get(reverse("case-list")))
    page = body(client.get(detail_url(case)))
    assert "Provisions applied" in page and "Timeline" in page and case.reference in page
    assert "Legal provisions" in body(client.get(reverse("provision-list")))


@pytest.mark.parametrize("who", ["city", "county_a", "admin"])
def test_new_case_page_for_regulators(client: Any, world: World, who: str) -> None:
    client.force_login(getattr(world, who))
    assert "New case" in body(client.get(reverse("case-create")))
    assert 'data-testid="new-case"' in body(client.get(reverse("case-list")))


@pytest.mark.parametrize("who", ["unit_a_officer", "unit_a_principal", "partner_user"])
def test_new_case_and_reviews_pages_refused_to_others(client: Any, world: World, who: str) -> None:
    client.force_login(getattr(world, who))
    assert client.get(reverse("case-create")).status_code == 403
    assert client.get(reverse("case-reviews")).status_code == 403
    assert 'data-testid="new-case"' not in body(client.get(reverse("case-list")))


@pytest.mark.parametrize("who", ["county_b", "unit_b_officer", "partner_user"])
def test_outsiders_get_404_and_see_nothing(client: Any, world: World, who: str) -> None:
    case = registered(world)
    document = services.store_upload(case, CaseDocument.Kind.EVIDENCE, pdf(), world.county_a)
    client.force_login(getattr(world, who))
    assert client.get(detail_url(case)).status_code == 404
    assert client.get(reverse("case-edit", args=[case.pk])).status_code == 404
    assert client.get(reverse("case-document", args=[case.pk, document.pk])).status_code == 404
    assert client.post(step_url(case, "drop"), {"drop-reason": "x"}).status_code == 404
    assert client.post(step_url(case, "investigate"), {}).status_code == 404
    case.refresh_from_db()
    assert case.status == CaseStatus.REGISTERED
    page = body(client.get(reverse("case-list")))
    assert case.reference not in page
    assert 'data-testid="count">0<' in page


def test_unit_sees_only_its_registered_cases(client: Any, world: World) -> None:
    proposal = case_a(world, title="内部立案审查")
    mine = registered(world, title="本单位的案件")
    other = registered(world, enterprise=world.unit_b, title="别家的案件")
    client.force_login(world.unit_a_officer)
    page = body(client.get(reverse("case-list")))
    assert mine.reference in page
    assert proposal.reference not in page and other.reference not in page
    assert client.get(detail_url(proposal)).status_code == 404
    assert client.get(detail_url(other)).status_code == 404
    assert steps_shown(client, mine) == []  # a unit takes no step on its own case
    response = client.post(step_url(mine, "investigate"), {}, follow=True)
    assert "Only the case's handling officers" in " ".join(texts(response))
    mine.refresh_from_db()
    assert mine.status == CaseStatus.REGISTERED


def test_document_of_another_case_is_404(client: Any, world: World) -> None:
    case, other = registered(world), registered(world)
    document = services.store_upload(other, CaseDocument.Kind.EVIDENCE, pdf(), world.county_a)
    client.force_login(world.county_a)
    assert client.get(reverse("case-document", args=[case.pk, document.pk])).status_code == 404
    assert client.get(reverse("case-document", args=[other.pk, document.pk])).status_code == 200


# --- list -----------------------------------------------------------------------------------------
def test_list_shows_cases_with_deadline_state_and_officers(client: Any, world: World) -> None:
    late = registered(world, deadline=TODAY - timedelta(days=2), title="逾期未决定")
    soon = registered(world, deadline=TODAY, title="今日到期")
    later = registered(world, deadline=TODAY + timedelta(days=60), title="尚早")
    client.force_login(world.county_a)
    response = client.get(reverse("case-list"))
    page = body(response)
    states = {c.pk: state for c, state in response.context["rows"]}
    assert states == {late.pk: "passed", soon.pk: "near", later.pk: ""}
    assert 'data-testid="passed"' in page and 'data-testid="near"' in page
    assert str(world.county_a) in page and world.unit_a.name in page
    # Open work first, by deadline.
    assert [c.pk for c, _ in response.context["rows"]] == [late.pk, soon.pk, later.pk]


def test_list_filters_and_counts(client: Any, world: World) -> None:
    proposal = case_a(world, title="拟立案")
    late = registered(world, deadline=TODAY - timedelta(days=1), title="防盗门损坏")
    closed = registered(world, status=CaseStatus.CLOSED, deadline=None, title="已结案")
    b = registered(world, enterprise=world.unit_b, title="雁峰的案件")
    client.force_login(world.city)

    def shown(**params: Any) -> set[int]:
        response = client.get(reverse("case-list"), params)
        assert response.status_code == 200
        return {c.pk for c, _ in response.context["rows"]}

    assert shown() == {proposal.pk, late.pk, closed.pk, b.pk}
    assert shown(status="registered") == {late.pk, b.pk}
    assert shown(jurisdiction=world.unit_b.jurisdiction_id) == {b.pk}
    assert shown(deadline="passed") == {late.pk}
    assert shown(deadline="due") == {late.pk}
    assert shown(search="防盗门") == {late.pk}
    assert shown(search=late.number) == {late.pk}
    assert shown(enterprise=world.unit_b.pk) == {b.pk}
    assert shown(mine="true") == set()  # the city officer handles none of them
    assert shown(status="nonsense") == set()  # an invalid filter shows nothing, never all
    # Counts per status, for the county chosen.
    response = client.get(reverse("case-list"), {"jurisdiction": world.unit_a.jurisdiction_id})
    counts = {s["status"]: s["count"] for s in response.context["status_counts"]}
    assert counts["proposed"] == 1 and counts["registered"] == 1 and counts["closed"] == 1
    client.force_login(world.county_a)
    assert shown(mine="true") == {proposal.pk, late.pk, closed.pk}
    response = client.get(reverse("case-list"))
    assert "jurisdiction" not in response.context["form"].fields  # one county only
    assert response.context["status_counts"][1]["count"] == 1  # county B's case not counted


def test_list_paginates(client: Any, world: World) -> None:
    for _ in range(52):
        case_a(world)
    client.force_login(world.county_a)
    page = body(client.get(reverse("case-list"), {"status": "proposed"}))
    assert "Page 1 of 2" in page and "status=proposed&amp;page=2" in page
    assert len(client.get(reverse("case-list"), {"page": 2}).context["rows"]) == 2


def test_list_query_count_is_constant(client: Any, world: World) -> None:
    client.force_login(world.city)

    def measure() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("case-list")).status_code == 200
        return len(queries)

    for _ in range(3):
        registered(world)
    few = measure()
    for i in range(27):
        unit = EnterpriseFactory.create(jurisdiction_id=("430405", "430406")[i % 2])
        registered(world, enterprise=unit, deadline=TODAY + timedelta(days=i - 5))
    assert measure() == few <= 12


# --- a case ---------------------------------------------------------------------------------------
def test_case_page_shows_facts_provisions_penalties_evidence_and_timeline(
    client: Any, world: World
) -> None:
    hazard = HazardFactory.create(enterprise=world.unit_a)
    person = PersonFactory.create(enterprise=world.unit_a)
    case = registered(
        world,
        status=CaseStatus.DECIDED,
        decided_on=TODAY,
        deadline=TODAY - timedelta(days=1),
        facts="经查，库房防盗门损坏。",
        evidence=[{"rule": "major_overdue", "hazard_id": hazard.pk, "reference": "YH-1"}],
    )
    case.hazards.set([hazard])
    case.persons.set([person])
    PenaltyItem.objects.create(
        case=case,
        provision=provision(),
        kind="fine",
        amount=Decimal("30000"),
        paid_on=TODAY,
        receipt_number="FS-77",
    )
    document = services.store_upload(case, CaseDocument.Kind.EVIDENCE, pdf("photo.pdf"), None)
    CaseEvent.objects.create(
        case=case,
        action=CaseEvent.Action.PAY,
        to_status=case.status,
        actor=world.county_a,
        data={"amount": "30000.00", "paid_on": TODAY.isoformat(), "receipt_number": "FS-77"},
        document=document,
    )
    client.force_login(world.county_a)
    page = body(client.get(detail_url(case)))
    for text in (
        "经查，库房防盗门损坏。",
        person.name,
        str(world.county_a2),
        "text not yet verified",
        "30,000.00",
        "FS-77",
        "Major hazard overdue",
        reverse("hazard-detail", args=[hazard.pk]),
        hazard.reference,
        reverse("case-document", args=[case.pk, document.pk]),
        "uploaded",
        "Payment recorded",
        "30,000.00 yuan paid on",
        f"Deadline {case.deadline:%Y-%m-%d} passed",
        reverse("enterprise-detail", args=[world.unit_a.pk]),
    ):
        assert text in page, text


def test_case_page_query_count_is_constant(client: Any, world: World) -> None:
    case = registered(world, status=CaseStatus.DECIDED, decided_on=TODAY)
    client.force_login(world.county_a)

    def measure() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(detail_url(case)).status_code == 200
        return len(queries)

    def grow(count: int) -> None:
        for _ in range(count):
            document = services.store_upload(case, CaseDocument.Kind.EVIDENCE, pdf(), None)
            CaseEvent.objects.create(
                case=case, action=CaseEvent.Action.ATTACH, to_status=case.status, document=document
            )
            PenaltyItem.objects.create(
                case=case, provision=provision(), kind="fine", amount=Decimal("20000")
            )
            case.hazards.add(HazardFactory.create(enterprise=world.unit_a))
            case.persons.add(PersonFactory.create(enterprise=world.unit_a))

    grow(2)
    few = measure()
    grow(20)
    assert measure() == few <= 15


def test_steps_follow_status_and_role(client: Any, world: World) -> None:
    proposal = case_a(world)
    client.force_login(world.county_b)
    assert client.get(detail_url(proposal)).status_code == 404
    client.force_login(world.county_a)
    assert steps_shown(client, proposal) == ["register", "attach", "drop"]
    assert 'data-testid="edit"' in body(client.get(detail_url(proposal)))
    decided = registered(world, status=CaseStatus.DECIDED, decided_on=TODAY)
    PenaltyItem.objects.create(
        case=decided, provision=provision(), kind="fine", amount=Decimal("20000")
    )
    assert steps_shown(client, decided) == ["pay", "attach"]  # execute waits for the payment
    notified = registered(
        world, status=CaseStatus.NOTIFIED, defence_deadline=TODAY + timedelta(days=3)
    )
    assert steps_shown(client, notified) == ["defence", "attach", "drop"]  # decide waits
    # A county officer not named on the case sees it but takes no step.
    other = registered(world)
    other.officers.set([world.county_a2])
    assert steps_shown(client, other) == []
    closed = registered(world, status=CaseStatus.CLOSED, closed_on=TODAY)
    assert steps_shown(client, closed) == []  # an officer of the case never reviews it
    client.force_login(world.city)
    assert steps_shown(client, closed) == ["review"]


# --- steps through the pages ----------------------------------------------------------------------
def test_a_step_through_the_page(client: Any, world: World) -> None:
    case = registered(world)
    client.force_login(world.county_a)
    response = client.post(step_url(case, "investigate"), {"investigate-note": "调取台账"})
    assert response.status_code == 302 and response["Location"] == detail_url(case)
    case.refresh_from_db()
    assert case.status == CaseStatus.INVESTIGATING
    event = case.events.get(action=CaseEvent.Action.INVESTIGATE)
    assert event.actor == world.county_a and event.note == "调取台账"
    page = body(client.get(detail_url(case)))
    assert "Investigation started." in page and "调取台账" in page
    assert "Registered → Under investigation" in page


def test_a_bad_post_shows_the_field_error_and_writes_nothing(client: Any, world: World) -> None:
    case = registered(world)
    client.force_login(world.county_a)
    response = client.post(step_url(case, "drop"), {"drop-reason": "  "})
    page = body(response)
    assert "Give the reason for dropping the case." in page
    assert "Nothing was saved: correct the form below." in page
    step = next(s for s in response.context["steps"] if s["name"] == "drop")
    assert step["open"] and step["form"].errors["reason"]
    case.refresh_from_db()
    assert case.status == CaseStatus.REGISTERED and case.events.count() == 1


def test_a_step_the_status_does_not_allow_is_a_message(client: Any, world: World) -> None:
    case = registered(world)
    client.force_login(world.county_a)
    response = client.post(step_url(case, "execute"), {}, follow=True)
    assert "does not allow the step" in " ".join(texts(response))
    case.refresh_from_db()
    assert case.status == CaseStatus.REGISTERED
    assert client.post(step_url(case, "nonsense"), {}).status_code == 404


def test_drop_and_attach_through_the_page(client: Any, world: World) -> None:
    case = case_a(world)
    client.force_login(world.county_a)
    response = client.post(
        step_url(case, "attach"), {"attach-kind": "evidence", "attach-uploads": [pdf("现场.pdf")]}
    )
    assert response.status_code == 302
    document = case.documents.get()
    assert document.kind == "evidence" and not document.generated
    download = client.get(reverse("case-document", args=[case.pk, document.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    bad = client.post(
        step_url(case, "attach"),
        {"attach-kind": "evidence", "attach-uploads": [SimpleUploadedFile("x.exe", b"MZ")]},
    )
    assert bad.status_code == 200
    assert next(s for s in bad.context["steps"] if s["name"] == "attach")["form"].errors["uploads"]
    assert "Dismiss the proposal" in body(client.get(detail_url(case)))
    response = client.post(
        step_url(case, "drop"), {"drop-reason": "事实不清，证据不足"}, follow=True
    )
    assert "Proposal dismissed." in texts(response)
    case.refresh_from_db()
    assert case.status == CaseStatus.DROPPED and case.drop_reason == "事实不清，证据不足"
    assert "事实不清，证据不足" in body(client.get(detail_url(case)))


def test_payment_per_fine_through_the_page(client: Any, world: World) -> None:
    case = registered(world, status=CaseStatus.DECIDED, decided_on=TODAY)
    fine = PenaltyItem.objects.create(
        case=case, provision=provision(), kind="fine", amount=Decimal("20000")
    )
    client.force_login(world.county_a)
    missing = client.post(
        step_url(case, "pay"), {"pay-item": fine.pk, "pay-paid_on": TODAY.isoformat()}
    )
    assert "Give the receipt number." in body(missing)
    client.post(
        step_url(case, "pay"),
        {"pay-item": fine.pk, "pay-paid_on": TODAY.isoformat(), "pay-receipt_number": "FS-9"},
    )
    fine.refresh_from_db()
    assert fine.paid_on == TODAY and fine.receipt_number == "FS-9"
    assert steps_shown(client, case) == ["execute", "attach"]
    client.post(step_url(case, "execute"), {})
    case.refresh_from_db()
    assert case.status == CaseStatus.EXECUTED


def test_review_through_the_page_and_results_per_county(client: Any, world: World) -> None:
    case = registered(world, status=CaseStatus.CLOSED, closed_on=TODAY)
    registered(world, enterprise=world.unit_b, status=CaseStatus.CLOSED, closed_on=TODAY)
    client.force_login(world.city)
    bad = client.post(step_url(case, "review"), {"review-score": "101"})
    assert next(s for s in bad.context["steps"] if s["name"] == "review")["form"].errors["score"]
    criteria = {f"review-{name}": "on" for name in CaseReview.CRITERIA}
    client.post(step_url(case, "review"), {**criteria, "review-score": "92"})
    review = CaseReview.objects.get(case=case)
    assert review.reviewer == world.city and review.grade == "excellent"
    assert "Model case" in body(client.get(detail_url(case)))
    assert steps_shown(client, case) == []  # reviewed once
    response = client.get(reverse("case-reviews"))
    page = body(response)
    rows = {r.code: r for r in response.context["results"]}
    a, b = world.unit_a.jurisdiction_id, world.unit_b.jurisdiction_id
    assert rows[a].closed == 1 and rows[a].reviewed == 1 and rows[a].average == Decimal("92.0")
    assert rows[a].grades["excellent"] == 1
    assert rows[b].closed == 1 and rows[b].reviewed == 0 and rows[b].average is None
    assert case.reference in page and "Model case" in page
    client.force_login(world.county_b)
    response = client.get(reverse("case-reviews"))
    assert [r.code for r in response.context["results"]] == [b]
    assert case.reference not in body(response)


def test_review_grades_in_sql_match_the_model(world: World) -> None:
    all_met = dict.fromkeys(CaseReview.CRITERIA, True)
    one_missed = {**all_met, "documents_complete": False}
    for score, criteria in (
        (95, all_met),
        (95, one_missed),
        (90, all_met),
        (80, all_met),
        (75, one_missed),
        (70, all_met),
        (60, one_missed),
        (59, all_met),
        (0, one_missed),
    ):
        case = registered(world, status=CaseStatus.CLOSED, closed_on=TODAY)
        CaseReview.objects.create(case=case, reviewer=world.city, score=score, **criteria)
    for grade, q in GRADE_Q.items():
        in_sql = set(Case.objects.filter(q).values_list("review__pk", flat=True))
        in_python = {r.pk for r in CaseReview.objects.all() if r.grade == grade}
        assert in_sql == in_python, grade
    (row,) = [r for r in review_results(world.city) if r.reviewed]
    assert sum(row.grades.values()) == row.reviewed == 9


def test_reviews_page_query_count_is_constant(client: Any, world: World) -> None:
    client.force_login(world.city)

    def measure() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("case-reviews")).status_code == 200
        return len(queries)

    def add(count: int) -> None:
        for i in range(count):
            unit = (world.unit_a, world.unit_b)[i % 2]
            case = registered(world, enterprise=unit, status=CaseStatus.CLOSED)
            CaseReview.objects.create(
                case=case,
                reviewer=world.city,
                score=70 + i,
                **dict.fromkeys(CaseReview.CRITERIA, True),
            )

    add(2)
    few = measure()
    add(12)
    assert measure() == few <= 10


# --- opening and editing --------------------------------------------------------------------------
def test_regulator_opens_a_case_for_a_unit_it_supervises(client: Any, world: World) -> None:
    hazard = HazardFactory.create(enterprise=world.unit_a)
    person = PersonFactory.create(enterprise=world.unit_a)
    client.force_login(world.county_a)
    page = client.get(reverse("case-create"), {"enterprise": world.unit_a.pk})
    text = body(page)
    assert hazard.reference in text and person.name in text and str(world.county_a2) in text
    assert str(world.county_b) not in text
    # Officers offered: county A's (a county officer does not see the city's).
    offered = {u.pk for u in page.context["form"].fields["officers"].queryset}
    assert offered == {world.county_a.pk, world.county_a2.pk}
    response = client.post(
        reverse("case-create"),
        {
            "enterprise": world.unit_a.pk,
            "title": "未采取措施消除事故隐患",
            "facts": "经查……",
            "provisions": [provision().pk],
            "officers": [world.county_a.pk, world.county_a2.pk],
            "persons": [person.pk],
            "hazards": [hazard.pk],
        },
    )
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == detail_url(case)
    assert case.status == CaseStatus.PROPOSED and case.created_by == world.county_a
    assert set(case.officers.all()) == {world.county_a, world.county_a2}
    assert list(case.hazards.all()) == [hazard] and list(case.persons.all()) == [person]
    assert case.deadline is not None


def test_opening_a_case_with_bad_input_shows_errors(client: Any, world: World) -> None:
    client.force_login(world.county_a)
    empty = client.post(reverse("case-create"), {"enterprise": world.unit_a.pk, "title": ""})
    assert empty.context["form"].errors["title"]
    outside = client.post(reverse("case-create"), {"enterprise": world.unit_b.pk, "title": "x"})
    assert outside.context["form"].errors["enterprise"]
    someone_else = HazardFactory.create(enterprise=world.unit_b)
    wrong = client.post(
        reverse("case-create"),
        {"enterprise": world.unit_a.pk, "title": "x", "hazards": [someone_else.pk]},
    )
    assert wrong.context["form"].errors["hazards"]
    assert not Case.objects.exists()


def test_edit_names_the_officers_of_an_escalation_proposal(client: Any, world: World) -> None:
    case: Case = CaseFactory.create(
        enterprise=world.unit_a, agency=world.county_a_bureau, origin=Case.Origin.ESCALATION
    )
    client.force_login(world.county_a)
    assert "None yet" in body(client.get(detail_url(case)))
    url = reverse("case-edit", args=[case.pk])
    assert case.title in body(client.get(url))
    response = client.post(
        url,
        {
            "title": case.title,
            "facts": "补充事实",
            "provisions": [provision().pk],
            "officers": [world.county_a.pk, world.county_a2.pk],
            "enterprise": world.unit_b.pk,  # ignored: a case never moves to another unit
        },
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.facts == "补充事实" and case.enterprise == world.unit_a
    assert case.officers.count() == 2
    assert case.events.filter(action=CaseEvent.Action.UPDATED).exists()
    # After the notice the case cannot be changed: the page says so.
    notified = registered(world, status=CaseStatus.NOTIFIED)
    response = client.get(reverse("case-edit", args=[notified.pk]), follow=True)
    assert "only until the intended penalty is notified" in " ".join(texts(response))
    client.force_login(world.unit_a_officer)
    assert client.get(reverse("case-edit", args=[notified.pk])).status_code == 403


# --- the procedure through the pages (real services, documents included) --------------------------
def test_whole_procedure_through_the_pages(client: Any, world: World) -> None:
    case = case_a(world)
    client.force_login(world.county_a)

    def post(action: str, data: dict[str, Any]) -> Any:
        response = client.post(step_url(case, action), data)
        assert response.status_code == 302, (action, response.context and _errors(response))
        case.refresh_from_db()
        return response

    post("register", {"register-number": "珠公（治）立字〔2025〕7号"})
    assert case.status == CaseStatus.REGISTERED and case.number == "珠公（治）立字〔2025〕7号"
    post("investigate", {})
    items = {
        "notify-items-TOTAL_FORMS": "2",
        "notify-items-INITIAL_FORMS": "0",
        "notify-items-0-provision": provision().pk,
        "notify-items-0-kind": "fine",
        "notify-items-0-amount": "30000",
    }
    post("notify", items)
    assert case.status == CaseStatus.NOTIFIED
    assert [p.amount for p in case.penalties.all()] == [Decimal("30000.00")]
    post("defence", {"defence-waived": "on", "defence-uploads": [pdf("waiver.pdf")]})
    assert case.defence_waived
    # The decision form comes filled in with the notified penalty: submitted as is, it keeps it.
    page = client.get(detail_url(case))
    decide = next(s for s in page.context["steps"] if s["name"] == "decide")
    assert decide["penalties"].initial[0]["amount"] == Decimal("30000.00")
    item = case.penalties.get()
    post(
        "decide",
        {
            "decide-items-TOTAL_FORMS": "1",
            "decide-items-INITIAL_FORMS": "1",
            "decide-items-0-provision": provision().pk,
            "decide-items-0-kind": "fine",
            "decide-items-0-amount": "30000.00",
        },
    )
    assert case.status == CaseStatus.DECIDED and case.penalties.get().pk == item.pk
    post(
        "pay",
        {"pay-item": item.pk, "pay-paid_on": TODAY.isoformat(), "pay-receipt_number": "FS-1"},
    )
    post("execute", {})
    post("close", {})
    assert case.status == CaseStatus.CLOSED
    page = body(client.get(detail_url(case)))
    generated = case.documents.filter(generated=True)
    assert {d.kind for d in generated} == {
        "registration_approval",
        "penalty_notice",
        "penalty_decision",
        "file_cover",
    }
    for document in case.documents.all():
        assert reverse("case-document", args=[case.pk, document.pk]) in page
        download = client.get(reverse("case-document", args=[case.pk, document.pk]))
        assert download.status_code == 200
    assert "issued by the system" in page
    # The unit sees its case and the documents served on it.
    client.force_login(world.unit_a_officer)
    decision = generated.get(kind="penalty_decision")
    assert client.get(reverse("case-document", args=[case.pk, decision.pk])).status_code == 200


def test_notify_errors_land_on_the_penalty_item(client: Any, world: World) -> None:
    case = case_at(world, "investigating")
    client.force_login(world.county_a)
    high = provision().fine_max + 1  # type: ignore[operator]
    response = client.post(
        step_url(case, "notify"),
        {
            "notify-items-TOTAL_FORMS": "2",
            "notify-items-INITIAL_FORMS": "0",
            "notify-items-0-provision": provision().pk,
            "notify-items-0-kind": "fine",
            "notify-items-0-amount": str(high),
        },
    )
    page = body(response)
    assert "above the maximum" in page
    step = next(s for s in response.context["steps"] if s["name"] == "notify")
    assert step["penalties"].forms[0].errors["amount"]
    missing_kind = client.post(
        step_url(case, "notify"),
        {
            "notify-items-TOTAL_FORMS": "1",
            "notify-items-INITIAL_FORMS": "0",
            "notify-items-0-provision": provision().pk,
        },
    )
    step = next(s for s in missing_kind.context["steps"] if s["name"] == "notify")
    assert step["penalties"].forms[0].errors["kind"]
    nothing = client.post(  # the one item removed
        step_url(case, "notify"),
        {
            "notify-items-TOTAL_FORMS": "1",
            "notify-items-INITIAL_FORMS": "0",
            "notify-items-0-provision": provision().pk,
            "notify-items-0-kind": "fine",
            "notify-items-0-DELETE": "on",
        },
    )
    assert "Give at least one penalty." in body(nothing)
    case.refresh_from_db()
    assert case.status == CaseStatus.INVESTIGATING and not case.penalties.exists()


def test_decide_too_early_is_hidden_and_refused(client: Any, world: World) -> None:
    case = case_at(world, "notified")
    client.force_login(world.county_a)
    assert "decide" not in steps_shown(client, case)
    response = client.post(
        step_url(case, "decide"),
        {"decide-items-TOTAL_FORMS": "0", "decide-items-INITIAL_FORMS": "0"},
        follow=True,
    )
    assert "The defence period runs until" in " ".join(texts(response))
    case.refresh_from_db()
    assert case.status == CaseStatus.NOTIFIED


def test_defence_with_hearing_request_then_the_hearing(client: Any, world: World) -> None:
    case = case_at(world, "notified", fine="30000")
    assert case.hearing_available
    client.force_login(world.county_a)
    both = client.post(
        step_url(case, "defence"), {"defence-waived": "on", "defence-statement": "我方已整改"}
    )
    assert "waives its defence states none" in body(both)
    client.post(
        step_url(case, "defence"),
        {"defence-statement": "我方已整改", "defence-hearing_requested": "on"},
    )
    case.refresh_from_db()
    assert case.hearing_requested and case.defence_statement == "我方已整改"
    assert "hearing" in steps_shown(client, case)
    future = (TODAY + timedelta(days=1)).isoformat()
    response = client.post(
        step_url(case, "hearing"), {"hearing-held_on": future, "hearing-record": "听证笔录"}
    )
    step = next(s for s in response.context["steps"] if s["name"] == "hearing")
    assert step["form"].errors["held_on"]
    client.post(
        step_url(case, "hearing"),
        {
            "hearing-held_on": TODAY.isoformat(),
            "hearing-record": "听证笔录",
            "hearing-uploads": [pdf("hearing.pdf")],
        },
    )
    case.refresh_from_db()
    assert case.hearing_held_on == TODAY and case.hearing_record == "听证笔录"
    assert case.documents.filter(kind="hearing_record").count() == 1
    assert "hearing" not in steps_shown(client, case)
    assert "Hearing held" in body(client.get(detail_url(case)))


def test_decision_may_lighten_never_aggravate(client: Any, world: World) -> None:
    case = case_at(world, "notified", fine="30000")
    services.case_record_defence(
        actor=world.county_a, case=case, waived=True, files=[pdf("waiver.pdf")]
    )
    client.force_login(world.county_a)

    def decide(amount: str) -> Any:
        return client.post(
            step_url(case, "decide"),
            {
                "decide-items-TOTAL_FORMS": "1",
                "decide-items-INITIAL_FORMS": "1",
                "decide-items-0-provision": provision().pk,
                "decide-items-0-kind": "fine",
                "decide-items-0-amount": amount,
            },
        )

    heavier = decide("40000")
    assert "exceeds the notified" in body(heavier)
    case.refresh_from_db()
    assert case.status == CaseStatus.NOTIFIED
    assert decide("20000").status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.DECIDED
    assert [p.amount for p in case.penalties.all()] == [Decimal("20000.00")]


def _errors(response: Any) -> Any:
    return [s["form"].errors for s in response.context.get("steps", []) if s["form"].errors]


# --- provisions, the unit page and the menu -------------------------------------------------------
def test_provisions_page_shows_the_verified_flag(client: Any, world: World) -> None:
    checked = provision("wsl-2021-102")
    checked.verified = True
    checked.save()
    client.force_login(world.unit_a_officer)
    response = client.get(reverse("provision-list"))
    page = body(response)
    assert "text not yet verified" in page and "verified</span>" in page
    assert "not yet verified against the official text" in page
    assert "Fine on the unit:" in page


def test_unit_page_lists_its_enforcement_history(client: Any, world: World) -> None:
    proposal = case_a(world, title="内部审查")
    decided = registered(world, status=CaseStatus.DECIDED, decided_on=TODAY, title="逾期未整改")
    PenaltyItem.objects.create(
        case=decided, provision=provision(), kind="fine", amount=Decimal("30000")
    )
    PenaltyItem.objects.create(
        case=decided, provision=provision(), kind="person_fine", amount=Decimal("5000")
    )
    url = reverse("enterprise-detail", args=[world.unit_a.pk])
    client.force_login(world.county_a)
    page = body(client.get(url))
    assert "Enforcement history" in page
    assert decided.reference in page and proposal.reference in page and "35,000.00" in page
    client.force_login(world.unit_a_officer)
    page = body(client.get(url))
    assert decided.reference in page and proposal.reference not in page
    client.force_login(world.partner_user)  # partners see the unit, never its cases
    page = body(client.get(url))
    assert "Enforcement history" not in page and decided.reference not in page


def test_unit_page_query_count_does_not_grow_with_cases(client: Any, world: World) -> None:
    url = reverse("enterprise-detail", args=[world.unit_a.pk])
    client.force_login(world.city)

    def measure() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    registered(world)
    few = measure()
    for _ in range(10):
        case = registered(world)
        PenaltyItem.objects.create(
            case=case, provision=provision(), kind="fine", amount=Decimal("20000")
        )
    assert measure() == few


@pytest.mark.parametrize("who", ["city", "county_a", "unit_a_officer", "admin"])
def test_menu_has_cases(client: Any, world: World, who: str) -> None:
    client.force_login(getattr(world, who))
    page = body(client.get(reverse("home")))
    assert f'<li><a href="{reverse("case-list")}">Cases</a></li>' in page


def test_partner_menu_has_no_cases(client: Any, world: World) -> None:
    client.force_login(world.partner_user)
    assert f'href="{reverse("case-list")}"' not in body(client.get(reverse("home")))


def test_units_outside_scope_are_not_offered(client: Any, world: World) -> None:
    client.force_login(world.county_a)
    response = client.get(reverse("case-create"))
    offered = set(response.context["form"].fields["enterprise"].queryset)
    assert world.unit_a in offered and world.unit_b not in offered
    assert isinstance(next(iter(offered)), Enterprise)
