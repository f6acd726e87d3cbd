from __future__ import annotations

from typing import Any, Self

from django.db import models, transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _

from weibao.core import audit
from weibao.core.scoping import ScopedModel


class AuditedModel(models.Model):
    """Every save and delete of a subclass lands in the audit trail, in the same transaction."""

    # Fields left out of history (noise such as last_login) and fields shown only as redacted.
    audit_exclude: tuple[str, ...] = ()
    audit_redact: tuple[str, ...] = ()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        created = self._state.adding
        # No savepoint: inside a service's transaction a failure here fails the whole write
        # anyway, and savepoints cost two round trips per save on PostgreSQL.
        using = kwargs.get("using") or self._state.db or "default"
        with transaction.atomic(using=using, savepoint=False):
            super().save(*args, **kwargs)
            audit.record_save(self, created)

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> Self:
        instance = super().from_db(db, field_names, values)
        if len(values) == len(cls._meta.concrete_fields):
            instance._audit_snapshot = audit.snapshot(instance)  # type: ignore[attr-defined]
        return instance

    def audit_scope_code(self) -> str:
        """The division code that decides which regulators may read this object's history."""
        return ""


@receiver(post_delete)
def _record_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    if isinstance(instance, AuditedModel):
        audit.record_delete(instance)


class AuditEntry(ScopedModel):
    """审计日志: one change to one object, chained to the previous entry by hash."""

    class Action(models.TextChoices):
        CREATE = "create", _("Created")
        UPDATE = "update", _("Updated")
        DELETE = "delete", _("Deleted")
        # A read of something sensitive (a reporter's identity): who looked, and when.
        VIEW = "view", _("Viewed")

    scope_lookup = "scope_code"

    seq = models.PositiveBigIntegerField(_("sequence number"), unique=True)
    created_at = models.DateTimeField(_("time"), db_index=True)
    # Plain ids, not foreign keys: history must outlive (and never be rewritten by) the rows
    # it describes, or deleting a user would alter hashed entries.
    actor_id = models.PositiveBigIntegerField(_("actor id"), null=True, blank=True, db_index=True)
    actor_label = models.CharField(_("actor"), max_length=150)
    request_id = models.CharField(_("request id"), max_length=64, blank=True, db_index=True)
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    object_type = models.CharField(_("object type"), max_length=100)
    object_id = models.CharField(_("object id"), max_length=64)
    object_repr = models.CharField(_("object"), max_length=200)
    scope_code = models.CharField(_("jurisdiction code"), max_length=6, blank=True, db_index=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64, blank=True)
    hash = models.CharField(_("hash"), max_length=64)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-seq"]
        indexes = [models.Index(fields=["object_type", "object_id", "seq"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"

    @classmethod
    def visibility_q(cls, user: Any) -> models.Q | None:
        # History is for regulators and administrators only, within their jurisdiction.
        if not (user.is_regulator or user.is_system_admin):
            return models.Q(pk__in=[])
        return super().visibility_q(user)


class AuditChainHead(models.Model):
    """The single row every append locks: last sequence number and hash of the chain."""

    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("audit chain head")

    def __str__(self) -> str:
        return f"{self.last_seq} {self.last_hash[:12]}"


class ScheduledRun(models.Model):
    """One row per periodic job and due date: inserting it is how a scheduler claims the run."""

    job = models.CharField(_("job"), max_length=100)
    due_on = models.DateField(_("due on"))
    enqueued_at = models.DateTimeField(_("enqueued at"), auto_now_add=True)
    task_id = models.CharField(_("task id"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("scheduled run")
        verbose_name_plural = _("scheduled runs")
        constraints = [models.UniqueConstraint(fields=["job", "due_on"], name="scheduledrun_once")]

    def __str__(self) -> str:
        return f"{self.job} {self.due_on}"


class IdempotencyRecord(models.Model):
    """The first response to a POST sent with an Idempotency-Key, replayed for retries."""

    user_id = models.PositiveBigIntegerField(_("user id"))
    key = models.CharField(_("idempotency key"), max_length=200)
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    path = models.CharField(_("path"), max_length=300)
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True)
    response_body = models.JSONField(_("response body"), null=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["user_id", "key"], name="idempotency_once_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


class Notification(ScopedModel):
    """站内通知: something a user should know about, shown in their own language."""

    recipient = models.ForeignKey(
        "accounts.User",
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    verb = models.CharField(_("kind"), max_length=50)
    params = models.JSONField(_("parameters"), default=dict)
    url = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self) -> str:
        return self.text

    @property
    def text(self) -> str:
        from weibao.core.notifications import render

        return render(self.verb, self.params)

    @classmethod
    def visibility_q(cls, user: Any) -> models.Q | None:
        # Notifications are personal: nobody, not even an administrator, reads another's.
        return models.Q(recipient_id=user.pk)


class Counter(models.Model):
    """A named sequence for document numbers (inspection notices, cases): no gaps, no repeats.

    `next_value` locks the row for the rest of the caller's transaction, so two officers
    submitting at once get consecutive numbers, and a rolled-back submission returns its number.
    """

    key = models.CharField(_("key"), max_length=100, unique=True)
    value = models.PositiveBigIntegerField(_("last value"), default=0)

    class Meta:
        verbose_name = _("document counter")
        verbose_name_plural = _("document counters")

    def __str__(self) -> str:
        return f"{self.key}={self.value}"

    @classmethod
    def next_value(cls, key: str) -> int:
        if not transaction.get_connection().in_atomic_block:
            raise RuntimeError("Counter.next_value must run inside the caller's transaction")
        cls.objects.get_or_create(key=key)
        counter = cls.objects.select_for_update().get(key=key)
        counter.value += 1
        counter.save(update_fields=["value"])
        return counter.value
