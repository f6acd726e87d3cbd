from __future__ import annotations

from typing import Any

import pytest

from weibao.tests.factories import AgencyFactory, World

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"page": "abc"}, "page"),
        ({"page": "0"}, "page"),
        ({"page": "-1"}, "page"),
        ({"page_size": "501"}, "page_size"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "x"}, "page_size"),
    ],
)
def test_bad_paging_is_a_400_naming_the_parameter(
    world: World, api: Any, query: dict[str, str], field: str
) -> None:
    response = api(world.city).get("/api/v1/agencies/", query)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail", "errors"}
    assert list(body["errors"]) == [field]


def test_page_beyond_the_end_is_404(world: World, api: Any) -> None:
    response = api(world.city).get("/api/v1/agencies/", {"page": 99})
    assert response.status_code == 404
    assert response.json()["status"] == 404


def test_pagination_shape_and_max_page_size(world: World, api: Any) -> None:
    for _ in range(3):
        AgencyFactory.create(jurisdiction_id="430405")
    body = api(world.city).get("/api/v1/agencies/", {"page_size": 2}).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert len(body["results"]) == 2 and body["next"]
    assert api(world.city).get("/api/v1/agencies/", {"page_size": 500}).status_code == 200


def test_filter_by_jurisdiction_and_kind(world: World, api: Any) -> None:
    rows = (
        api(world.city)
        .get("/api/v1/agencies/", {"jurisdiction": "430405", "kind": "county_bureau"})
        .json()["results"]
    )
    assert {r["jurisdiction"] for r in rows} == {"430405"}
    for bad in ("999999", "43", "abc"):
        unknown = api(world.city).get("/api/v1/agencies/", {"jurisdiction": bad})
        assert unknown.status_code == 400
        assert bad in unknown.json()["errors"]["jurisdiction"][0]


def test_invalid_filter_choice_is_400(world: World, api: Any) -> None:
    response = api(world.city).get("/api/v1/agencies/", {"kind": "bakery"})
    assert response.status_code == 400
    assert "kind" in response.json()["errors"]


def test_unknown_api_path_is_problem_json(world: World, client: Any, settings: Any) -> None:
    settings.DEBUG = False
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_messages_in_chinese_when_asked(api: Any, db: None) -> None:
    response = api(language="zh-hans").get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["detail"] == "身份认证信息未提供。"


def test_request_id_is_echoed(world: World, api: Any) -> None:
    response = api(world.city).get("/api/v1/me/", HTTP_X_REQUEST_ID="abc-12345678")
    assert response["X-Request-ID"] == "abc-12345678"
    assert len(api(world.city).get("/api/v1/me/")["X-Request-ID"]) == 32


def test_jurisdictions_are_shipped_and_filterable(world: World, api: Any) -> None:
    client = api(world.county_a)
    counties = client.get("/api/v1/jurisdictions/", {"parent": "430400"}).json()
    assert counties["count"] == 12
    detail = client.get("/api/v1/jurisdictions/430405/").json()
    assert detail["name"] == "珠晖区" and detail["parent"] == "430400"
    assert client.get("/api/v1/jurisdictions/999999/").status_code == 404
    assert client.get("/api/v1/jurisdictions/abc/").status_code == 404


def test_schema_and_docs_are_served_locally(world: World, client: Any) -> None:
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    client.force_login(world.city)
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs
    assert "https://" not in docs and "http://" not in docs.replace("http://testserver", "")


def test_healthz(client: Any, db: None) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_ordering(world: World, api: Any) -> None:
    client = api(world.city)
    names = [
        r["name"] for r in client.get("/api/v1/agencies/", {"ordering": "-name"}).json()["results"]
    ]
    assert names == sorted(names, reverse=True)
    bad = client.get("/api/v1/agencies/", {"ordering": "password"})
    assert bad.status_code == 400 and "ordering" in bad.json()["errors"]


def test_last_page(world: World, api: Any) -> None:
    response = api(world.city).get("/api/v1/agencies/", {"page": "last", "page_size": 1})
    assert response.status_code == 200 and response.json()["next"] is None


@pytest.mark.parametrize("url", ["/api/v1/agencies/", "/api/v1/audit/", "/api/v1/enterprises/"])
def test_options_describes_the_endpoint(world: World, api: Any, url: str) -> None:
    assert api(world.city).options(url).status_code == 200


@pytest.mark.parametrize(
    ("url", "query"),
    [
        ("/api/v1/permits/", {"enterprise": "109794455808901480448"}),
        ("/api/v1/permits/", {"enterprise": "0.5"}),
        ("/api/v1/certificates/", {"person": "-3"}),
        ("/api/v1/agencies/", {"is_active": "-58800"}),
        ("/api/v1/notifications/", {"unread": "null"}),
    ],
)
def test_malformed_filter_values_are_400(
    world: World, api: Any, url: str, query: dict[str, str]
) -> None:
    response = api(world.city).get(url, query)
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == list(query)


def test_numbers_are_not_strings(world: World, api: Any) -> None:
    url = f"/api/v1/agencies/{world.county_a_bureau.pk}/"
    response = api(world.admin).patch(url, {"phone": 0}, format="json")
    assert response.status_code == 400 and "phone" in response.json()["errors"]
