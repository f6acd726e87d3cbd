"""The case procedure at the service level: each step, each refusal, nothing written on failure."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation

from weibao.core.errors import DomainError, ServiceValidationError
from weibao.enforcement import services
from weibao.enforcement.models import Case, CaseDocument, CaseEvent, PenaltyItem
from weibao.registry.models import Enterprise, Permit
from weibao.tests.factories import (
    CaseFactory,
    HazardFactory,
    PermitFactory,
    PersonFactory,
    World,
    case_at,
    provision,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Any:
    # Messages are asserted in English (the catalogue translates them for Chinese readers).
    with translation.override("en"):
        yield


PDF = b"%PDF-1.4\n%%EOF\n"


def scan(name: str = "waiver.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def fine(amount: str, code: str = "wsl-2021-102", **extra: Any) -> dict[str, Any]:
    return {"provision": provision(code), "kind": "fine", "amount": Decimal(amount), **extra}


def snapshot(case: Case) -> tuple[Any, ...]:
    """What a refused step must leave untouched."""
    case.refresh_from_db()
    return (
        case.status,
        case.number,
        case.deadline,
        CaseEvent.objects.filter(case=case).count(),
        CaseDocument.objects.filter(case=case).count(),
        PenaltyItem.objects.filter(case=case).count(),
    )


def test_full_procedure_each_step_on_the_timeline_with_its_document(world: World) -> None:
    hazard = HazardFactory.create(enterprise=world.unit_a)
    case = services.case_create(
        actor=world.county_a,
        data={
            "enterprise": world.unit_a,
            "title": "未采取措施消除事故隐患",
            "facts": "库房防盗门损坏，逾期未整改。",
            "officers": [world.county_a, world.county_a2],
            "provisions": [provision()],
            "hazards": [hazard],
        },
    )
    assert case.status == "proposed" and case.agency == world.county_a_bureau
    assert case.deadline is not None
    case = services.case_register(actor=world.county_a, case=case)
    assert case.number and case.number.startswith(f"{world.county_a_bureau.jurisdiction_id}-")
    assert case.decision_due == case.registered_on + timedelta(days=90)  # type: ignore[operator]
    case = services.case_investigate(actor=world.county_a2, case=case)
    case = services.case_notify(actor=world.county_a, case=case, items=[fine("30000")])
    assert case.defence_deadline is not None and case.defence_deadline > timezone.localdate()
    assert case.hearing_available  # 30,000 yuan on a unit is above the hearing threshold
    case = services.case_record_defence(
        actor=world.county_a, case=case, waived=True, files=[scan()]
    )
    case = services.case_decide(actor=world.county_a, case=case)
    assert case.payment_due == timezone.localdate() + timedelta(days=15)
    item = case.penalties.get()
    services.case_record_payment(
        actor=world.county_a,
        case=case,
        item=item,
        paid_on=timezone.localdate(),
        receipt_number="FS-2026-001",
    )
    case = services.case_execute(actor=world.county_a, case=case)
    case = services.case_close(actor=world.county_a, case=case)
    assert case.status == "closed" and case.deadline is None
    actions = list(case.events.values_list("action", flat=True))
    assert actions == [
        "created",
        "register",
        "investigate",
        "notify",
        "defence",
        "decide",
        "pay",
        "execute",
        "close",
    ]
    kinds = set(case.documents.values_list("kind", flat=True))
    assert kinds == {
        "registration_approval",
        "penalty_notice",
        "defence_waiver",
        "penalty_decision",
        "file_cover",
    }
    register = case.events.get(action="register")
    assert register.actor == world.county_a and register.document is not None
    assert register.document.kind == "registration_approval"


def test_numbers_follow_the_bureau_sequence_without_gaps(world: World) -> None:
    first = case_at(world, "registered")
    second = case_at(world, "registered")
    year = timezone.localdate().year
    code = world.county_a_bureau.jurisdiction_id
    assert first.number == f"{code}-{year}-0001"
    assert second.number == f"{code}-{year}-0002"


def test_a_skipped_step_is_refused_naming_the_allowed_ones(world: World) -> None:
    case = case_at(world, "registered")
    before = snapshot(case)
    with pytest.raises(DomainError) as exc:
        services.case_notify(actor=world.county_a, case=case, items=[fine("1000")])
    assert set(exc.value.extra["allowed"]) == {"investigate", "drop"}
    assert exc.value.extra["current_status"] == "registered"
    with pytest.raises(DomainError):
        services.case_decide(actor=world.county_a, case=case)
    with pytest.raises(DomainError):
        services.case_close(actor=world.county_a, case=case)
    assert snapshot(case) == before


def test_registration_needs_two_officers_facts_and_a_provision(world: World) -> None:
    case = CaseFactory.create(
        enterprise=world.unit_a, agency=world.county_a_bureau, officers=[world.county_a], facts=""
    )
    before = snapshot(case)
    with pytest.raises(ServiceValidationError) as exc:
        services.case_register(actor=world.county_a, case=case)
    assert set(exc.value.message_dict) == {"officers", "facts", "provisions"}
    assert snapshot(case) == before


def test_a_duplicated_case_number_is_refused(world: World) -> None:
    first = case_at(world, "registered")
    second = CaseFactory.create(
        enterprise=world.unit_a,
        agency=world.county_a_bureau,
        officers=[world.county_a, world.county_a2],
        provisions=[provision()],
    )
    before = snapshot(second)
    with pytest.raises(ServiceValidationError) as exc:
        services.case_register(actor=world.county_a, case=second, number=str(first.number))
    assert "number" in exc.value.message_dict
    assert snapshot(second) == before
    typed = services.case_register(
        actor=world.county_a, case=second, number="珠公(治)罚字[2026]7号"
    )
    assert typed.number == "珠公(治)罚字[2026]7号"


def test_a_case_on_a_unit_outside_the_officers_county_is_refused(world: World) -> None:
    data = {"enterprise": world.unit_a, "title": "未采取措施消除事故隐患"}
    with pytest.raises(PermissionDenied):
        services.case_create(actor=world.county_b, data=data)
    with pytest.raises(PermissionDenied):
        services.case_create(actor=world.unit_a_principal, data=data)
    assert not Case.objects.exists()
    # The city bureau reaches every county; its case is handled by its own bureau.
    city_case = services.case_create(actor=world.city, data=data)
    assert city_case.agency == world.city_bureau


def test_officers_persons_and_evidence_must_fit_the_unit(world: World) -> None:
    other_hazard = HazardFactory.create(enterprise=world.unit_b)
    base = {"enterprise": world.unit_a, "title": "案由"}
    with pytest.raises(ServiceValidationError) as exc:
        services.case_create(
            actor=world.county_a, data={**base, "officers": [world.county_a, world.county_b]}
        )
    assert "officers" in exc.value.message_dict
    with pytest.raises(ServiceValidationError) as exc:
        services.case_create(actor=world.county_a, data={**base, "hazards": [other_hazard]})
    assert "hazards" in exc.value.message_dict
    with pytest.raises(ServiceValidationError) as exc:
        services.case_create(
            actor=world.county_a,
            data={**base, "persons": [PersonFactory.create(enterprise=world.unit_b)]},
        )
    assert "persons" in exc.value.message_dict
    assert not Case.objects.exists()


def test_only_handling_officers_or_the_city_take_steps(world: World) -> None:
    case = case_at(world, "registered")
    case.officers.set([world.county_a2, world.city])
    for outsider in (world.county_a, world.county_b, world.unit_a_principal, world.partner_user):
        with pytest.raises(PermissionDenied):
            services.case_investigate(actor=outsider, case=case)
    services.case_investigate(actor=world.city, case=case)


def test_a_fine_above_the_maximum_or_a_kind_not_allowed_is_refused(world: World) -> None:
    case = case_at(world, "investigating")
    before = snapshot(case)
    with pytest.raises(ServiceValidationError) as exc:
        services.case_notify(actor=world.county_a, case=case, items=[fine("50000.01")])
    assert "items[0].amount" in exc.value.message_dict
    assert "50,000.00" in exc.value.message_dict["items[0].amount"][0]
    with pytest.raises(ServiceValidationError) as exc:
        services.case_notify(
            actor=world.county_a,
            case=case,
            items=[fine("1000"), {"provision": provision(), "kind": "permit_revocation"}],
        )
    assert "items[1].kind" in exc.value.message_dict
    with pytest.raises(ServiceValidationError) as exc:
        services.case_notify(actor=world.county_a, case=case, items=[fine("0")])
    assert "items[0].amount" in exc.value.message_dict
    # A provision not applied to the case cannot carry a penalty.
    with pytest.raises(ServiceValidationError) as exc:
        services.case_notify(
            actor=world.county_a, case=case, items=[fine("60000", code="cer-49-storage")]
        )
    assert "items[0].provision" in exc.value.message_dict
    with pytest.raises(ServiceValidationError):
        services.case_notify(actor=world.county_a, case=case, items=[])
    assert snapshot(case) == before


def test_a_fine_below_the_minimum_is_refused(world: World) -> None:
    case = case_at(world, "investigating")
    case.provisions.add(provision("cer-49-storage"))
    with pytest.raises(ServiceValidationError) as exc:
        services.case_notify(
            actor=world.county_a, case=case, items=[fine("49999", code="cer-49-storage")]
        )
    assert "below the minimum" in exc.value.message_dict["items[0].amount"][0]


def test_person_and_permit_penalties_need_their_target_in_the_unit(world: World) -> None:
    case = case_at(world, "investigating")
    case.provisions.add(provision("wsl-2021-102-refusal"), provision("cer-49-storage"))
    other_person = PersonFactory.create(enterprise=world.unit_b)
    other_permit = PermitFactory.create(enterprise=world.unit_b)
    refusal = provision("wsl-2021-102-refusal")
    storage = provision("cer-49-storage")
    cases = [
        ({"provision": refusal, "kind": "person_fine", "amount": Decimal(60000)}, "person"),
        (
            {
                "provision": refusal,
                "kind": "person_fine",
                "amount": Decimal(60000),
                "person": other_person,
            },
            "person",
        ),
        ({"provision": storage, "kind": "permit_revocation"}, "permit"),
        ({"provision": storage, "kind": "permit_revocation", "permit": other_permit}, "permit"),
        ({"provision": storage, "kind": "suspension"}, "until"),
    ]
    for item, field in cases:
        with pytest.raises(ServiceValidationError) as exc:
            services.case_notify(actor=world.county_a, case=case, items=[item])
        assert f"items[0].{field}" in exc.value.message_dict, item


def test_no_decision_before_the_defence_period_ends_unless_waived_in_writing(
    world: World,
) -> None:
    case = case_at(world, "notified", fine="3000")  # below the hearing threshold
    assert not case.hearing_available
    before = snapshot(case)
    with pytest.raises(DomainError) as refused:
        services.case_decide(actor=world.county_a, case=case)
    assert case.defence_deadline.isoformat() in refused.value.detail  # type: ignore[union-attr]
    assert snapshot(case) == before
    # A waiver must be in writing.
    with pytest.raises(ServiceValidationError) as exc:
        services.case_record_defence(actor=world.county_a, case=case, waived=True)
    assert "files" in exc.value.message_dict
    assert snapshot(case) == before
    services.case_record_defence(actor=world.county_a, case=case, waived=True, files=[scan()])
    decided = services.case_decide(actor=world.county_a, case=case)
    assert decided.status == "decided"


def test_decision_after_the_defence_period_without_waiver(world: World) -> None:
    case = case_at(world, "notified", fine="3000")
    services.case_record_defence(actor=world.county_a, case=case, statement="已部分整改，请从轻")
    Case.objects.filter(pk=case.pk).update(
        defence_deadline=timezone.localdate() - timedelta(days=1)
    )
    decided = services.case_decide(
        actor=world.county_a, case=case, items=[fine("2000")], note="采纳部分申辩意见"
    )
    assert decided.penalties.get().amount == Decimal("2000")
    assert "从轻" in decided.defence_statement


def test_a_requested_hearing_must_be_held_before_the_decision(world: World) -> None:
    case = case_at(world, "notified", fine="30000")
    assert case.hearing_available and case.hearing_deadline is not None
    services.case_record_defence(actor=world.county_a, case=case, hearing_requested=True)
    Case.objects.filter(pk=case.pk).update(
        defence_deadline=timezone.localdate() - timedelta(days=1),
        hearing_deadline=timezone.localdate() - timedelta(days=1),
    )
    with pytest.raises(DomainError):
        services.case_decide(actor=world.county_a, case=case)
    with pytest.raises(ServiceValidationError) as exc:
        services.case_record_hearing(
            actor=world.county_a, case=case, held_on=timezone.localdate(), record=""
        )
    assert "record" in exc.value.message_dict
    services.case_record_hearing(
        actor=world.county_a, case=case, held_on=timezone.localdate(), record="听证认定事实清楚"
    )
    assert services.case_decide(actor=world.county_a, case=case).status == "decided"


def test_hearing_is_refused_when_the_penalty_does_not_allow_one_or_too_late(world: World) -> None:
    small = case_at(world, "notified", fine="3000")
    with pytest.raises(ServiceValidationError) as exc:
        services.case_record_defence(actor=world.county_a, case=small, hearing_requested=True)
    assert "hearing_requested" in exc.value.message_dict
    large = case_at(world, "notified", fine="30000")
    Case.objects.filter(pk=large.pk).update(
        hearing_deadline=timezone.localdate() - timedelta(days=1)
    )
    with pytest.raises(ServiceValidationError) as exc:
        services.case_record_defence(actor=world.county_a, case=large, hearing_requested=True)
    assert "ended" in exc.value.message_dict["hearing_requested"][0]


def test_the_decision_may_not_be_heavier_than_the_notice(world: World) -> None:
    case = case_at(world, "notified", fine="3000")
    services.case_record_defence(actor=world.county_a, case=case, waived=True, files=[scan()])
    before = snapshot(case)
    with pytest.raises(ServiceValidationError) as exc:
        services.case_decide(actor=world.county_a, case=case, items=[fine("3000.50")])
    assert "items" in exc.value.message_dict
    case.provisions.add(provision("cer-49-storage"))
    with pytest.raises(ServiceValidationError) as exc:
        services.case_decide(
            actor=world.county_a,
            case=case,
            items=[fine("3000"), {"provision": provision("cer-49-storage"), "kind": "warning"}],
        )
    assert "items[1].kind" in exc.value.message_dict
    assert snapshot(case) == before


def test_permit_revocation_and_suspension_change_the_registry_with_the_decision(
    world: World,
) -> None:
    kept = PermitFactory.create(enterprise=world.unit_a)
    revoked = PermitFactory.create(enterprise=world.unit_a)
    case = case_at(world, "investigating")
    case.provisions.add(provision("cer-49-storage"))
    storage = provision("cer-49-storage")
    until = timezone.localdate() + timedelta(days=30)
    services.case_notify(
        actor=world.county_a,
        case=case,
        items=[
            {"provision": storage, "kind": "fine", "amount": Decimal(60000)},
            {"provision": storage, "kind": "permit_revocation", "permit": revoked},
            {"provision": storage, "kind": "permit_suspension", "permit": kept, "until": until},
        ],
    )
    services.case_record_defence(actor=world.county_a, case=case, waived=True, files=[scan()])
    case = services.case_decide(actor=world.county_a, case=case)
    revoked.refresh_from_db()
    kept.refresh_from_db()
    world.unit_a.refresh_from_db()
    assert revoked.status == Permit.Status.REVOKED
    assert kept.status == Permit.Status.SUSPENDED and kept.suspended_until == until
    assert world.unit_a.status == Enterprise.Status.SUSPENDED
    assert case.events.get(action="decide").data["registry"]


def test_revoking_the_last_permit_revokes_the_unit(world: World) -> None:
    only = PermitFactory.create(enterprise=world.unit_a)
    case = case_at(world, "investigating")
    case.provisions.add(provision("cer-50-loss"))
    services.case_notify(
        actor=world.county_a,
        case=case,
        items=[
            {"provision": provision("cer-50-loss"), "kind": "permit_revocation", "permit": only}
        ],
    )
    services.case_record_defence(actor=world.county_a, case=case, waived=True, files=[scan()])
    case = services.case_decide(actor=world.county_a, case=case)
    world.unit_a.refresh_from_db()
    assert world.unit_a.status == Enterprise.Status.REVOKED
    assert case.payment_due is None and case.deadline is None


def test_a_failed_decision_changes_nothing_in_the_registry(world: World, monkeypatch: Any) -> None:
    permit = PermitFactory.create(enterprise=world.unit_a)
    case = case_at(world, "investigating")
    case.provisions.add(provision("cer-50-loss"))
    services.case_notify(
        actor=world.county_a,
        case=case,
        items=[
            {"provision": provision("cer-50-loss"), "kind": "permit_revocation", "permit": permit}
        ],
    )
    services.case_record_defence(actor=world.county_a, case=case, waived=True, files=[scan()])
    before = snapshot(case)

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("printer on fire")

    monkeypatch.setattr("weibao.enforcement.documents.issue", broken)
    with pytest.raises(RuntimeError):
        services.case_decide(actor=world.county_a, case=case)
    permit.refresh_from_db()
    world.unit_a.refresh_from_db()
    assert permit.status == Permit.Status.ACTIVE
    assert world.unit_a.status == Enterprise.Status.ACTIVE
    assert snapshot(case) == before


def test_execution_needs_every_fine_paid(world: World) -> None:
    case = case_at(world, "decided")
    with pytest.raises(DomainError) as refused:
        services.case_execute(actor=world.county_a, case=case)
    assert "not paid" in refused.value.detail
    item = case.penalties.get()
    with pytest.raises(ServiceValidationError) as exc:
        services.case_record_payment(
            actor=world.county_a,
            case=case,
            item=item,
            paid_on=timezone.localdate() + timedelta(days=1),
            receipt_number="R1",
        )
    assert "paid_on" in exc.value.message_dict
    with pytest.raises(ServiceValidationError) as exc:
        services.case_record_payment(
            actor=world.county_a,
            case=case,
            item=item,
            paid_on=timezone.localdate(),
            receipt_number="",
        )
    assert "receipt_number" in exc.value.message_dict
    services.case_record_payment(
        actor=world.county_a,
        case=case,
        item=item,
        paid_on=timezone.localdate(),
        receipt_number="R1",
        files=[scan("receipt.pdf")],
    )
    with pytest.raises(DomainError):
        services.case_record_payment(
            actor=world.county_a,
            case=case,
            item=item,
            paid_on=timezone.localdate(),
            receipt_number="R2",
        )
    assert services.case_execute(actor=world.county_a, case=case).status == "executed"


def test_drop_with_a_reason_only_before_the_decision(world: World) -> None:
    proposal = CaseFactory.create(enterprise=world.unit_a, agency=world.county_a_bureau)
    with pytest.raises(ServiceValidationError):
        services.case_drop(actor=world.county_a, case=proposal, reason=" ")
    dropped = services.case_drop(actor=world.county_a, case=proposal, reason="已当场整改，不予立案")
    assert dropped.status == "dropped" and dropped.deadline is None
    decided = case_at(world, "decided")
    with pytest.raises(DomainError):
        services.case_drop(actor=world.county_a, case=decided, reason="撤销")


def test_facts_are_fixed_once_the_penalty_is_notified(world: World) -> None:
    case = case_at(world, "investigating")
    services.case_update(actor=world.county_a, case=case, data={"facts": "补充：二次检查仍未整改"})
    case = services.case_notify(actor=world.county_a, case=case, items=[fine("1000")])
    with pytest.raises(DomainError):
        services.case_update(actor=world.county_a, case=case, data={"facts": "改写"})
    assert case.events.filter(action="updated").count() == 1


def test_evidence_uploads_are_checked_and_kept(world: World) -> None:
    case = case_at(world, "investigating")
    with pytest.raises(ServiceValidationError) as exc:
        services.case_attach(
            actor=world.county_a,
            case=case,
            files=[scan(), SimpleUploadedFile("x.exe", b"MZ\x90\x00")],
        )
    assert "files[1]" in exc.value.message_dict
    assert not case.documents.filter(kind="evidence").exists()
    with pytest.raises(ServiceValidationError):
        services.case_attach(
            actor=world.county_a, case=case, files=[scan()], kind="penalty_decision"
        )
    (document,) = services.case_attach(
        actor=world.county_a, case=case, files=[scan("询问笔录.pdf")]
    )
    assert document.kind == "evidence" and len(document.sha256) == 64 and not document.generated


def test_review_by_a_city_officer_who_did_not_handle_the_case(world: World) -> None:
    case = case_at(world, "closed")
    data = {
        "facts_clear": True,
        "evidence_sufficient": True,
        "procedure_lawful": True,
        "basis_correct": True,
        "penalty_appropriate": True,
        "documents_complete": True,
        "score": 95,
        "comments": "事实清楚，程序合法",
    }
    with pytest.raises(PermissionDenied):
        services.case_review(actor=world.county_a, case=case, data=data)
    review = services.case_review(actor=world.city, case=case, data=data)
    assert review.grade == "excellent"
    with pytest.raises(DomainError):
        services.case_review(actor=world.city, case=case, data=data)
    open_case = case_at(world, "decided")
    with pytest.raises(DomainError):
        services.case_review(actor=world.city, case=open_case, data=data)
    with pytest.raises(ServiceValidationError):
        services.case_review(
            actor=world.city, case=case_at(world, "closed"), data={**data, "score": 101}
        )


def test_review_grades() -> None:
    from weibao.enforcement.models import CaseReview

    def grade(score: int, **missing: bool) -> str:
        flags = dict.fromkeys(CaseReview.CRITERIA, True) | missing
        return CaseReview(score=score, **flags).grade

    assert grade(95) == "excellent"
    assert grade(95, documents_complete=False) == "good"
    assert grade(75) == "good"
    assert grade(60) == "pass"
    assert grade(59) == "fail"


def test_unit_sees_its_cases_only_once_registered(world: World) -> None:
    proposal = CaseFactory.create(enterprise=world.unit_a, agency=world.county_a_bureau)
    registered = case_at(world, "registered")
    seen = set(Case.objects.visible_to(world.unit_a_employee))
    assert seen == {registered}
    assert not Case.objects.visible_to(world.unit_b_officer).exists()
    assert not Case.objects.visible_to(world.partner_user).exists()
    assert set(Case.objects.visible_to(world.county_a)) == {proposal, registered}
    assert not Case.objects.visible_to(world.county_b).exists()


def test_a_typed_number_in_the_bureau_form_never_blocks_the_sequence(world: World) -> None:
    year = timezone.localdate().year
    code = world.county_a_bureau.jurisdiction_id
    typed = CaseFactory.create(
        enterprise=world.unit_a,
        agency=world.county_a_bureau,
        officers=[world.county_a, world.county_a2],
        provisions=[provision()],
    )
    services.case_register(actor=world.county_a, case=typed, number=f"{code}-{year}-0001")
    automatic = case_at(world, "registered")
    assert automatic.number == f"{code}-{year}-0002"


def test_after_the_notice_the_bureau_deadline_is_the_decision(world: World) -> None:
    case = case_at(world, "notified", fine="3000")
    assert case.deadline == case.decision_due
    assert case.defence_deadline is not None and case.defence_deadline < case.decision_due  # type: ignore[operator]


def test_the_decision_keeps_the_notified_targets_and_suspension_end(world: World) -> None:
    permit = PermitFactory.create(enterprise=world.unit_a)
    other = PermitFactory.create(enterprise=world.unit_a)
    case = case_at(world, "investigating")
    storage = provision("cer-49-storage")
    case.provisions.add(storage)
    until = timezone.localdate() + timedelta(days=30)
    suspension = {"provision": storage, "kind": "permit_suspension", "permit": permit}
    services.case_notify(actor=world.county_a, case=case, items=[{**suspension, "until": until}])
    services.case_record_defence(actor=world.county_a, case=case, waived=True, files=[scan()])
    before = snapshot(case)
    longer = {**suspension, "until": until + timedelta(days=1)}
    with pytest.raises(ServiceValidationError) as exc:
        services.case_decide(actor=world.county_a, case=case, items=[longer])
    assert "items[0].until" in exc.value.message_dict
    with pytest.raises(ServiceValidationError) as exc:
        services.case_decide(
            actor=world.county_a, case=case, items=[{**suspension, "permit": other, "until": until}]
        )
    assert "items[0]" in exc.value.message_dict
    assert snapshot(case) == before
    shorter = {**suspension, "until": until - timedelta(days=10)}
    decided = services.case_decide(actor=world.county_a, case=case, items=[shorter])
    assert decided.penalties.get().until == until - timedelta(days=10)


def test_suspensions_end_on_their_date(world: World) -> None:
    permit = PermitFactory.create(enterprise=world.unit_a)
    case = case_at(world, "investigating")
    storage = provision("cer-49-storage")
    case.provisions.add(storage)
    until = timezone.localdate() + timedelta(days=10)
    services.case_notify(
        actor=world.county_a,
        case=case,
        items=[
            {"provision": storage, "kind": "permit_suspension", "permit": permit, "until": until},
            {"provision": storage, "kind": "suspension", "until": until + timedelta(days=5)},
        ],
    )
    services.case_record_defence(actor=world.county_a, case=case, waived=True, files=[scan()])
    services.case_decide(actor=world.county_a, case=case)
    assert services.lift_expired_suspensions(until) == {"permits": 0, "units": 0}
    # The permit's suspension is over; the business suspension still runs.
    assert services.lift_expired_suspensions(until + timedelta(days=1)) == {
        "permits": 1,
        "units": 0,
    }
    permit.refresh_from_db()
    world.unit_a.refresh_from_db()
    assert permit.status == Permit.Status.ACTIVE and permit.suspended_until is None
    assert world.unit_a.status == Enterprise.Status.SUSPENDED
    assert services.lift_expired_suspensions(until + timedelta(days=6)) == {
        "permits": 0,
        "units": 1,
    }
    world.unit_a.refresh_from_db()
    assert world.unit_a.status == Enterprise.Status.ACTIVE
    assert services.lift_expired_suspensions(until + timedelta(days=7)) == {
        "permits": 0,
        "units": 0,
    }
