from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from weibao.core.errors import DomainError, ServiceValidationError
from weibao.hazards.models import Hazard
from weibao.inspections import services
from weibao.inspections.models import Answer, Inspection
from weibao.tests.factories import EnterpriseFactory, World, make_checklist

pytestmark = pytest.mark.django_db


def _fill(world: World, inspection: Inspection, results: list[str], **extra: Any) -> Inspection:
    answers = [
        {"item": a.item_id, "result": r, "note": "门锁损坏" if r == "fail" else ""}
        for a, r in zip(inspection.answers.all(), results, strict=True)
    ]
    data = {
        "inspected_on": timezone.localdate(),
        "representative_name": "李四",
        "signature_text": "李四",
        **extra,
    }
    return services.inspection_update(
        actor=world.county_a, inspection=inspection, data=data, answers=answers
    )


def test_submit_turns_failed_items_into_hazards(world: World) -> None:
    checklist = make_checklist()
    inspection = services.inspection_create(
        actor=world.county_a,
        data={"enterprise": world.unit_a, "checklist": checklist, "inspectors": [world.county_a2]},
    )
    assert inspection.answers.count() == 3
    _fill(world, inspection, ["fail", "fail", "pass"])
    done = services.inspection_submit(actor=world.county_a, inspection=inspection)
    assert done.status == "submitted"
    assert done.number.startswith("430405-")
    hazards = Hazard.objects.filter(inspection=done).order_by("answer__position")
    assert [h.level for h in hazards] == ["major", "general"]
    assert all(h.source == "inspection" for h in hazards)
    assert hazards[0].deadline > timezone.localdate()
    with pytest.raises(DomainError):
        services.inspection_submit(actor=world.county_a, inspection=done)


def test_incomplete_inspection_is_refused_and_nothing_written(world: World) -> None:
    inspection = services.inspection_create(
        actor=world.county_a, data={"enterprise": world.unit_a, "checklist": make_checklist()}
    )
    services.inspection_update(
        actor=world.county_a,
        inspection=inspection,
        data={},
        answers=[{"item": inspection.answers.first().item_id, "result": "fail"}],  # type: ignore[union-attr]
    )
    with pytest.raises(ServiceValidationError) as exc:
        services.inspection_submit(actor=world.county_a, inspection=inspection)
    errors = exc.value.message_dict
    assert {"answers", "inspected_on", "inspectors", "representative_name", "signature"} <= set(
        errors
    )
    assert not Hazard.objects.exists()
    inspection.refresh_from_db()
    assert inspection.status == "draft"


def test_answer_for_item_not_in_checklist(world: World) -> None:
    inspection = services.inspection_create(
        actor=world.county_a, data={"enterprise": world.unit_a, "checklist": make_checklist()}
    )
    other = make_checklist(code="other")
    with pytest.raises(ServiceValidationError) as exc:
        services.inspection_update(
            actor=world.county_a,
            inspection=inspection,
            data={},
            answers=[{"item": other.items.first().pk, "result": "fail"}],  # type: ignore[union-attr]
        )
    assert "answers[0].item" in exc.value.message_dict


def test_unit_cannot_make_regulator_inspection_and_county_b_cannot_inspect_a(world: World) -> None:
    checklist = make_checklist()
    with pytest.raises(PermissionDenied):
        services.inspection_create(
            actor=world.unit_a_officer, data={"enterprise": world.unit_a, "checklist": checklist}
        )
    with pytest.raises(PermissionDenied):
        services.inspection_create(
            actor=world.county_b, data={"enterprise": world.unit_a, "checklist": checklist}
        )


def test_self_inspection_creates_unit_hazards(world: World) -> None:
    inspection = services.inspection_create(
        actor=world.unit_a_officer,
        data={"kind": "self_inspection", "enterprise": world.unit_a, "checklist": make_checklist()},
    )
    answers = [{"item": a.item_id, "result": "pass"} for a in inspection.answers.all()]
    answers[2]["result"] = "fail"
    services.inspection_update(
        actor=world.unit_a_officer,
        inspection=inspection,
        data={
            "inspected_on": timezone.localdate(),
            "conducted_by": "王安全",
            "representative_name": "张三",
            "signature_text": "张三",
        },
        answers=answers,
    )
    services.inspection_submit(actor=world.unit_a_officer, inspection=inspection)
    hazard = Hazard.objects.get()
    assert hazard.source == "self_inspection"
    assert hazard.accepted_by_unit


def test_draw_is_reproducible_and_respects_conflicts(world: World) -> None:
    checklist = make_checklist()
    for _ in range(9):
        EnterpriseFactory.create(jurisdiction_id="430405")
    campaign = services.campaign_create(
        actor=world.city,
        data={
            "name": "节后复工复产安全检查",
            "scope": [world.county_a_bureau.jurisdiction],
            "kinds": ["explosives_storage"],
            "starts_on": timezone.localdate(),
            "ends_on": timezone.localdate() + timedelta(days=30),
            "checklist": checklist,
            "spot_check_ratio": "0.3",
        },
    )
    services.conflict_create(
        actor=world.county_a, inspector=world.county_a2, enterprise=world.unit_a, reason="亲属"
    )
    from weibao.tests.factories import UserFactory

    UserFactory.create(agency=world.county_a_bureau)
    record = services.campaign_draw(actor=world.county_a, campaign=campaign, seed="abc")
    assert len(record.result) == 3  # ceil(10 * 0.3)
    assert services.draw_replay(record)
    for unit, inspectors in record.result:
        assert len(inspectors) == 2
        if unit == world.unit_a.pk:
            assert world.county_a2.pk not in inspectors
    assert Inspection.objects.filter(draw=record, kind="spot_check").count() == 3
    with pytest.raises(DomainError):
        services.campaign_draw(actor=world.county_a, campaign=campaign, seed="abc")
    # Unannounced: the unit does not see a drafted spot check.
    assert not Inspection.objects.visible_to(world.unit_a_officer).filter(draw=record).exists()
    assert Answer.objects.filter(inspection__draw=record).count() == 9
