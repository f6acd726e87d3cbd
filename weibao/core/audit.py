"""Tamper-evident history of every change to a domain object.

Each entry stores who, when, under which request, and the before/after values of the fields
that changed. Entries form a hash chain: entry N's hash covers its content and entry N-1's
hash, and the chain head (one row) holds the last sequence number and hash. Appending locks the
head row, so entries are numbered without gaps in commit order; verification recomputes the
chain and reports the first entry that does not match.

Recording happens inside the same transaction as the change (AuditedModel.save wraps both in
one atomic block; deletes are recorded from post_delete, which Django sends inside the delete's
transaction), so a change without its history, or history without its change, cannot commit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models.fields.files import FieldFile
from django.utils import timezone, translation

from weibao.core import context

REDACTED = "<redacted>"


def _plain(value: Any) -> Any:
    if isinstance(value, FieldFile):
        return value.name or None
    return value


def to_json(value: Any) -> Any:
    """Round-trip through JSON so what we hash is exactly what the database returns."""
    plain: Any = json.loads(json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False))
    return plain


def snapshot(instance: models.Model) -> dict[str, Any]:
    exclude = set(getattr(instance, "audit_exclude", ()))
    return {
        f.attname: _plain(getattr(instance, f.attname))
        for f in instance._meta.concrete_fields
        if f.attname not in exclude and f.name not in exclude
    }


def _masked(instance: models.Model, values: dict[str, Any]) -> dict[str, Any]:
    masked = set(getattr(instance, "audit_redact", ()))
    result: dict[str, Any] = to_json(
        {k: (REDACTED if k in masked else v) for k, v in values.items()}
    )
    return result


def _repr(instance: models.Model) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return str(instance)[:200]


def canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(
        data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), cls=DjangoJSONEncoder
    ).encode("utf-8")


def entry_digest(entry: Any) -> str:
    data = {
        "seq": entry.seq,
        "created_at": entry.created_at.astimezone(UTC).isoformat(),
        "actor_id": entry.actor_id,
        "actor_label": entry.actor_label,
        "request_id": entry.request_id,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "object_repr": entry.object_repr,
        "scope_code": entry.scope_code,
        "before": entry.before,
        "after": entry.after,
        "prev_hash": entry.prev_hash,
    }
    return hashlib.sha256(canonical(data)).hexdigest()


def record(
    instance: models.Model,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> Any:
    from weibao.core.models import AuditChainHead, AuditEntry

    using = instance._state.db or "default"
    ctx = context.current()
    actor = context.current_actor()
    with transaction.atomic(using=using, savepoint=False):
        # The head row comes with the migrations; get_or_create only matters after a flush.
        head, _ = AuditChainHead.objects.using(using).select_for_update().get_or_create(pk=1)
        entry = AuditEntry(
            seq=head.last_seq + 1,
            created_at=timezone.now(),
            actor_id=getattr(actor, "pk", None),
            actor_label=(getattr(actor, "username", "") or (ctx.label if ctx else "") or "system")[
                :150
            ],
            request_id=ctx.request_id if ctx else "",
            action=action,
            object_type=instance._meta.label_lower,
            object_id=str(instance.pk),
            # Recorded in the site language: the hashed text must not depend on who asked.
            object_repr=_repr(instance),
            scope_code=getattr(instance, "audit_scope_code", lambda: "")() or "",
            before=before,
            after=after,
            prev_hash=head.last_hash,
        )
        entry.hash = entry_digest(entry)
        entry.save(using=using)
        head.last_seq = entry.seq
        head.last_hash = entry.hash
        head.save(using=using, update_fields=["last_seq", "last_hash"])
    return entry


def record_save(instance: models.Model, created: bool) -> None:
    current = snapshot(instance)
    if created:
        record(instance, "create", None, _masked(instance, current))
    else:
        previous: dict[str, Any] = getattr(instance, "_audit_snapshot", None) or {}
        changed = [k for k, v in current.items() if k not in previous or previous[k] != v]
        # A save that only moved auto_now timestamps changed nothing anyone needs to audit.
        stamps = {
            f.attname for f in instance._meta.concrete_fields if getattr(f, "auto_now", False)
        }
        if set(changed) - stamps:
            record(
                instance,
                "update",
                _masked(instance, {k: previous.get(k) for k in changed}),
                _masked(instance, {k: current[k] for k in changed}),
            )
    instance._audit_snapshot = current  # type: ignore[attr-defined]


def record_delete(instance: models.Model) -> None:
    record(instance, "delete", _masked(instance, snapshot(instance)), None)


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_seq: int | None = None
    reason: str = ""
    head_hash: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def verify_chain(*, using: str = "default", chunk_size: int = 2000) -> ChainReport:
    """Walk the whole chain in order; stop at the first entry that does not hold."""
    from weibao.core.models import AuditChainHead, AuditEntry

    expected_prev = ""
    expected_seq = 1
    checked = 0
    entries: Iterator[Any] = AuditEntry.objects.using(using).order_by("seq").iterator(chunk_size)
    for entry in entries:
        if entry.seq != expected_seq:
            return ChainReport(checked, expected_seq, f"entry {expected_seq} is missing")
        if entry.prev_hash != expected_prev:
            return ChainReport(checked, entry.seq, "link to the previous entry does not match")
        if entry_digest(entry) != entry.hash:
            return ChainReport(checked, entry.seq, "content does not match its hash")
        expected_prev = entry.hash
        expected_seq += 1
        checked += 1
    head = AuditChainHead.objects.using(using).filter(pk=1).first() or AuditChainHead()
    if head.last_seq != checked or head.last_hash != expected_prev:
        return ChainReport(
            checked, checked + 1, f"chain head says {head.last_seq} entries, found {checked}"
        )
    return ChainReport(checked, head_hash=expected_prev)
