"""Fixed personas every test uses (the same named people every time), and API clients for them.

city regulator · county A inspector (珠晖 430405) · county B inspector (雁峰 430406) · partner
department (granted county A) · system administrator · anonymous. Unit personas join when the
registry lands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
    # Uploads, issued documents, ledger exports and the firing-signing key go to a throwaway
    # directory, never the developer's data.
    settings.MEDIA_ROOT = _media_dir
    settings.LEDGER_EXPORT_DIR = _media_dir / "ledger-export"
    settings.LEDGER_SIGNING_KEY_STORE = _media_dir / "ledger-signing-key.pem"


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


# --- browser tests (marked `browser`; helpers in weibao/tests/browser.py) -----------------------
@pytest.fixture(scope="module")
def playwright(django_db_setup: None) -> Iterator[Any]:
    from pathlib import Path

    from django.db import connections
    from playwright.sync_api import sync_playwright

    from weibao.tests.browser import CHROMIUM

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (or set CHROMIUM_PATH)")
    # Once Playwright runs, this thread's code gets other database connection objects (its
    # greenlets carry their own context), which lack the copy a serialized rollback restores:
    # every test after the first in a module would find the data migrations' rows (divisions,
    # legal provisions) gone. Hand the copy over.
    copies = {a: getattr(connections[a], "_test_serialized_contents", None) for a in connections}
    with sync_playwright() as p:
        for alias, contents in copies.items():
            if contents is not None:
                connections[alias]._test_serialized_contents = contents  # type: ignore[attr-defined]
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Any) -> Iterator[Any]:
    from weibao.tests.browser import CHROMIUM, CHROMIUM_ARGS

    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield launched
    launched.close()
