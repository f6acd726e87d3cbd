"""The traceability ledger (流向管控): every explosive item's code, from factory to blast hole.

`Event` is the append-only record (one row per event as the enterprise system filed it; an event
on a box or a case applies to everything inside). `Item` is the current state of each code
(where it is, who holds it, in what state), kept up to date at ingest so interactive checks
(firing authorization, trace) read one indexed row. `Batch` is one ingest, accepted whole or
rejected whole with its per-row report. Reconciliation (reconcile.py) runs over Parquet exports
of these tables on DuckDB or Spark and keeps what it finds as `Anomaly` rows.

Ingest writes with raw `executemany` (ingest.py), not the ORM, for volume: the tables are kept
plain (no audit per row) and their history *is* the event table.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from weibao.core.models import AuditedModel
from weibao.core.scoping import ScopedModel


class ProductKind(models.TextChoices):
    ELECTRONIC_DETONATOR = "electronic_detonator", _("Electronic detonator")
    NONEL_DETONATOR = "nonel_detonator", _("Non-electric detonator")
    ELECTRIC_DETONATOR = "electric_detonator", _("Electric detonator")
    EXPLOSIVE = "explosive", _("Explosive")
    DETONATING_CORD = "detonating_cord", _("Detonating cord")
    FUSE = "fuse", _("Safety fuse")


DETONATORS = frozenset(
    {
        ProductKind.ELECTRONIC_DETONATOR,
        ProductKind.NONEL_DETONATOR,
        ProductKind.ELECTRIC_DETONATOR,
    }
)
# How each product is counted: pieces, kilograms (per package) or metres (per roll).
MEASURE = {
    ProductKind.ELECTRONIC_DETONATOR: "piece",
    ProductKind.NONEL_DETONATOR: "piece",
    ProductKind.ELECTRIC_DETONATOR: "piece",
    ProductKind.EXPLOSIVE: "kg",
    ProductKind.DETONATING_CORD: "m",
    ProductKind.FUSE: "m",
}


class Level(models.TextChoices):
    ITEM = "item", _("Item")
    BOX = "box", _("Box")
    CASE = "case", _("Case")


class EventKind(models.TextChoices):
    PRODUCED = "produced", _("Produced")
    PACKED = "packed", _("Packed")
    SHIPPED = "shipped", _("Shipped")
    RECEIVED = "received", _("Received")
    STORED_IN = "stored_in", _("Stored in a magazine")
    ISSUED = "issued", _("Issued to a blaster")
    RETURNED = "returned", _("Returned to the magazine")
    FIRED = "fired", _("Fired")
    DESTROYED = "destroyed", _("Destroyed")
    LOST = "lost", _("Lost")
    FOUND = "found", _("Found")


class ItemState(models.TextChoices):
    PRODUCED = "produced", _("At the producer")
    IN_TRANSIT = "in_transit", _("In transit")
    RECEIVED = "received", pgettext_lazy("item state", "Received")
    IN_STORE = "in_store", _("In a magazine")
    ISSUED = "issued", _("Issued to a blaster")
    FIRED = "fired", pgettext_lazy("item state", "Fired")
    DESTROYED = "destroyed", pgettext_lazy("item state", "Destroyed")
    LOST = "lost", pgettext_lazy("item state", "Lost")


FINAL_STATES = frozenset({ItemState.FIRED, ItemState.DESTROYED})

LATITUDE = [MinValueValidator(-90), MaxValueValidator(90)]
LONGITUDE = [MinValueValidator(-180), MaxValueValidator(180)]
RADIUS = [MinValueValidator(1), MaxValueValidator(20_000)]


class Batch(ScopedModel):
    """One ingest: accepted whole (its events are in the ledger) or rejected whole (kept with
    its per-row report for inspection, nothing applied)."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")

    class Source(models.TextChoices):
        API = "api", _("API")
        FILE = "file", _("File (command line)")

    scope_lookup = "enterprise__jurisdiction__code"

    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    source = models.CharField(
        pgettext_lazy("ledger batch", "source"), max_length=10, choices=Source.choices
    )
    # The unit that filed it (an enterprise system's account), if one did.
    enterprise = models.ForeignKey(
        "registry.Enterprise",
        verbose_name=_("unit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_batches",
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    file_name = models.CharField(_("file"), max_length=300, blank=True)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    error_count = models.PositiveIntegerField(_("rows with errors"), default=0)
    # First errors, one per row ({"row": n, "field": f, "code": c, "message": m}); the count
    # above is the full number.
    errors = models.JSONField(_("errors"), default=list, blank=True)
    first_event_id = models.BigIntegerField(_("first event"), null=True, blank=True)
    last_event_id = models.BigIntegerField(_("last event"), null=True, blank=True)
    created_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)
    seconds = models.FloatField(_("seconds"), default=0)

    class Meta:
        verbose_name = _("ingest batch")
        verbose_name_plural = _("ingest batches")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.pk} {self.status} {self.rows}"

    @classmethod
    def extra_visibility_q(cls, user: Any) -> Q | None:
        return Q(enterprise_id=user.enterprise_id) if user.enterprise_id else None


class Event(models.Model):
    """One event on one code, as filed. Append-only: never updated, never deleted."""

    # Indexes are what the writes pay for (ingest's volume): a batch's events are found by its
    # id range (first/last_event_id), a unit's and a site's by the (unit, time) and (site, time)
    # indexes below, so those foreign keys carry no index of their own.
    batch = models.ForeignKey(
        Batch, on_delete=models.PROTECT, related_name="events", db_index=False
    )
    code = models.CharField(pgettext_lazy("item code", "code"), max_length=32)
    kind = models.CharField(_("event"), max_length=12, choices=EventKind.choices)
    at = models.DateTimeField(_("time"))
    # When Weibao received it: sales must be filed within 3 days of the sale.
    recorded_at = models.DateTimeField(_("recorded at"))
    enterprise = models.ForeignKey(
        "registry.Enterprise",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("unit"),
        db_index=False,
    )
    site = models.ForeignKey(
        "registry.Site",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("site"),
        db_index=False,
    )
    person = models.ForeignKey(
        "registry.Person",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("person"),
    )
    counterpart = models.ForeignKey(
        "registry.Enterprise",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("counterpart"),
        db_index=False,
    )
    project = models.ForeignKey(
        "ledger.BlastingProject",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("blasting project"),
    )
    container = models.CharField(_("packed into"), max_length=32, blank=True)
    # What the event moved when it happened (a box's quantity is what it held then).
    product = models.CharField(_("product"), max_length=24, choices=ProductKind.choices)
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=3)
    purchase_permit = models.CharField(_("purchase permit"), max_length=100, blank=True)
    transport_permit = models.CharField(_("transport permit"), max_length=100, blank=True)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)

    class Meta:
        verbose_name = _("ledger event")
        verbose_name_plural = _("ledger events")
        indexes = [
            models.Index(fields=["code", "at"], name="ledger_event_code_at"),
            models.Index(fields=["enterprise", "at"], name="ledger_event_unit_at"),
            models.Index(fields=["site", "at"], name="ledger_event_site_at"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.kind} {self.at:%Y-%m-%d %H:%M}"


class Item(ScopedModel):
    """The current state of one code: an item (detonator, package, roll), a box or a case."""

    scope_lookup = "holder__jurisdiction__code"

    code = models.CharField(pgettext_lazy("item code", "code"), max_length=32, primary_key=True)
    level = models.CharField(_("level"), max_length=5, choices=Level.choices)
    product = models.CharField(_("product"), max_length=24, choices=ProductKind.choices)
    # Pieces for detonators (1 per item), kg per package, m per roll; for a box or a case, the
    # total of what it holds.
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=3)
    chip_uid = models.CharField(_("chip UID"), max_length=32, unique=True, null=True, blank=True)
    container = models.CharField(_("packed in"), max_length=32, blank=True, db_index=True)
    # Every index here is paid by each state change at ingest: only what lists filter on
    # (holder and site with state, destination for visibility, container) is indexed.
    producer = models.ForeignKey(
        "registry.Enterprise",
        verbose_name=_("producer"),
        on_delete=models.PROTECT,
        db_index=False,
        null=True,
        blank=True,
        related_name="+",
    )
    state = models.CharField(_("state"), max_length=12, choices=ItemState.choices)
    holder = models.ForeignKey(
        "registry.Enterprise",
        verbose_name=_("held by"),
        on_delete=models.PROTECT,
        db_index=False,  # the (holder, state) index serves it
        related_name="+",
    )
    # Shipped to (in transit); the purchase permit it was bought under.
    destination = models.ForeignKey(
        "registry.Enterprise",
        verbose_name=_("shipped to"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    site = models.ForeignKey(
        "registry.Site",
        verbose_name=_("magazine"),
        on_delete=models.PROTECT,
        db_index=False,  # the (site, state) index serves it
        null=True,
        blank=True,
        related_name="+",
    )
    person = models.ForeignKey(
        "registry.Person",
        verbose_name=_("blaster"),
        on_delete=models.PROTECT,
        db_index=False,
        null=True,
        blank=True,
        related_name="+",
    )
    project = models.ForeignKey(
        "ledger.BlastingProject",
        verbose_name=_("blasting project"),
        on_delete=models.PROTECT,
        db_index=False,
        null=True,
        blank=True,
        related_name="+",
    )
    last_event_at = models.DateTimeField(_("last event at"))
    last_event_kind = models.CharField(_("last event"), max_length=12)

    class Meta:
        verbose_name = _("item")
        verbose_name_plural = _("items")
        indexes = [
            models.Index(fields=["holder", "state"], name="ledger_item_holder_state"),
            models.Index(fields=["site", "state"], name="ledger_item_site_state"),
        ]

    def __str__(self) -> str:
        return self.code

    @classmethod
    def extra_visibility_q(cls, user: Any) -> Q | None:
        # A unit sees what it holds or what is on its way to it.
        if not user.enterprise_id:
            return None
        return Q(holder_id=user.enterprise_id) | Q(destination_id=user.enterprise_id)


class BlastingProject(AuditedModel, ScopedModel):
    """爆破作业项目: where and when a blasting contractor may fire (the permitted zone)."""

    scope_lookup = "enterprise__jurisdiction__code"

    enterprise = models.ForeignKey(
        "registry.Enterprise",
        verbose_name=_("blasting contractor"),
        on_delete=models.PROTECT,
        related_name="blasting_projects",
    )
    code = models.CharField(_("project code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    latitude = models.FloatField(_("latitude of the centre"), validators=LATITUDE)
    longitude = models.FloatField(_("longitude of the centre"), validators=LONGITUDE)
    radius_m = models.PositiveIntegerField(_("radius (m)"), validators=RADIUS)
    starts_at = models.DateTimeField(_("firing allowed from"))
    ends_at = models.DateTimeField(_("firing allowed until"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("blasting project")
        verbose_name_plural = _("blasting projects")
        ordering = ["-starts_at", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def audit_scope_code(self) -> str:
        return self.enterprise.jurisdiction_id

    @classmethod
    def extra_visibility_q(cls, user: Any) -> Q | None:
        return Q(enterprise_id=user.enterprise_id) if user.enterprise_id else None


class ForbiddenZone(AuditedModel, ScopedModel):
    """禁爆区: no firing inside (schools, reservoirs, events), for everyone or one project."""

    scope_lookup = "jurisdiction__code"

    jurisdiction = models.ForeignKey(
        "registry.Jurisdiction", verbose_name=_("jurisdiction"), on_delete=models.PROTECT
    )
    name = models.CharField(_("name"), max_length=200)
    latitude = models.FloatField(_("latitude of the centre"), validators=LATITUDE)
    longitude = models.FloatField(_("longitude of the centre"), validators=LONGITUDE)
    radius_m = models.PositiveIntegerField(_("radius (m)"), validators=RADIUS)
    starts_at = models.DateTimeField(_("in force from"), null=True, blank=True)
    ends_at = models.DateTimeField(_("in force until"), null=True, blank=True)

    class Meta:
        verbose_name = _("forbidden zone")
        verbose_name_plural = _("forbidden zones")
        ordering = ["jurisdiction_id", "name"]

    def __str__(self) -> str:
        return self.name

    def audit_scope_code(self) -> str:
        return self.jurisdiction_id

    @classmethod
    def extra_visibility_q(cls, user: Any) -> Q | None:
        # Every unit must know where it may not fire (an empty Q() would OR into nothing).
        return Q(pk__isnull=False) if user.enterprise_id else None


class Device(AuditedModel, ScopedModel):
    """起爆器: a firing device registered to a unit; it authenticates with its own token."""

    scope_lookup = "enterprise__jurisdiction__code"
    audit_redact = ("token_hash",)

    enterprise = models.ForeignKey(
        "registry.Enterprise",
        verbose_name=_("unit"),
        on_delete=models.PROTECT,
        related_name="firing_devices",
    )
    device_id = models.CharField(_("device id"), max_length=64, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    blacklisted = models.BooleanField(_("blacklisted"), default=False)
    blacklist_reason = models.CharField(_("reason"), max_length=200, blank=True)
    registered_at = models.DateTimeField(_("registered at"), auto_now_add=True)

    class Meta:
        verbose_name = _("firing device")
        verbose_name_plural = _("firing devices")
        ordering = ["device_id"]

    def __str__(self) -> str:
        return self.device_id

    def audit_scope_code(self) -> str:
        return self.enterprise.jurisdiction_id

    @classmethod
    def extra_visibility_q(cls, user: Any) -> Q | None:
        return Q(enterprise_id=user.enterprise_id) if user.enterprise_id else None


class BlacklistedUid(AuditedModel):
    """A chip UID that may never be authorized (recalled, reported stolen)."""

    uid = models.CharField(_("chip UID"), max_length=32, unique=True)
    reason = models.CharField(_("reason"), max_length=200)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["uid"]
        verbose_name = _("blacklisted chip UID")
        verbose_name_plural = _("blacklisted chip UIDs")

    def __str__(self) -> str:
        return self.uid


class FiringAuthorization(ScopedModel):
    """One authorization request and the signed answer the device got."""

    scope_lookup = "enterprise__jurisdiction__code"

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="authorizations")
    enterprise = models.ForeignKey(
        "registry.Enterprise", on_delete=models.PROTECT, related_name="+", verbose_name=_("unit")
    )
    project = models.ForeignKey(
        BlastingProject, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now, db_index=True)
    latitude = models.FloatField(_("latitude"))
    longitude = models.FloatField(_("longitude"))
    uid_count = models.PositiveIntegerField(_("UIDs asked"))
    granted = models.PositiveIntegerField(_("work codes given"))
    error = models.CharField(_("request refused because"), max_length=40, blank=True)
    answer = models.JSONField(_("signed answer"))

    class Meta:
        verbose_name = _("firing authorization")
        verbose_name_plural = _("firing authorizations")
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"{self.device_id} {self.requested_at:%Y-%m-%d %H:%M}"

    @classmethod
    def extra_visibility_q(cls, user: Any) -> Q | None:
        return Q(enterprise_id=user.enterprise_id) if user.enterprise_id else None


class PermitAllowance(AuditedModel, ScopedModel):
    """How much a purchase permit allows, per product (purchases above it are an anomaly)."""

    scope_lookup = "permit__enterprise__jurisdiction__code"

    permit = models.ForeignKey(
        "registry.Permit", on_delete=models.CASCADE, related_name="allowances"
    )
    product = models.CharField(_("product"), max_length=24, choices=ProductKind.choices)
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=3)

    class Meta:
        verbose_name = _("permit allowance")
        verbose_name_plural = _("permit allowances")
        constraints = [models.UniqueConstraint(fields=["permit", "product"], name="allowance_once")]

    def __str__(self) -> str:
        return f"{self.permit_id} {self.product} {self.quantity}"

    def audit_scope_code(self) -> str:
        return self.permit.enterprise.jurisdiction_id

    @classmethod
    def extra_visibility_q(cls, user: Any) -> Q | None:
        return Q(permit__enterprise_id=user.enterprise_id) if user.enterprise_id else None


class MagazineCount(AuditedModel, ScopedModel):
    """The daily count a magazine's custodian declares (日清): compared with the books. One per
    site, day and product; a correction replaces it (the audit trail keeps the earlier one)."""

    scope_lookup = "site__enterprise__jurisdiction__code"

    site = models.ForeignKey("registry.Site", on_delete=models.PROTECT, related_name="+")
    day = models.DateField(_("day"))
    product = models.CharField(_("product"), max_length=24, choices=ProductKind.choices)
    quantity = models.DecimalField(_("quantity on hand"), max_digits=14, decimal_places=3)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("declared by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("declared magazine count")
        verbose_name_plural = _("declared magazine counts")
        constraints = [
            models.UniqueConstraint(fields=["site", "day", "product"], name="count_once")
        ]

    def __str__(self) -> str:
        return f"{self.site_id} {self.day} {self.product} {self.quantity}"

    def audit_scope_code(self) -> str:
        return self.site.enterprise.jurisdiction_id

    @classmethod
    def extra_visibility_q(cls, user: Any) -> Q | None:
        return Q(site__enterprise_id=user.enterprise_id) if user.enterprise_id else None


class Anomaly(AuditedModel, ScopedModel):
    """Something reconciliation found, with the rows that show it. Found again by a later run,
    it is the same anomaly (by `key`): its evidence is refreshed, its status kept."""

    class Kind(models.TextChoices):
        NOT_RECEIVED = "not_received", _("Shipped and not received within 72 hours")
        NOT_CLOSED = "not_closed", _("Issued and neither fired nor returned the same day")
        CODE_REUSED = "code_reused", _("Code used twice")
        NEVER_PRODUCED = "never_produced", _("Events on a code never produced")
        OVER_CAPACITY = "over_capacity", _("Magazine stock above design capacity")
        COUNT_MISMATCH = "count_mismatch", _("Declared daily count differs from the books")
        OVER_PERMIT = "over_permit", _("Purchases above the purchase permit")
        LATE_FILING = "late_filing", _("Sale filed more than 3 days late")
        LOST = "lost", _("Items lost")

    class Severity(models.TextChoices):
        LOW = "low", _("Low")
        HIGH = "high", _("High")
        CRITICAL = "critical", _("Critical")

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("anomaly status", "Open")
        EXPLAINED = "explained", _("Explained")
        CONFIRMED_LOSS = "confirmed_loss", _("Confirmed loss")
        CLOSED = "closed", pgettext_lazy("anomaly status", "Closed")

    LOSS_KINDS = frozenset({Kind.NOT_RECEIVED, Kind.NOT_CLOSED, Kind.LOST})

    scope_lookup = "enterprise__jurisdiction__code"

    key = models.CharField(_("key"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.OPEN
    )
    enterprise = models.ForeignKey(
        "registry.Enterprise",
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="ledger_anomalies",
    )
    site = models.ForeignKey(
        "registry.Site",
        verbose_name=_("magazine"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    subject = models.CharField(pgettext_lazy("anomaly", "subject"), max_length=100)
    product = models.CharField(_("product"), max_length=24, blank=True)
    quantity = models.DecimalField(
        _("quantity"), max_digits=14, decimal_places=3, default=Decimal("0")
    )
    evidence = models.JSONField(_("evidence"), default=dict)
    detected_at = models.DateTimeField(_("detected at"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen at"), default=timezone.now)
    explanation = models.TextField(_("explanation"), blank=True)

    class Meta:
        verbose_name = _("ledger anomaly")
        verbose_name_plural = _("ledger anomalies")
        ordering = ["-detected_at", "-id"]
        indexes = [models.Index(fields=["status", "severity"], name="ledger_anomaly_status")]

    def __str__(self) -> str:
        return self.key

    def audit_scope_code(self) -> str:
        return self.enterprise.jurisdiction_id

    @classmethod
    def extra_visibility_q(cls, user: Any) -> Q | None:
        return Q(enterprise_id=user.enterprise_id) if user.enterprise_id else None
