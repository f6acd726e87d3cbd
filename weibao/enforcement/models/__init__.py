"""Enforcement (行政处罚): legal provisions, cases with their procedure, penalties, documents,
escalation facts and case-quality reviews."""

from weibao.enforcement.models.cases import (
    OPEN_STATUSES,
    Case,
    CaseDocument,
    CaseEvent,
    CaseStatus,
    EscalationFact,
    PenaltyItem,
)
from weibao.enforcement.models.provisions import (
    FINE_KINDS,
    PERMIT_KINDS,
    LegalProvision,
    PenaltyKind,
)
from weibao.enforcement.models.reviews import CaseReview

__all__ = [
    "FINE_KINDS",
    "OPEN_STATUSES",
    "PERMIT_KINDS",
    "Case",
    "CaseDocument",
    "CaseEvent",
    "CaseReview",
    "CaseStatus",
    "EscalationFact",
    "LegalProvision",
    "PenaltyItem",
    "PenaltyKind",
]
