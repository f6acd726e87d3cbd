"""The Simplified Chinese catalogue: complete, placeholder-safe, compiled and in step with the code.

No database. The last test re-extracts the messages from a throwaway copy of the package (the
repository's catalogue is never touched) and needs GNU gettext's xgettext; it is skipped without.

When one of these fails: `cd weibao && DEBUG=1 ../.venv/bin/weibao makemessages -l zh_Hans
--no-location --no-obsolete -i "tests/*"`, translate what is new or fuzzy, then
`DEBUG=1 ../.venv/bin/weibao compilemessages` and commit both django.po and django.mo.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import polib
import pytest

PACKAGE = Path(__file__).resolve().parents[2]  # .../weibao (the package, not the repository)
LC_MESSAGES = PACKAGE / "locale" / "zh_Hans" / "LC_MESSAGES"
PO_PATH = LC_MESSAGES / "django.po"
MO_PATH = LC_MESSAGES / "django.mo"

# printf-style conversions as Python's % operator reads them: %(name)s, %d, %5.2f, %%.
PYTHON_FORMAT = re.compile(r"%(?:\(\w+\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")
# str.format fields: {value}, {0}, {x!r:>10}; doubled braces are literal and not fields.
BRACE_FORMAT = re.compile(r"(?<!\{)\{(?!\{)[^{}]*\}")
NAMED = re.compile(r"%\(\w+\)|\{\w*\}")

Key = tuple[str, str, str]  # (msgctxt, msgid, msgid_plural)


def key(entry: polib._BaseEntry) -> Key:
    return (entry.msgctxt or "", entry.msgid, entry.msgid_plural or "")


def translations(entry: polib._BaseEntry) -> tuple[str, ...]:
    if entry.msgid_plural:
        return tuple(entry.msgstr_plural[i] for i in sorted(entry.msgstr_plural))
    return (entry.msgstr,)


@pytest.fixture(scope="module")
def po() -> polib.POFile:
    return polib.pofile(str(PO_PATH))


def live(po: polib.POFile) -> Iterator[polib.POEntry]:
    return (e for e in po if not e.obsolete)


def test_header_is_valid(po: polib.POFile) -> None:
    assert not po.metadata_is_fuzzy, "the header is marked fuzzy"
    assert po.metadata.get("Language") == "zh_Hans"
    assert po.metadata.get("Plural-Forms", "").replace(" ", "") == "nplurals=1;plural=0;"
    assert "charset=UTF-8" in po.metadata.get("Content-Type", "")


def test_every_entry_is_translated(po: polib.POFile) -> None:
    entries = list(live(po))
    assert entries, f"{PO_PATH} has no messages"
    fuzzy = [e.msgid for e in entries if "fuzzy" in e.flags]
    untranslated = [e.msgid for e in entries if not all(t.strip() for t in translations(e))]
    assert not fuzzy, f"fuzzy entries: {fuzzy}"
    assert not untranslated, f"untranslated entries: {untranslated}"
    assert not [e for e in po if e.obsolete], "obsolete entries: run makemessages --no-obsolete"


def test_placeholders_survive_translation(po: polib.POFile) -> None:
    problems = []
    for e in live(po):
        patterns = [PYTHON_FORMAT] if "python-format" in e.flags else []
        if "python-brace-format" in e.flags:
            patterns.append(BRACE_FORMAT)
        patterns = patterns or [NAMED]  # unflagged: named fields must still match
        source = e.msgid_plural or e.msgid  # zh has one plural form: it stands for "many"
        for translation in translations(e):
            for pattern in patterns:
                want = sorted(pattern.findall(source))
                got = sorted(pattern.findall(translation))
                if want != got:
                    problems.append(f"{source!r} → {translation!r}: expected {want}, found {got}")
    assert not problems, "placeholders changed:\n" + "\n".join(problems)


def test_compiled_catalogue_matches_po(po: polib.POFile) -> None:
    assert MO_PATH.exists(), f"{MO_PATH} is missing: run compilemessages"
    mo = polib.mofile(str(MO_PATH))
    expected = {key(e): translations(e) for e in po.translated_entries()}
    compiled = {key(e): translations(e) for e in mo}
    stale = sorted(k[1] for k in expected.keys() & compiled.keys() if expected[k] != compiled[k])
    missing = sorted(k[1] for k in expected.keys() - compiled.keys())
    extra = sorted(k[1] for k in compiled.keys() - expected.keys())
    assert not (stale or missing or extra), (
        "django.mo is out of date with django.po (run compilemessages):\n"
        f"  translated differently: {stale}\n  not compiled: {missing}\n  only in .mo: {extra}"
    )


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext (xgettext) is absent")
def test_catalogue_is_up_to_date_with_the_code(po: polib.POFile, tmp_path: Path) -> None:
    # Copy the package so makemessages writes into the copy; PYTHONPATH makes the subprocess
    # import weibao (and so settings.LOCALE_PATHS) from the copy too, and -P keeps the package
    # directory itself (the working directory) off sys.path.
    root = tmp_path / "src"
    copy = root / "weibao"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo"))
    before = PO_PATH.read_bytes()
    env = {
        **os.environ,
        "DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "weibao.settings",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
        "PYTHONDONTWRITEBYTECODE": "1",
        "WEIBAO_DATA_DIR": str(tmp_path / "var"),
    }
    command = [sys.executable, "-P", "-m", "weibao.cli", "makemessages", "-l", "zh_Hans"]
    command += ["--no-location", "--no-obsolete", "-i", "tests/*"]
    result = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"makemessages failed:\n{result.stdout}\n{result.stderr}"
    assert PO_PATH.read_bytes() == before, "makemessages wrote into the repository's catalogue"

    fresh = polib.pofile(str(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    in_code = {key(e) for e in live(fresh)}
    committed = {key(e) for e in live(po)}
    missing = sorted(k[1] for k in in_code - committed)
    unused = sorted(k[1] for k in committed - in_code)
    assert not (missing or unused), (
        "the zh_Hans catalogue is out of date with the code (run makemessages, translate, "
        f"compilemessages):\n  in the code, not in the catalogue: {missing}\n"
        f"  in the catalogue, no longer in the code: {unused}"
    )


def test_date_pickers_hold_iso_dates_in_chinese() -> None:
    """A browser's date input drops a localized value ("2026/11/29"): prefilled dates must be
    ISO whatever the language, or they come back empty."""
    from datetime import date

    from django.utils import translation

    from weibao.core.widgets import DatePicker

    with translation.override("zh-hans"):
        html = DatePicker().render("d", date(2026, 11, 29))
    assert 'type="date"' in html and 'value="2026-11-29"' in html
