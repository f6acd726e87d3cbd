"""The hazard life cycle, each step and each refusal, at the service level."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from weibao.core.errors import DomainError, ServiceValidationError
from weibao.hazards import services
from weibao.hazards.models import Hazard, HazardAttachment, HazardEvent
from weibao.tests.factories import HazardFactory, World

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PLAN = {
    "measures": "更换防盗门",
    "funds": "12000.00",
    "deadline": timezone.localdate() + timedelta(days=20),
    "responsible_person": "安全科 王五",
    "emergency_measures": "整改期间库房停用，双人值守",
}


def photo(name: str = "p.png", body: bytes = PNG) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, body, content_type="image/png")


def test_regulator_found_general_hazard_full_cycle(world: World) -> None:
    hazard = HazardFactory.create(enterprise=world.unit_a)
    services.hazard_start(actor=world.unit_a_officer, hazard=hazard)
    services.hazard_submit_rectification(
        actor=world.unit_a_officer, hazard=hazard, note="已更换", files=[photo()]
    )
    hazard.refresh_from_db()
    assert hazard.status == "awaiting_acceptance"
    assert hazard.attachments.get().stage == HazardAttachment.Stage.RECTIFICATION
    with pytest.raises(PermissionDenied):
        services.hazard_accept(actor=world.unit_a_officer, hazard=hazard)
    services.hazard_accept(actor=world.county_a, hazard=hazard, opinion="现场验收合格")
    hazard.refresh_from_db()
    assert hazard.status == "closed"
    assert hazard.accepted_by == world.county_a
    actions = list(hazard.events.values_list("action", flat=True))
    # (The factory put it on the ledger directly, so there is no "created" step here.)
    assert actions == ["start", "submit_rectification", "accept"]


def test_disallowed_step_names_the_allowed_ones(world: World) -> None:
    hazard = HazardFactory.create(enterprise=world.unit_a)
    with pytest.raises(DomainError) as exc:
        services.hazard_accept(actor=world.county_a, hazard=hazard)
    assert set(exc.value.extra["allowed"]) == {"start", "submit-rectification", "extend", "cancel"}


def test_major_hazard_needs_the_five_elements(world: World) -> None:
    hazard = HazardFactory.create(enterprise=world.unit_a, level="major")
    with pytest.raises(ServiceValidationError) as exc:
        services.hazard_start(actor=world.unit_a_officer, hazard=hazard)
    assert {f"plan.{n}" for n in ("measures", "funds", "deadline")} <= set(exc.value.message_dict)
    hazard.refresh_from_db()
    assert hazard.status == "open"
    # A major hazard cannot skip straight to acceptance either.
    with pytest.raises(DomainError):
        services.hazard_submit_rectification(actor=world.unit_a_officer, hazard=hazard, note="x")
    services.hazard_start(actor=world.unit_a_officer, hazard=hazard, plan=PLAN)
    hazard.refresh_from_db()
    assert hazard.status == "rectifying"
    assert hazard.plan.missing_elements() == []


def test_reject_sends_back_to_rectifying(world: World) -> None:
    hazard = HazardFactory.create(enterprise=world.unit_a)
    services.hazard_submit_rectification(actor=world.unit_a_officer, hazard=hazard, note="done")
    with pytest.raises(ServiceValidationError):
        services.hazard_reject(actor=world.county_a, hazard=hazard, reason=" ")
    services.hazard_reject(actor=world.county_a, hazard=hazard, reason="照片不清楚")
    hazard.refresh_from_db()
    assert hazard.status == "rectifying"


def test_extension_once_then_city(world: World) -> None:
    hazard = HazardFactory.create(enterprise=world.unit_a)
    first = hazard.deadline + timedelta(days=5)
    services.hazard_extend(actor=world.county_a, hazard=hazard, reason="材料未到", deadline=first)
    with pytest.raises(PermissionDenied):
        services.hazard_extend(
            actor=world.county_a, hazard=hazard, reason="again", deadline=first + timedelta(days=5)
        )
    services.hazard_extend(actor=world.city, hazard=hazard, reason="批准", working_days=30)
    hazard.refresh_from_db()
    assert hazard.extension_count == 2
    last = hazard.events.filter(action=HazardEvent.Action.EXTEND).last()
    assert last is not None and last.data["city_approved"] is True
    with pytest.raises(ServiceValidationError):
        services.hazard_extend(
            actor=world.city, hazard=hazard, reason="earlier", deadline=timezone.localdate()
        )


def test_unit_handles_its_own_general_hazards(world: World) -> None:
    hazard = HazardFactory.create(enterprise=world.unit_a, source="self_inspection")
    services.hazard_submit_rectification(actor=world.unit_a_officer, hazard=hazard, note="修好")
    services.hazard_accept(actor=world.unit_a_principal, hazard=hazard)
    hazard.refresh_from_db()
    assert hazard.status == "closed"
    # The employee may not; another unit may not.
    other = HazardFactory.create(enterprise=world.unit_a, source="self_inspection")
    with pytest.raises(PermissionDenied):
        services.hazard_start(actor=world.unit_a_employee, hazard=other)
    with pytest.raises(PermissionDenied):
        services.hazard_start(actor=world.unit_b_officer, hazard=other)


def test_bad_input_writes_nothing(world: World) -> None:
    with pytest.raises(ServiceValidationError):
        services.hazard_create(
            actor=world.county_a,
            data={
                "enterprise": world.unit_a,
                "level": "general",
                "category": "storage",
                "description": "x",
                "deadline": timezone.localdate() - timedelta(days=1),
            },
        )
    with pytest.raises(ServiceValidationError):
        services.hazard_create(
            actor=world.county_a,
            data={
                "enterprise": world.unit_a,
                "level": "general",
                "category": "storage",
                "description": "x",
            },
            photos=[photo("x.png", b"GIF89a" + b"\x00" * 20)],
        )
    with pytest.raises(PermissionDenied):
        services.hazard_create(
            actor=world.county_b,
            data={
                "enterprise": world.unit_a,
                "level": "general",
                "category": "storage",
                "description": "x",
            },
        )
    assert not Hazard.objects.exists()
    closed = HazardFactory.create(enterprise=world.unit_a, status="closed")
    with pytest.raises(DomainError):
        services.hazard_submit_rectification(
            actor=world.unit_a_officer, hazard=closed, note="more", files=[photo()]
        )
    assert not HazardAttachment.objects.exists()


def test_oversized_photo_refused(world: World, settings: object) -> None:
    settings.MAX_PHOTO_BYTES = 100  # type: ignore[attr-defined]
    hazard = HazardFactory.create(enterprise=world.unit_a)
    with pytest.raises(ServiceValidationError) as exc:
        services.hazard_submit_rectification(
            actor=world.unit_a_officer, hazard=hazard, note="x", files=[photo(body=PNG * 4)]
        )
    assert "files[0]" in exc.value.message_dict
    hazard.refresh_from_db()
    assert hazard.status == "open"


def test_default_deadline_in_working_days(world: World, settings: object) -> None:
    settings.HAZARD_DEADLINES = {"general": (10, True), "major": (60, False)}  # type: ignore[attr-defined]
    found = timezone.localdate()
    hazard = services.hazard_create(
        actor=world.county_a,
        data={
            "enterprise": world.unit_a,
            "level": "general",
            "category": "storage",
            "description": "x",
            "found_on": found,
        },
    )
    assert hazard.deadline >= found + timedelta(days=12)  # ten working days span two weekends


def test_follow_up_inspection_in_one_step(world: World) -> None:
    from weibao.tests.factories import make_checklist

    make_checklist()
    hazard = HazardFactory.create(
        enterprise=world.unit_a, deadline=timezone.localdate() - timedelta(days=2)
    )
    inspection = services.hazard_schedule_follow_up(actor=world.county_a, hazard=hazard)
    assert inspection.kind == "follow_up"
    assert inspection.follow_up_of == hazard
    assert list(inspection.inspectors.all()) == [world.county_a]
    with pytest.raises(PermissionDenied):
        services.hazard_schedule_follow_up(actor=world.unit_a_officer, hazard=hazard)
