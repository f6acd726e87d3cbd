"""Escalation of repeat refusal (拒不整改): the daily job that proposes a case when a unit keeps
leaving hazards past their deadlines.

A unit gets a proposal (a case in state `proposed`, origin `escalation`) when it

(a) leaves a **major hazard overdue** (`settings.ESCALATE_MAJOR_OVERDUE`): pending (open or
    rectifying) with its deadline before today; once per hazard (a later, extended deadline
    missed is rule (b));
(b) leaves a hazard **overdue after an extension** (`settings.ESCALATE_EXTENDED_OVERDUE`):
    extended at least once and overdue again. Each missed extended deadline is its own fact (the
    key carries the extension count): a unit that misses a second, city-approved deadline is
    proposed again;
(c) has **`settings.ESCALATE_REPEAT_COUNT` or more hazards overdue within the last
    `settings.ESCALATE_REPEAT_WINDOW_DAYS` days** (0 turns the rule off). A hazard, unless
    cancelled (cancelling says it was never a hazard), counts when

    - it is overdue today, however long ago its deadline passed; or
    - the daily follow-up job recorded it overdue within the window (`overdue_since` on or after
      the window's first day), even if it has been handed in since. An extension clears that
      record: the bureau that granted it accepted the delay; or
    - its rectification was handed in after its deadline, on a day within the window
      (`rectified_on` > `deadline`), which catches lateness on days the job did not run.

    A hazard whose lateness ended before the window (overdue 13 months ago, handed in then)
    does not count. Only hazards not yet used by a rule-(c) fact count, and the rule fires when
    those reach the threshold; then all of them become facts, so the next repeat proposal needs
    as many new late hazards. A hazard already used under (a) or (b) still counts here: a single
    refusal and a pattern of lateness are different facts.

Each fact is an `EscalationFact` row with a unique key (`major_overdue:<hazard>`,
`extended_overdue:<hazard>:<extensions>`, `repeated_overdue:<hazard>`), linked to the case it
went into. A recorded fact is never proposed again, whatever became of its case (a dismissed
proposal's facts stay used); when two runs race, the unique key rejects the second insert and
that unit's transaction rolls back whole.

Per run and unit there is one proposal: the unit's open escalation proposal (still `proposed`)
receives the new facts (evidence, hazards and an EVIDENCE event), otherwise a new case is
proposed to the handling bureau (`services.handling_agency`) with a PROPOSED event. Cases an
officer opened by hand are left alone: they may be about something else. The bureau's
regulators are notified (see `weibao.enforcement.notifications`).

The scan is set-based: a fixed number of queries whatever the number of hazards; the writes are
a bounded number of queries per proposal, in one transaction per unit, so a unit that fails
(logged) loses nothing for the others and is proposed on the next run.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import CharField, Count, Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from weibao.accounts.models import Agency, User
from weibao.core.context import acting_as
from weibao.enforcement import notifications
from weibao.enforcement.models import Case, CaseEvent, CaseStatus, EscalationFact
from weibao.enforcement.services import handling_agency, period
from weibao.hazards.choices import HazardLevel
from weibao.hazards.models import Hazard, HazardStatus, overdue_q
from weibao.registry.models import Enterprise

logger = logging.getLogger(__name__)

Rule = EscalationFact.Rule
# The cause of action written on proposals: stored data, in the bureau's language (pages show
# it as it is, like any title an officer types).
TITLE = "逾期未消除事故隐患"
RULE_ORDER: list[str] = [Rule.MAJOR_OVERDUE, Rule.EXTENDED_OVERDUE, Rule.REPEATED_OVERDUE]
HAZARD_FIELDS = (
    "pk",
    "enterprise_id",
    "found_on",
    "description",
    "level",
    "status",
    "deadline",
    "extension_count",
    "overdue_since",
    "rectified_on",
)


@dataclass
class EscalationResult:
    proposed: int = 0  # new proposals
    appended: int = 0  # open proposals that received new facts
    facts: int = 0  # facts recorded (one per rule and hazard)
    major_overdue: int = 0
    extended_overdue: int = 0
    repeated_overdue: int = 0
    notifications: int = 0
    skipped: int = 0  # units another run proposed at the same moment (unique key)
    failed: int = 0  # units whose write failed (logged); tried again on the next run


@dataclass(frozen=True)
class Fact:
    rule: str
    hazard: dict[str, Any]

    @property
    def key(self) -> str:
        return fact_key(self.rule, self.hazard["pk"], self.hazard["extension_count"])


def fact_key(rule: str, hazard_id: int, extension_count: int = 0) -> str:
    if rule == Rule.EXTENDED_OVERDUE:
        return f"{rule}:{hazard_id}:{extension_count}"
    return f"{rule}:{hazard_id}"


def counted_q(today: date, window_start: date) -> Q:
    """Hazards that count as overdue within the window for rule (c) (see the module text)."""
    return (
        overdue_q(today)
        | Q(overdue_since__gte=window_start)
        | Q(rectified_on__gte=window_start, rectified_on__gt=F("deadline"))
    ) & ~Q(status=HazardStatus.CANCELLED)


def _used(rule: str) -> Exists:
    facts = EscalationFact.objects.filter(hazard=OuterRef("pk"), rule=rule)
    if rule == Rule.EXTENDED_OVERDUE:
        key = Concat(
            Value(f"{rule}:"),
            Cast(OuterRef("pk"), CharField()),
            Value(":"),
            Cast(OuterRef("extension_count"), CharField()),
            output_field=CharField(),
        )
        facts = facts.filter(key=key)
    return Exists(facts)


def _scoped(queryset: QuerySet[Hazard], units: list[int] | None) -> QuerySet[Hazard]:
    return queryset if units is None else queryset.filter(enterprise_id__in=units)


def _single_facts(today: date, units: list[int] | None) -> list[Fact]:
    """Rules (a) and (b): one query for the whole system."""
    rules = []
    if settings.ESCALATE_MAJOR_OVERDUE:
        rules.append((Rule.MAJOR_OVERDUE, Q(level=HazardLevel.MAJOR)))
    if settings.ESCALATE_EXTENDED_OVERDUE:
        rules.append((Rule.EXTENDED_OVERDUE, Q(extension_count__gte=1)))
    if not rules:
        return []
    fresh = Q()
    annotations = {}
    for rule, condition in rules:
        annotations[f"used_{rule}"] = _used(rule)
        fresh |= condition & Q(**{f"used_{rule}": False})
    rows = (
        _scoped(Hazard.objects.filter(overdue_q(today)), units)
        .annotate(**annotations)
        .filter(fresh)
        .order_by("enterprise_id", "deadline", "pk")
        .values(*HAZARD_FIELDS, *annotations)
    )
    facts = []
    for row in rows:
        used = {rule: row.pop(f"used_{rule}") for rule, _condition in rules}
        for rule, _condition in rules:
            applies = (
                row["level"] == HazardLevel.MAJOR
                if rule == Rule.MAJOR_OVERDUE
                else row["extension_count"] >= 1
            )
            if applies and not used[rule]:
                facts.append(Fact(rule, row))
    return facts


def _repeat_facts(today: date, units: list[int] | None) -> list[Fact]:
    """Rule (c): units whose unused late hazards reach the threshold, and those hazards; one
    query (the count per unit is a subquery)."""
    threshold = settings.ESCALATE_REPEAT_COUNT
    if threshold < 1:
        return []
    window_start = today - timedelta(days=settings.ESCALATE_REPEAT_WINDOW_DAYS)
    counted = _scoped(
        Hazard.objects.filter(counted_q(today, window_start)).filter(~_used(Rule.REPEATED_OVERDUE)),
        units,
    ).order_by()
    heavy = (
        counted.values("enterprise_id")
        .annotate(n=Count("pk"))
        .filter(n__gte=threshold)
        .values("enterprise_id")
    )
    rows = (
        counted.filter(enterprise_id__in=heavy)
        .order_by("enterprise_id", "deadline", "pk")
        .values(*HAZARD_FIELDS)
    )
    return [Fact(Rule.REPEATED_OVERDUE, row) for row in rows]


def _reference(pk: int, found_on: date) -> str:
    """`Hazard.reference` without building a model instance per fact (thousands a run)."""
    reference: str = Hazard.reference.fget(SimpleNamespace(pk=pk, found_on=found_on))  # type: ignore[attr-defined]
    return reference


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def evidence_entry(fact: Fact, today: date) -> dict[str, Any]:
    """What the proposal shows for one fact: the hazard as it stood when the job saw it."""
    h = fact.hazard
    late_until = today if h["status"] in (HazardStatus.OPEN, HazardStatus.RECTIFYING) else None
    if late_until is None and h["rectified_on"] and h["rectified_on"] > h["deadline"]:
        late_until = h["rectified_on"]
    return {
        "rule": fact.rule,
        "hazard_id": h["pk"],
        "reference": _reference(h["pk"], h["found_on"]),
        "description": h["description"],
        "level": h["level"],
        "status": h["status"],
        "found_on": _iso(h["found_on"]),
        "deadline": _iso(h["deadline"]),
        "extension_count": h["extension_count"],
        "overdue_since": _iso(h["overdue_since"]),
        "rectified_on": _iso(h["rectified_on"]),
        "overdue_days": (late_until - h["deadline"]).days if late_until else None,
        "recorded_on": today.isoformat(),
    }


def facts_by_unit(today: date, units: list[int] | None = None) -> dict[int, list[Fact]]:
    """The new facts a run on `today` would propose, by unit (reads only)."""
    by_unit: dict[int, list[Fact]] = defaultdict(list)
    for fact in [*_single_facts(today, units), *_repeat_facts(today, units)]:
        by_unit[fact.hazard["enterprise_id"]].append(fact)
    for facts in by_unit.values():
        facts.sort(key=lambda f: (RULE_ORDER.index(f.rule), f.hazard["deadline"], f.hazard["pk"]))
    return by_unit


class _Bureaus:
    """The handling bureau per county, looked up once per county in a run."""

    def __init__(self) -> None:
        self._by_code: dict[str, Agency] = {}

    def __call__(self, unit: Enterprise) -> Agency:
        code = unit.jurisdiction_id
        if code not in self._by_code:
            self._by_code[code] = handling_agency(unit)
        return self._by_code[code]


def _propose(
    unit: Enterprise,
    facts: list[Fact],
    today: date,
    bureau_for: Callable[[Enterprise], Agency],
    regulators: dict[int, list[User]],
    result: EscalationResult,
) -> None:
    """One unit's proposal (or the facts added to its open one), in one transaction."""
    with transaction.atomic():
        case: Case | None = (
            Case.objects.select_for_update()
            .filter(enterprise=unit, status=CaseStatus.PROPOSED, origin=Case.Origin.ESCALATION)
            .order_by("pk")
            .first()
        )
        evidence = [evidence_entry(f, today) for f in facts]
        appended = case is not None
        if case is None:
            case = Case(
                enterprise=unit,
                agency=bureau_for(unit),
                origin=Case.Origin.ESCALATION,
                title=TITLE,
                evidence=evidence,
                proposed_on=today,
                deadline=period(settings.CASE_PROPOSAL_PERIOD, today),
            )
            case.save()
        else:
            case.evidence = [*case.evidence, *evidence]
            case.save(update_fields=["evidence", "updated_at"])
        # The unique key makes a racing run fail here, before anything else is written.
        EscalationFact.objects.bulk_create(
            EscalationFact(
                key=f.key, rule=f.rule, enterprise=unit, hazard_id=f.hazard["pk"], case=case
            )
            for f in facts
        )
        hazard_ids = sorted({f.hazard["pk"] for f in facts})
        # One insert (`add` reads the existing links first); a hazard already linked (an
        # earlier fact of another rule) is skipped by the unique pair.
        link = Case.hazards.through
        link.objects.bulk_create(
            [link(case_id=case.pk, hazard_id=pk) for pk in hazard_ids], ignore_conflicts=True
        )
        rules = [str(r) for r in RULE_ORDER if any(f.rule == r for f in facts)]
        CaseEvent.objects.create(
            case=case,
            action=CaseEvent.Action.EVIDENCE if appended else CaseEvent.Action.PROPOSED,
            from_status=CaseStatus.PROPOSED if appended else "",
            to_status=case.status,
            actor=None,
            data={"rules": rules, "hazards": hazard_ids, "facts": len(facts)},
        )
        sent = notifications.notify_case_proposed(
            recipients=regulators.get(case.agency_id, []),
            case_id=case.pk,
            appended=appended,
            params={
                "unit": unit.name,
                "unit_id": unit.pk,
                "case_id": case.pk,
                "reference": case.reference,
                "count": len(facts),
                "deadline": _iso(case.deadline) or "",
            },
        )
    result.notifications += sent
    result.appended += appended
    result.proposed += not appended
    result.facts += len(facts)
    for fact in facts:
        setattr(result, fact.rule, getattr(result, fact.rule) + 1)


def run_escalation(
    today: date | None = None, *, units: Iterable[int] | None = None
) -> EscalationResult:
    """Propose cases for today's new facts of repeat refusal; running it again the same day
    proposes nothing more. `units` limits the run to some units (the demo uses it)."""
    today = today or timezone.localdate()
    only = None if units is None else list(units)
    result = EscalationResult()
    with acting_as(label="job:enforcement.escalation"):
        by_unit = facts_by_unit(today, only)
        if by_unit:
            enterprises = Enterprise.objects.only("pk", "name", "jurisdiction_id").in_bulk(
                list(by_unit)
            )
            regulators = notifications.regulators_by_agency()
            bureau_for = _Bureaus()
            for unit_id in sorted(by_unit):
                try:
                    _propose(
                        enterprises[unit_id],
                        by_unit[unit_id],
                        today,
                        bureau_for,
                        regulators,
                        result,
                    )
                except IntegrityError:
                    logger.info("escalation: unit %s was proposed by another run", unit_id)
                    result.skipped += 1
                except Exception:
                    logger.exception("escalation: unit %s failed; it is tried again", unit_id)
                    result.failed += 1
    logger.info("escalation for %s: %s", today, result)
    return result
