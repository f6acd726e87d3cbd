"""Compliance findings computed from registry data (合规检查).

Each rule is a function over one unit's prefetched permits and people; the rule's level, legal
basis, thresholds and on/off switch come from ComplianceRule rows, so an administrator can tune
them without a release. Units are evaluated in batches with a fixed number of queries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from weibao.registry.models import (
    ComplianceFinding,
    ComplianceRule,
    Enterprise,
    ExpiryState,
    Permit,
    Person,
    expiry_state,
)

logger = logging.getLogger(__name__)

EVALUATED_STATUSES = (Enterprise.Status.ACTIVE, Enterprise.Status.SUSPENDED)


@dataclass(frozen=True)
class Finding:
    rule: str
    level: str
    title: str
    legal_basis: str
    subject: str  # "unit:3", "permit:12", "person:5", "certificate:9"
    detail: str


Check = Callable[[Enterprise, dict[str, Any], date], Iterator[tuple[str, str]]]
CHECKS: dict[str, Check] = {}


def check(code: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS[code] = fn
        return fn

    return register


def _date(value: date) -> str:
    return date_format(value, "Y-m-d")


def _valid_certificate(person: Person, kinds: Iterable[str], today: date) -> bool:
    wanted = set(kinds)
    return any(
        c.kind in wanted and expiry_state(c.expires_on, today) != ExpiryState.EXPIRED
        for c in person.certificates.all()
    )


def _months_ago(today: date, months: int) -> date:
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    day = min(today.day, 28)
    return date(year, month + 1, day)


@check("permit_required")
def _permit_required(
    unit: Enterprise, params: dict[str, Any], today: date
) -> Iterator[tuple[str, str]]:
    labels = dict(Permit.Kind.choices)
    held = {p.kind for p in unit.permits.all() if expiry_state(p.expires_on, today) != "expired"}
    for kind in unit.kind_list:
        required = params.get("required", {}).get(kind, [])
        if required and not held.intersection(required):
            names = " / ".join(str(labels.get(k, k)) for k in required)
            yield (
                f"unit:{unit.pk}:{kind}",
                _("No valid %(permit)s is on record.") % {"permit": names},
            )


@check("permit_expiring")
def _permit_expiring(
    unit: Enterprise, params: dict[str, Any], today: date
) -> Iterator[tuple[str, str]]:
    for permit in unit.permits.all():
        if expiry_state(permit.expires_on, today) == ExpiryState.EXPIRING:
            yield (
                f"permit:{permit.pk}",
                _("%(permit)s expires on %(date)s.")
                % {"permit": permit, "date": _date(permit.expires_on)},
            )


@check("manager_uncertified")
def _manager_uncertified(
    unit: Enterprise, params: dict[str, Any], today: date
) -> Iterator[tuple[str, str]]:
    cutoff = _months_ago(today, int(params.get("months", 6)))
    posts = set(params.get("posts", []))
    kinds = params.get("certificate_kinds", [])
    for person in unit.people.all():
        if not person.is_active or person.post not in posts or person.appointed_on is None:
            continue
        if person.appointed_on <= cutoff and not _valid_certificate(person, kinds, today):
            yield (
                f"person:{person.pk}",
                _("%(name)s (%(post)s), appointed %(date)s, holds no valid qualification.")
                % {
                    "name": person.name,
                    "post": person.get_post_display(),
                    "date": _date(person.appointed_on),
                },
            )


@check("special_post_uncertified")
def _special_post_uncertified(
    unit: Enterprise, params: dict[str, Any], today: date
) -> Iterator[tuple[str, str]]:
    posts: dict[str, list[str]] = params.get("posts", {})
    for person in unit.people.all():
        kinds = posts.get(person.post)
        if person.is_active and kinds and not _valid_certificate(person, kinds, today):
            yield (
                f"person:{person.pk}",
                _("%(name)s works as %(post)s without a valid certificate.")
                % {"name": person.name, "post": person.get_post_display()},
            )


@check("no_safety_officer")
def _no_safety_officer(
    unit: Enterprise, params: dict[str, Any], today: date
) -> Iterator[tuple[str, str]]:
    posts = set(params.get("posts", ["safety_officer"]))
    if not any(p.is_active and p.post in posts for p in unit.people.all()):
        yield f"unit:{unit.pk}", _("No safety officer is registered for this unit.")


@check("certificate_expiring")
def _certificate_expiring(
    unit: Enterprise, params: dict[str, Any], today: date
) -> Iterator[tuple[str, str]]:
    for person in unit.people.all():
        if not person.is_active:
            continue
        for cert in person.certificates.all():
            if expiry_state(cert.expires_on, today) == ExpiryState.EXPIRING:
                yield (
                    f"certificate:{cert.pk}",
                    _("%(name)s's %(certificate)s expires on %(date)s.")
                    % {
                        "name": person.name,
                        "certificate": cert.get_kind_display(),
                        "date": _date(cert.expires_on),
                    },
                )


def with_registry(units: QuerySet[Enterprise]) -> QuerySet[Enterprise]:
    """Prefetch what the checks read: three queries for any number of units."""
    return units.prefetch_related("permits", "people", "people__certificates")


def enabled_rules() -> list[ComplianceRule]:
    return [r for r in ComplianceRule.objects.filter(enabled=True) if r.code in CHECKS]


def evaluate(
    unit: Enterprise, rules: list[ComplianceRule], today: date | None = None
) -> list[Finding]:
    """Findings for one unit whose registry was prefetched with `with_registry`."""
    if unit.status not in EVALUATED_STATUSES:
        return []
    today = today or timezone.localdate()
    findings = []
    for rule in rules:
        for subject, detail in CHECKS[rule.code](unit, rule.params or {}, today):
            findings.append(
                Finding(
                    rule.code, rule.level, rule.display_title, rule.legal_basis, subject, detail
                )
            )
    findings.sort(key=lambda f: (f.level != "major", f.rule, f.subject))
    return findings


@dataclass
class ScanResult:
    units: int = 0
    findings: int = 0
    new: int = 0
    resolved: int = 0
    notified: int = 0


def scan(units: QuerySet[Enterprise] | None = None, *, batch: int = 500) -> ScanResult:
    """Re-evaluate units, remember what is open, and notify each unit and its county of what
    is new since the last scan (a permit entering its expiry window counts as new)."""
    from weibao.registry.notifications import notify_new_findings

    rules = enabled_rules()
    result = ScanResult()
    now = timezone.now()
    units = units if units is not None else Enterprise.objects.all()
    ids = list(units.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch):
        chunk = with_registry(
            Enterprise.objects.filter(pk__in=ids[start : start + batch]).select_related(
                "jurisdiction"
            )
        )
        chunk_ids = ids[start : start + batch]
        with transaction.atomic():
            stored = {
                (f.enterprise_id, f.rule, f.subject): f
                for f in ComplianceFinding.objects.filter(enterprise_id__in=chunk_ids)
            }
            fresh: list[ComplianceFinding] = []
            reopened: list[int] = []
            seen: set[tuple[int, str, str]] = set()
            new_by_unit: dict[int, list[Finding]] = {}
            units_by_id = {}
            for unit in chunk:
                units_by_id[unit.pk] = unit
                result.units += 1
                for finding in evaluate(unit, rules):
                    key = (unit.pk, finding.rule, finding.subject)
                    seen.add(key)
                    result.findings += 1
                    row = stored.get(key)
                    if row is not None and row.resolved_at is None:
                        continue  # still open, already notified
                    if row is None:
                        fresh.append(
                            ComplianceFinding(
                                enterprise=unit,
                                rule=finding.rule,
                                subject=finding.subject,
                                level=finding.level,
                                last_seen=now,
                            )
                        )
                    else:  # fixed once, broken again: new again
                        reopened.append(row.pk)
                    new_by_unit.setdefault(unit.pk, []).append(finding)
            open_keys = {k for k, f in stored.items() if f.resolved_at is None}
            gone = [stored[k].pk for k in open_keys - seen]
            ComplianceFinding.objects.filter(pk__in=gone).update(resolved_at=now)
            ComplianceFinding.objects.filter(
                pk__in=[stored[k].pk for k in open_keys & seen]
            ).update(last_seen=now)
            ComplianceFinding.objects.filter(pk__in=reopened).update(
                resolved_at=None, first_seen=now, last_seen=now
            )
            ComplianceFinding.objects.bulk_create(fresh)
            result.new += len(fresh) + len(reopened)
            result.resolved += len(gone)
            for unit_id, findings in new_by_unit.items():
                result.notified += notify_new_findings(units_by_id[unit_id], findings)
    logger.info("compliance scan: %s", result)
    return result
