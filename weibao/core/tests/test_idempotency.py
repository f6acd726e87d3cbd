from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from weibao.accounts.models import Agency
from weibao.core.api.errors import PROBLEM_CONTENT_TYPE, problem
from weibao.core.api.idempotency import prune_expired, sealed_idempotent
from weibao.core.models import IdempotencyRecord
from weibao.tests.factories import World

pytestmark = pytest.mark.django_db
URL = "/api/v1/agencies/"
BODY = {"name": "石鼓分局", "kind": "county_bureau", "jurisdiction": "430407"}


def post(client: Any, body: dict[str, str], key: str | None) -> Any:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(URL, body, format="json", **headers)


def test_same_key_same_body_replays_the_first_result(world: World, api: Any) -> None:
    client = api(world.admin)
    first = post(client, BODY, "a8f1c2d4-0001")
    second = post(client, BODY, "a8f1c2d4-0001")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Agency.objects.filter(name="石鼓分局").count() == 1


def test_same_key_other_body_is_422(world: World, api: Any) -> None:
    client = api(world.admin)
    post(client, BODY, "key-0002")
    response = post(client, {**BODY, "name": "蒸湘分局"}, "key-0002")
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert not Agency.objects.filter(name="蒸湘分局").exists()


def test_failed_request_does_not_burn_the_key(world: World, api: Any) -> None:
    client = api(world.admin)
    assert post(client, {**BODY, "jurisdiction": "999999"}, "key-0003").status_code == 400
    assert post(client, BODY, "key-0003").status_code == 201


def test_keys_are_per_user(world: World, api: Any) -> None:
    post(api(world.admin), BODY, "shared-key")
    world.county_a.is_superuser = True
    world.county_a.save()
    response = post(api(world.county_a), {**BODY, "name": "另一个"}, "shared-key")
    assert response.status_code == 201


@pytest.mark.parametrize("key", ["", "x" * 201, "空格 key"])
def test_malformed_key_is_400(world: World, api: Any, key: str) -> None:
    response = post(api(world.admin), BODY, key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]


def test_without_key_every_post_creates(world: World, api: Any) -> None:
    client = api(world.admin)
    assert post(client, BODY, None).status_code == 201
    assert post(client, {**BODY, "name": "b"}, None).status_code == 201
    assert IdempotencyRecord.objects.count() == 0


def test_old_keys_are_pruned(world: World, api: Any) -> None:
    post(api(world.admin), BODY, "old-key-1")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(days=8))
    assert prune_expired() == 1


class _Refusing(APIView):
    """A creation refused with a problem document it returns (as a rejected batch is), sealed."""

    permission_classes: list[Any] = []
    calls = 0

    @sealed_idempotent
    def post(self, request: Request) -> Response:
        type(self).calls += 1
        body = problem(422, detail="refused", code="refused", calls=type(self).calls)
        return Response(
            body, status=422, content_type=PROBLEM_CONTENT_TYPE, headers={"Cache-Control": "x"}
        )


def test_sealed_replay_keeps_status_content_type_and_headers(db: None) -> None:
    view = _Refusing.as_view()
    factory = APIRequestFactory()

    def send() -> Any:
        request = factory.post("/x/", {"a": 1}, format="json", HTTP_IDEMPOTENCY_KEY="sealed-1")
        response = view(request)
        response.render()
        return response

    first, again = send(), send()
    assert _Refusing.calls == 1
    assert first.status_code == again.status_code == 422
    assert first["Content-Type"] == again["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert first.content == again.content and again["Cache-Control"] == "x"
    assert "problem" not in json.dumps(IdempotencyRecord.objects.get().response_body)
