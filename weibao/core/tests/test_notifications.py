from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation

from weibao.core.models import Notification
from weibao.core.notifications import notify
from weibao.tests.factories import World

pytestmark = pytest.mark.django_db
PARAMS = {"unit": "珠晖民爆", "unit_id": 1, "count": 2, "major": 1}


def test_each_user_sees_only_their_own(world: World, api: Any) -> None:
    notify(recipients=[world.county_a], verb="compliance.new", params=PARAMS, url="/x/")
    mine = Notification.objects.get(recipient=world.county_a)
    assert api(world.county_a).get("/api/v1/notifications/").json()["count"] == 1
    for other in (world.city, world.admin, world.county_b, world.unit_a_officer):
        assert api(other).get("/api/v1/notifications/").json()["count"] == 0
        url = reverse("api:notification-detail", args=[mine.pk])
        assert api(other).get(url).status_code == 404
        assert api(other).post(reverse("api:notification-read", args=[mine.pk])).status_code == 404
    assert api().get("/api/v1/notifications/").status_code == 401


def test_rendered_in_the_readers_language(world: World, api: Any) -> None:
    notify(recipients=[world.county_a], verb="compliance.new", params=PARAMS)
    en = api(world.county_a, language="en").get("/api/v1/notifications/").json()
    zh = api(world.county_a, language="zh-hans").get("/api/v1/notifications/").json()
    assert "new compliance finding" in en["results"][0]["text"]
    assert "珠晖民爆" in zh["results"][0]["text"] and "合规" in zh["results"][0]["text"]


def test_mark_read(world: World, api: Any) -> None:
    notify(recipients=[world.county_a], verb="compliance.new", params=PARAMS)
    notify(recipients=[world.county_a], verb="compliance.new", params=PARAMS)
    client = api(world.county_a)
    first = Notification.objects.filter(recipient=world.county_a).first()
    assert first is not None
    assert client.post(reverse("api:notification-read", args=[first.pk])).json()["read_at"]
    assert client.get("/api/v1/notifications/", {"unread": "true"}).json()["count"] == 1
    assert client.post("/api/v1/notifications/read-all/").json() == {"marked": 1}


def test_page_and_badge(client: Any, world: World) -> None:
    notify(recipients=[world.county_a], verb="compliance.new", params=PARAMS, url="/enterprises/")
    client.force_login(world.county_a)
    home = client.get(reverse("home")).content.decode()
    assert 'data-testid="unread">1<' in home
    page = client.get(reverse("notifications"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "new compliance finding" in page
    client.post(reverse("notifications"))
    assert 'data-testid="unread"' not in client.get(reverse("home")).content.decode()


def test_unknown_verb_is_refused(world: World) -> None:
    with pytest.raises(ValueError, match="unknown notification verb"):
        notify(recipients=[world.city], verb="nope", params={})


def test_inactive_users_are_skipped(world: World) -> None:
    world.county_b.is_active = False
    assert (
        notify(recipients=[world.county_a, world.county_b], verb="compliance.new", params=PARAMS)
        == 1
    )
    with translation.override("en"):
        assert "new compliance findings: 2" in str(Notification.objects.get().text)
