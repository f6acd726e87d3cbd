"""Fixed personas every test uses (the same named people every time), and API clients for them.

city regulator · county A inspector (珠晖 430405) · county B inspector (雁峰 430406) · partner
department (granted county A) · system administrator · anonymous. Unit personas join when the
registry lands.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from weibao.accounts.models import User
from weibao.tests import factories as f


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()


@pytest.fixture(scope="session")
def _media_dir(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def _media_root(settings: Any, _media_dir: Any) -> None:
    # Uploads and issued documents go to a throwaway directory, never the developer's data.
    settings.MEDIA_ROOT = _media_dir


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any, request: pytest.FixtureRequest) -> None:
    # Argon2 is deliberately slow; tests that check hashing itself are marked `real_hashing`.
    if "real_hashing" not in request.keywords:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db: None) -> f.World:
    return f.build_world()


@pytest.fixture
def api() -> Callable[..., APIClient]:
    def make(user: User | None = None, language: str = "en") -> APIClient:
        client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
        if user is not None:
            client.force_authenticate(user=user)
        return client

    return make
