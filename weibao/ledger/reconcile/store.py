"""What reconciliation found, kept as `Anomaly` rows (one per key), and the alarms it raises.

A finding whose key is new becomes an `open` anomaly. One found again keeps its status and
explanation (people decide those, through the anomaly services); only what the data says is
refreshed: evidence, quantity, severity and `last_seen_at`. An anomaly no longer found is left as
it is: `last_seen_at` tells when it was last true.

Set-based: the existing anomalies are read by key in chunks, then one bulk insert and one bulk
update, and the notifications in one bulk insert, all in one transaction. Bulk writes skip
`AuditedModel.save()`: these are machine findings, and the audit trail starts with the first
human decision on them.

Severity (the anomaly contract): the loss kinds (not received, not closed, lost) are `critical`
when the quantity reaches the criminal threshold of its measure (LEDGER_CRIMINAL_DETONATORS
pieces, LEDGER_CRIMINAL_KG kg, LEDGER_CRIMINAL_METRES m), otherwise `high`, like over capacity,
over permit, code reused and never produced; late filing and count mismatch are `low`. A loss
anomaly that becomes critical (new, or grown past the threshold while open) is notified at once
to the county regulators of its owner's jurisdiction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from weibao.accounts.models import Role, User
from weibao.core.models import Notification
from weibao.core.notifications import MESSAGES, send_notification_emails
from weibao.ledger.models import MEASURE, Anomaly
from weibao.ledger.reconcile.findings import Finding
from weibao.registry.models import Enterprise, jurisdiction_prefix

Kind = Anomaly.Kind
Severity = Anomaly.Severity
LOW_KINDS = frozenset({Kind.LATE_FILING, Kind.COUNT_MISMATCH})
# The evidence time that dates a loss, per kind (shown in the alarm).
LOSS_MOMENT = {Kind.NOT_RECEIVED: "shipped_at", Kind.NOT_CLOSED: "issued_at", Kind.LOST: "lost_at"}
REFRESHED = ["evidence", "last_seen_at", "quantity", "severity"]
CHUNK = 900  # keys per query (SQLite's parameter limit)
EMAIL_BATCH = 500


@dataclass
class StoreResult:
    created: int = 0
    updated: int = 0
    notified: int = 0  # notifications created (one per regulator per alarm)
    alarms: int = 0  # critical loss anomalies notified


def anomaly_url(pk: int) -> str:
    return f"/ledger/anomalies/{pk}/"


def threshold(product: str) -> Decimal | None:
    measure = MEASURE.get(product)  # type: ignore[call-overload]
    if measure == "piece":
        return Decimal(settings.LEDGER_CRIMINAL_DETONATORS)
    if measure == "kg":
        return Decimal(settings.LEDGER_CRIMINAL_KG)
    if measure == "m":
        return Decimal(settings.LEDGER_CRIMINAL_METRES)
    return None


def severity_of(kind: str, product: str, quantity: Decimal) -> str:
    if kind in Anomaly.LOSS_KINDS:
        limit = threshold(product)
        if limit is not None and quantity >= limit:
            return Severity.CRITICAL
        return Severity.HIGH
    if kind in LOW_KINDS:
        return Severity.LOW
    return Severity.HIGH


def _moment(epoch: int) -> datetime:
    return timezone.localtime(datetime.fromtimestamp(epoch, tz=UTC))


def evidence_json(evidence: dict[str, Any]) -> dict[str, Any]:
    """Epoch seconds (`*_at`) → local ISO 8601, day numbers (`*_day`) → ISO dates, decimals →
    strings; ids and counts stay numbers."""
    out: dict[str, Any] = {}
    for name, value in evidence.items():
        if value is None or isinstance(value, str):
            out[name] = value
        elif name.endswith("_at"):
            out[name] = _moment(int(value)).isoformat()
        elif name.endswith("_day"):
            out[name] = (date(1970, 1, 1) + timedelta(days=int(value))).isoformat()
        elif isinstance(value, Decimal):
            out[name] = str(value)
        else:
            out[name] = value
    return out


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def anomalies_store(*, findings: Sequence[Finding], seen_at: datetime | None = None) -> StoreResult:
    """Insert new anomalies, refresh those found again, alarm on critical losses."""
    now = seen_at or timezone.now()
    result = StoreResult()
    unique = list({f.key: f for f in reversed(findings)}.values())
    keys = [f.key for f in unique]
    with transaction.atomic():
        existing: dict[str, Anomaly] = {}
        for chunk in _chunks(keys):
            existing.update(
                (a.key, a)
                for a in Anomaly.objects.filter(key__in=chunk).only(
                    "pk", "key", "kind", "status", "severity", "enterprise_id", *REFRESHED
                )
            )
        new: list[Anomaly] = []
        seen: list[Anomaly] = []
        alarms: list[tuple[Anomaly, Finding]] = []
        for found in unique:
            severity = severity_of(found.kind, found.product, found.quantity)
            evidence = evidence_json(found.evidence_dict)
            anomaly = existing.get(found.key)
            if anomaly is None:
                anomaly = Anomaly(
                    key=found.key,
                    kind=found.kind,
                    severity=severity,
                    status=Anomaly.Status.OPEN,
                    enterprise_id=found.enterprise_id,
                    site_id=found.site_id,
                    subject=found.subject,
                    product=found.product,
                    quantity=found.quantity,
                    evidence=evidence,
                    detected_at=now,
                    last_seen_at=now,
                )
                new.append(anomaly)
                if severity == Severity.CRITICAL:
                    alarms.append((anomaly, found))
                continue
            if (
                severity == Severity.CRITICAL
                and anomaly.severity != Severity.CRITICAL
                and anomaly.status == Anomaly.Status.OPEN
            ):
                alarms.append((anomaly, found))
            anomaly.evidence = evidence
            anomaly.last_seen_at = now
            anomaly.quantity = found.quantity
            anomaly.severity = severity
            seen.append(anomaly)
        Anomaly.objects.bulk_create(new, batch_size=500)
        Anomaly.objects.bulk_update(seen, REFRESHED, batch_size=500)
        result.created, result.updated = len(new), len(seen)
        result.alarms = len(alarms)
        result.notified = _alarm(alarms)
    return result


def _county_regulators() -> dict[str, list[int]]:
    """Active county regulators by their bureau's division code."""
    counties: dict[str, list[int]] = {}
    rows = User.objects.filter(
        is_active=True, role=Role.COUNTY_REGULATOR, agency__isnull=False
    ).values_list("pk", "agency__jurisdiction_id")
    for user_id, code in rows:
        counties.setdefault(code, []).append(user_id)
    return counties


def _quantity_text(product: str, quantity: Decimal) -> str:
    number = format(quantity.normalize(), "f")
    measure = MEASURE.get(product)  # type: ignore[call-overload]
    return f"{number} {measure}" if measure in {"kg", "m"} else number


def _alarm(alarms: list[tuple[Anomaly, Finding]]) -> int:
    if not alarms:
        return 0
    units = {
        pk: (name, code)
        for pk, name, code in Enterprise.objects.filter(
            pk__in={a.enterprise_id for a, _f in alarms}
        ).values_list("pk", "name", "jurisdiction_id")
    }
    counties = [(jurisdiction_prefix(code), users) for code, users in _county_regulators().items()]
    notes: list[Notification] = []
    for anomaly, found in alarms:
        name, code = units[anomaly.enterprise_id]
        recipients = {u for prefix, users in counties if code.startswith(prefix) for u in users}
        verb = f"ledger.{found.kind}"
        if verb not in MESSAGES:
            raise ValueError(f"unknown notification verb {verb!r}")
        moment = found.evidence_dict.get(LOSS_MOMENT[Kind(found.kind)])
        params = {
            "unit": name,
            "unit_id": anomaly.enterprise_id,
            "code": found.subject,
            "quantity": _quantity_text(found.product, found.quantity),
            "at": _moment(int(moment)).strftime("%Y-%m-%d %H:%M") if moment else "",
            "hours": settings.LEDGER_NOT_RECEIVED_HOURS,
            "anomaly_id": anomaly.pk,
        }
        notes.extend(
            Notification(recipient_id=user, verb=verb, params=params, url=anomaly_url(anomaly.pk))
            for user in sorted(recipients)
        )
    rows = Notification.objects.bulk_create(notes)
    ids = [n.pk for n in rows]
    for start in range(0, len(ids), EMAIL_BATCH):
        transaction.on_commit(
            partial(send_notification_emails.enqueue, ids[start : start + EMAIL_BATCH])
        )
    return len(ids)
