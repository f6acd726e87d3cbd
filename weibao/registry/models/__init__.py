"""Registry models: jurisdictions, units and what they own, compliance rules and findings."""

from weibao.registry.models.compliance import ComplianceFinding, ComplianceRule
from weibao.registry.models.jurisdiction import (
    Jurisdiction,
    jurisdiction_prefix,
    validate_division_code,
)
from weibao.registry.models.units import (
    Certificate,
    Enterprise,
    EnterpriseKind,
    ExpiryState,
    Permit,
    Person,
    Site,
    expiry_state,
    expiry_state_q,
    kinds_q,
)

__all__ = [
    "Certificate",
    "ComplianceFinding",
    "ComplianceRule",
    "Enterprise",
    "EnterpriseKind",
    "ExpiryState",
    "Jurisdiction",
    "Permit",
    "Person",
    "Site",
    "expiry_state",
    "expiry_state_q",
    "jurisdiction_prefix",
    "kinds_q",
    "validate_division_code",
]
