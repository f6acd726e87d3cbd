from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from weibao import settings as s


def test_env_reads_file_variant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    monkeypatch.setenv("WEIBAO_X_FILE", str(secret))
    assert s.env("WEIBAO_X") == "from-a-file"


def test_env_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEIBAO_MISSING", raising=False)
    with pytest.raises(ImproperlyConfigured, match="WEIBAO_MISSING"):
        s.env("WEIBAO_MISSING")
    monkeypatch.setenv("WEIBAO_MISSING_FILE", "/nonexistent/secret")
    with pytest.raises(ImproperlyConfigured, match="cannot be read"):
        s.env("WEIBAO_MISSING")


@pytest.mark.parametrize("raw", ["maybe", "2", "ja"])
def test_bad_boolean(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("WEIBAO_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="not a boolean"):
        s.env_bool("WEIBAO_FLAG", False)


def test_bad_integer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEIBAO_N", "ten")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        s.env_int("WEIBAO_N", 1)


def test_choice_is_case_insensitive_and_refuses_others(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEIBAO_ENGINE", " Spark ")
    assert s.env_choice("WEIBAO_ENGINE", "duckdb", ("duckdb", "spark")) == "spark"
    monkeypatch.delenv("WEIBAO_ENGINE")
    assert s.env_choice("WEIBAO_ENGINE", "duckdb", ("duckdb", "spark")) == "duckdb"
    monkeypatch.setenv("WEIBAO_ENGINE", "oracle")
    with pytest.raises(ImproperlyConfigured, match="'oracle' is not one of: duckdb, spark"):
        s.env_choice("WEIBAO_ENGINE", "duckdb", ("duckdb", "spark"))


def _check(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    drop = {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE", "DATABASE_URL"}
    clean = {k: v for k, v in os.environ.items() if k not in drop}
    return subprocess.run(
        [sys.executable, "-m", "weibao.cli", "check", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_without_secret_key_refuses_to_start() -> None:
    result = _check({"DEBUG": "0", "ALLOWED_HOSTS": "weibao.example"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_deploy_check_is_clean_with_production_settings(tmp_path: Path) -> None:
    result = _check(
        {
            "DEBUG": "0",
            "SECRET_KEY": "x" * 30 + "-production-secret-key-with-entropy-7f3a9c",
            "ALLOWED_HOSTS": "weibao.example",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "SITE_URL": "https://weibao.example",
        },
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stderr + result.stdout


def test_reconcile_engine_is_one_the_ledger_has() -> None:
    from weibao.ledger import reconcile

    assert s.LEDGER_RECONCILE_ENGINE == "duckdb"  # the default
    for engine in reconcile.ENGINES:
        assert _check({"DEBUG": "1", "LEDGER_RECONCILE_ENGINE": engine}).returncode == 0
    refused = _check({"DEBUG": "1", "LEDGER_RECONCILE_ENGINE": "oracle"})
    assert refused.returncode != 0
    assert "LEDGER_RECONCILE_ENGINE='oracle' is not one of: duckdb, spark." in refused.stderr


@pytest.mark.parametrize("master", ["", "spak://spark.example:7077", "local[two]"])
def test_a_malformed_spark_master_refuses_to_start(master: str) -> None:
    result = _check({"DEBUG": "1", "LEDGER_SPARK_MASTER": master})
    assert result.returncode != 0 and "LEDGER_SPARK_MASTER" in result.stderr


def test_the_wsgi_process_settles_its_startup_objects_out_of_the_collectors_reach() -> None:
    """Full garbage collections scanned every model, URL pattern and catalogue: a pause of
    80-100 ms in a request every few dozen. The WSGI module freezes them once loaded."""
    code = (
        "import gc, sys, weibao.wsgi; "
        "print(gc.get_freeze_count(), 'weibao.ledger.api_firing' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    frozen, views_loaded = done.stdout.split()
    assert int(frozen) > 10_000 and views_loaded == "True"
