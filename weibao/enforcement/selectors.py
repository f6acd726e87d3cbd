"""Reads for cases, always through `Case.objects.visible_to(user)`: the case pages' querysets,
the steps a user may take now, the home page's deadlines, a unit's enforcement history and the
quality-review results per county."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Case as SqlCase
from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
    Window,
)
from django.utils import timezone

from weibao.accounts.models import REGULATOR_ROLES, User
from weibao.core.scoping import covers
from weibao.core.workdays import add_working_days
from weibao.enforcement.models import (
    OPEN_STATUSES,
    Case,
    CaseDocument,
    CaseEvent,
    CaseReview,
    CaseStatus,
    LegalProvision,
    PenaltyItem,
)
from weibao.enforcement.models.cases import EDITABLE
from weibao.enforcement.services import allowed_actions, decision_wait
from weibao.registry.models import Enterprise

# --- deadlines ------------------------------------------------------------------------------------


class DeadlineState:
    """What the list's `deadline` filter and the home panel call a case's current deadline."""

    PASSED = "passed"  # open, deadline before today
    NEAR = "near"  # open, deadline today or within the near period (working days)
    DUE = "due"  # near or passed: what needs attention
    NONE = "none"  # nothing is due


def near_horizon(today: date | None = None) -> date:
    """The last day a deadline counts as near: settings.CASE_DEADLINE_NEAR_WORKING_DAYS
    working days from today (holidays and make-up days counted by chinese-calendar)."""
    today = today or timezone.localdate()
    return add_working_days(today, settings.CASE_DEADLINE_NEAR_WORKING_DAYS)


def deadline_q(state: str, today: date | None = None) -> Q:
    today = today or timezone.localdate()
    open_with_deadline = Q(status__in=OPEN_STATUSES, deadline__isnull=False)
    if state == DeadlineState.PASSED:
        return open_with_deadline & Q(deadline__lt=today)
    if state == DeadlineState.NEAR:
        return open_with_deadline & Q(deadline__gte=today, deadline__lte=near_horizon(today))
    if state == DeadlineState.DUE:
        return open_with_deadline & Q(deadline__lte=near_horizon(today))
    if state == DeadlineState.NONE:
        return Q(deadline__isnull=True) | ~Q(status__in=OPEN_STATUSES)
    return Q()


def deadline_label_state(case: Case, today: date, horizon: date) -> str:
    """ "passed", "near" or "" for one case (the list and home panel highlight)."""
    if case.deadline is None or case.status not in OPEN_STATUSES:
        return ""
    if case.deadline < today:
        return DeadlineState.PASSED
    if case.deadline <= horizon:
        return DeadlineState.NEAR
    return ""


def handled_by(user: User) -> Exists:
    """Whether `user` is one of the case's handling officers (for annotate / filter)."""
    through = Case.officers.through
    return Exists(through.objects.filter(case_id=OuterRef("pk"), user_id=user.pk))


# --- lists ----------------------------------------------------------------------------------------


def search_q(text: str) -> Q:
    """Every word in the case number, the cause of action, the unit's name or its USCC."""
    q = Q()
    for word in text.split():
        q &= (
            Q(number__icontains=word)
            | Q(title__icontains=word)
            | Q(enterprise__name__icontains=word)
            | Q(enterprise__uscc__icontains=word)
        )
    return q


def case_list(user: User, filters: dict[str, Any] | None = None) -> QuerySet[Case]:
    """The cases the list shows, filtered: open work first, then by deadline."""
    filters = filters or {}
    rows = Case.objects.visible_to(user).select_related("enterprise")
    code = filters.get("jurisdiction")
    if code:
        rows = rows.filter(enterprise__jurisdiction_id=code)
    if filters.get("enterprise"):
        rows = rows.filter(enterprise=filters["enterprise"])
    if filters.get("status"):
        rows = rows.filter(status=filters["status"])
    if filters.get("origin"):
        rows = rows.filter(origin=filters["origin"])
    if filters.get("deadline"):
        rows = rows.filter(deadline_q(filters["deadline"]))
    if filters.get("mine"):
        rows = rows.filter(handled_by(user))
    text = str(filters.get("search") or "").strip()
    if text:
        rows = rows.filter(search_q(text))
    open_first = SqlCase(
        When(status__in=OPEN_STATUSES, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return rows.prefetch_related("officers").order_by(
        open_first, F("deadline").asc(nulls_last=True), "-proposed_on", "-id"
    )


def status_counts(user: User, jurisdiction: str = "") -> dict[str, int]:
    """How many visible cases are in each status (of one county when given), in one query."""
    rows = Case.objects.visible_to(user)
    if jurisdiction:
        rows = rows.filter(enterprise__jurisdiction_id=jurisdiction)
    counts: dict[str, int] = rows.aggregate(
        **{status: Count("pk", filter=Q(status=status)) for status in CaseStatus.values}
    )
    return counts


# --- one case -------------------------------------------------------------------------------------


def is_party(user: User) -> bool:
    """Unit staff read their own case as the party: what was served on them, not the bureau's
    internal file (approval form, evidence, escalation facts, notes of internal steps, review)."""
    return bool(getattr(user, "is_unit_user", False))


def case_documents(user: User) -> QuerySet[CaseDocument]:
    """The documents of visible cases this user may open (pages, API, downloads)."""
    rows = CaseDocument.objects.select_related("issued_by")
    return rows.filter(kind__in=CaseDocument.PARTY_KINDS) if is_party(user) else rows


def case_events(user: User) -> QuerySet[CaseEvent]:
    rows = CaseEvent.objects.select_related("actor", "document")
    return rows.filter(action__in=CaseEvent.PARTY_ACTIONS) if is_party(user) else rows


def case_queryset(user: User) -> QuerySet[Case]:
    """One case with everything its page reads, in a fixed number of queries however long its
    timeline or however many its documents, penalties and evidence."""
    return (
        Case.objects.visible_to(user)
        .select_related("enterprise__jurisdiction", "agency", "created_by", "review__reviewer")
        .prefetch_related(
            "officers",
            "persons",
            Prefetch("provisions", queryset=LegalProvision.objects.order_by("code")),
            Prefetch(
                "penalties",
                queryset=PenaltyItem.objects.select_related("provision", "person", "permit"),
            ),
            "hazards",
            "inspections",
            Prefetch("documents", queryset=case_documents(user)),
            Prefetch("events", queryset=case_events(user)),
        )
    )


def review_of(case: Case) -> CaseReview | None:
    try:
        review: CaseReview = case.review
    except ObjectDoesNotExist:
        return None
    return review


def unpaid_fines(case: Case) -> list[PenaltyItem]:
    return [item for item in case.penalties.all() if item.is_fine and item.paid_on is None]


# Every step the pages (and the API's allowed_actions) may offer, in the order they are
# listed, with the rules permission on Case that guards it.
ACTION_PERMS = {
    "edit": "change",
    "register": "register",
    "investigate": "investigate",
    "notify": "notify",
    "defence": "defence",
    "hearing": "defence",
    "decide": "decide",
    "pay": "pay",
    "execute": "execute",
    "close": "close",
    "attach": "attach",
    "review": "review",
    "drop": "drop",
}
ACTION_ORDER = list(ACTION_PERMS)


def user_actions(user: Any, case: Case) -> list[str]:
    """What `user` may do with `case` now: the procedure's next steps the rules let this user
    take, plus the side steps (edit, defence, hearing, payment, files, review). Mirrors the
    services' checks without queries (officers, penalties and review must be loaded), so the
    page offers what would succeed."""

    def may(action: str) -> bool:
        return bool(user.has_perm(f"enforcement.{ACTION_PERMS[action]}_case", case))

    steps = {a for a in allowed_actions(case) if a in ACTION_PERMS}
    if case.status == CaseStatus.NOTIFIED:
        steps.add("defence")
        if case.hearing_requested and case.hearing_held_on is None:
            steps.add("hearing")
        if decision_wait(case):
            steps.discard("decide")
    if case.status == CaseStatus.DECIDED and unpaid_fines(case):
        steps.add("pay")
        steps.discard("execute")  # execution needs every fine paid
    if case.status in EDITABLE:
        steps.add("edit")
    if case.is_open:
        steps.add("attach")
    if case.status == CaseStatus.CLOSED and review_of(case) is None:
        steps.add("review")
    return [a for a in ACTION_ORDER if a in steps and may(a)]


# --- forms' choices -------------------------------------------------------------------------------


def officer_choices(user: User, enterprise: Enterprise) -> list[User]:
    """Regulators who may handle a case on `enterprise` (their bureau's jurisdiction covers
    it) among the users `user` sees: a county officer picks colleagues of the county; the
    city also its own officers."""
    code = enterprise.jurisdiction_id
    candidates = (
        User.objects.visible_to(user)
        .filter(
            is_active=True,
            role__in=sorted(REGULATOR_ROLES),
            agency__isnull=False,
            agency__jurisdiction_id__in=[code, f"{code[:4]}00", f"{code[:2]}0000"],
        )
        .select_related("agency")
        .order_by("agency__jurisdiction_id", "full_name", "username")
    )
    return [u for u in candidates if covers(u, code)]


# --- home page ------------------------------------------------------------------------------------

HOME_LIMIT = 10


@dataclass(frozen=True)
class DueCase:
    case: Case
    state: str  # "passed" or "near"
    mine: bool


@dataclass(frozen=True)
class CasesDue:
    """The home panel: open cases whose current deadline is near or passed."""

    rows: list[DueCase]
    total: int
    passed: int
    near: int
    mine: int
    working_days: int


def cases_due(user: User, today: date | None = None, limit: int = HOME_LIMIT) -> CasesDue | None:
    """For a regulator, the cases of their jurisdiction whose deadline is near or passed (the
    ones they handle first); for an administrator all of them; None for anyone else. One
    query, whatever the number of cases."""
    if not (user.is_regulator or user.is_system_admin):
        return None
    today = today or timezone.localdate()
    horizon = near_horizon(today)
    rows = Case.objects.visible_to(user).filter(deadline_q(DeadlineState.DUE, today))
    mine = handled_by(user)
    # The counts ride along on the listed rows (window aggregates over every due case, taken
    # before the LIMIT): the panel costs the home page one query.
    listed = list(
        rows.annotate(
            mine=mine,
            due_total=Window(Count("pk")),
            due_passed=Window(Count("pk", filter=Q(deadline__lt=today))),
            due_mine=Window(Count("pk", filter=Q(mine))),
        )
        .select_related("enterprise")
        .order_by("-mine", "deadline", "id")[:limit]
    )
    first: Any = listed[0] if listed else None
    total, passed = (first.due_total, first.due_passed) if first else (0, 0)
    return CasesDue(
        rows=[
            DueCase(case, deadline_label_state(case, today, horizon), bool(cast(Any, case).mine))
            for case in listed
        ],
        total=total,
        passed=passed,
        near=total - passed,
        mine=first.due_mine if first else 0,
        working_days=settings.CASE_DEADLINE_NEAR_WORKING_DAYS,
    )


# --- a unit's enforcement history -----------------------------------------------------------------


def unit_cases(user: User, unit: Enterprise) -> QuerySet[Case] | None:
    """The unit page's enforcement history: the unit's cases this user sees (a unit its
    registered ones), with the total of their penalties; None for partner departments, who see
    no cases."""
    if user.is_partner:
        return None
    rows: QuerySet[Case] = (
        Case.objects.visible_to(user)
        .filter(enterprise=unit)
        .annotate(penalties_total=Sum("penalties__amount"))
        .order_by("-proposed_on", "-id")
    )
    return rows


# --- quality review per county --------------------------------------------------------------------

ALL_MET = Q(**{f"review__{name}": True for name in CaseReview.CRITERIA})
ANY_MISSED = Q()
for _name in CaseReview.CRITERIA:
    ANY_MISSED |= Q(**{f"review__{_name}": False})

# CaseReview.grade in SQL (tested against it): model case 90+ with every criterion met, good 75+
# (or 90+ with one missed), acceptable 60+, else not acceptable.
GRADE_Q = {
    CaseReview.Grade.EXCELLENT: Q(review__score__gte=90) & ALL_MET,
    CaseReview.Grade.GOOD: Q(review__score__gte=75, review__score__lt=90)
    | (Q(review__score__gte=90) & ANY_MISSED),
    CaseReview.Grade.PASS: Q(review__score__gte=60, review__score__lt=75),
    CaseReview.Grade.FAIL: Q(review__score__lt=60),
}


@dataclass(frozen=True)
class CountyReviews:
    code: str
    name: str
    closed: int
    reviewed: int
    average: Decimal | None
    grades: dict[str, int]
    score_total: int = 0


def average_score(total: int, count: int) -> Decimal | None:
    """The mean score to one decimal (half up, as a person rounds), None with no review."""
    if not count:
        return None
    return (Decimal(total) / count).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def review_results(user: User) -> list[CountyReviews]:
    """Closed cases, reviews, average score and grade counts per county, for the counties the
    user supervises (the city: each of its counties; a county officer: its own). One query for
    the figures and one for the names."""
    from weibao.registry.models import Jurisdiction

    figures = {
        row["enterprise__jurisdiction_id"]: row
        for row in Case.objects.visible_to(user)
        .filter(status=CaseStatus.CLOSED)
        .values("enterprise__jurisdiction_id")
        .annotate(
            closed=Count("pk"),
            reviewed=Count("review"),
            score_total=Sum("review__score"),
            **{str(grade): Count("review", filter=q) for grade, q in GRADE_Q.items()},
        )
        .order_by()
    }
    counties = [
        j
        for j in Jurisdiction.objects.filter(level=Jurisdiction.Level.COUNTY).order_by("code")
        if covers(user, j.code) or j.code in figures
    ]
    results = []
    for county in counties:
        row = figures.get(county.code, {})
        reviewed, score_total = row.get("reviewed", 0), row.get("score_total") or 0
        results.append(
            CountyReviews(
                code=county.code,
                name=county.display_name,
                closed=row.get("closed", 0),
                reviewed=reviewed,
                average=average_score(score_total, reviewed),
                grades={str(grade): row.get(str(grade), 0) for grade in GRADE_Q},
                score_total=score_total,
            )
        )
    return results


def reviews_visible_to(user: Any) -> QuerySet[CaseReview]:
    """Reviews of the cases a regulator sees: the bureaus' assessment of their own work, so
    units and partner departments see none."""
    if not (getattr(user, "is_regulator", False) or getattr(user, "is_system_admin", False)):
        return CaseReview.objects.none()
    return CaseReview.objects.filter(case__in=Case.objects.visible_to(user)).select_related(
        "case__enterprise", "reviewer"
    )


def recent_reviews(user: User, limit: int = 20) -> QuerySet[CaseReview]:
    return reviews_visible_to(user).order_by("-reviewed_at", "-id")[:limit]
