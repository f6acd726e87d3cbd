"""Shapes of the ledger API: what goes in (an event row, a status change) and what comes out."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from weibao.core.api.serializers import StrictCharField
from weibao.ledger.models import Anomaly, Batch, EventKind, Item, ProductKind
from weibao.ledger.selectors import Trace, TraceEvent


# --- in ----------------------------------------------------------------------------------------
class EventRowInput(serializers.Serializer[Any]):
    """One event as an enterprise system files it (the same columns as the CSV header). Only
    code, event, at and unit are always required; which others an event needs depends on it."""

    code = serializers.CharField(max_length=32, help_text="item, box or case code")
    event = serializers.ChoiceField(choices=EventKind.choices)
    at = serializers.DateTimeField(help_text="ISO 8601; without an offset, Asia/Shanghai")
    unit = serializers.CharField(max_length=18, help_text="USCC of the acting unit")
    site = serializers.IntegerField(required=False, help_text="Weibao id of a magazine")
    person = serializers.CharField(
        required=False, max_length=18, help_text="identity number of the blaster"
    )
    counterpart = serializers.CharField(
        required=False, max_length=18, help_text="USCC of the buyer (shipped)"
    )
    project = serializers.CharField(required=False, max_length=60, help_text="project code")
    container = serializers.CharField(
        required=False, max_length=32, help_text="box or case code (packed)"
    )
    purchase_permit = serializers.CharField(required=False, max_length=100)
    transport_permit = serializers.CharField(required=False, max_length=100)
    latitude = serializers.FloatField(required=False, min_value=-90, max_value=90)
    longitude = serializers.FloatField(required=False, min_value=-180, max_value=180)
    product = serializers.ChoiceField(choices=ProductKind.choices, required=False)
    quantity = serializers.DecimalField(
        required=False, max_digits=14, decimal_places=3, help_text="kg or m per package"
    )
    chip_uid = serializers.CharField(required=False, max_length=32)
    recorded_at = serializers.DateTimeField(
        required=False, help_text="when the sale was filed; defaults to now"
    )


class AnomalyStatusInput(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=Anomaly.Status.choices)
    explanation = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=4000,
        help_text="required to explain or to close",
    )


# --- out ---------------------------------------------------------------------------------------
class UnitRef(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    uscc = serializers.CharField()
    name = serializers.CharField()


class SiteRef(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()


class BatchAcceptedOutput(serializers.Serializer[Any]):
    batch = serializers.IntegerField(help_text="id of the batch")
    status = serializers.CharField()
    rows = serializers.IntegerField()
    seconds = serializers.FloatField()


class RowErrorOutput(serializers.Serializer[Any]):
    row = serializers.IntegerField(help_text="1-based data row (the CSV header is row 0)")
    field = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()


class BatchOutput(serializers.ModelSerializer[Batch]):
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    source_display = serializers.CharField(source="get_source_display", read_only=True)
    enterprise = UnitRef(allow_null=True, read_only=True)

    class Meta:
        model = Batch
        fields = [
            "id",
            "status",
            "status_display",
            "source",
            "source_display",
            "enterprise",
            "file_name",
            "rows",
            "error_count",
            "first_event_id",
            "last_event_id",
            "created_at",
            "seconds",
        ]
        read_only_fields = fields


class BatchDetailOutput(BatchOutput):
    errors = RowErrorOutput(  # type: ignore[assignment]
        many=True, read_only=True, help_text="the first 1,000 rows in error"
    )

    class Meta(BatchOutput.Meta):
        fields = [*BatchOutput.Meta.fields, "errors"]
        read_only_fields = fields


class ItemOutput(serializers.ModelSerializer[Item]):
    product_display = serializers.CharField(source="get_product_display", read_only=True)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    holder = UnitRef(read_only=True)
    site = SiteRef(allow_null=True, read_only=True)
    project = serializers.CharField(source="project.code", allow_null=True, read_only=True)

    class Meta:
        model = Item
        fields = [
            "code",
            "level",
            "product",
            "product_display",
            "quantity",
            "chip_uid",
            "container",
            "state",
            "state_display",
            "holder",
            "destination_id",
            "producer_id",
            "site",
            "project",
            "last_event_at",
            "last_event_kind",
        ]
        read_only_fields = fields


class PositionOutput(serializers.Serializer[Any]):
    latitude = serializers.FloatField()
    longitude = serializers.FloatField()
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=["event", "site"],
        help_text="event: filed with the event; site: the magazine's registered position",
    )


class TraceEventOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField(source="event.pk")
    at = serializers.DateTimeField(source="event.at")
    recorded_at = serializers.DateTimeField(source="event.recorded_at")
    kind = serializers.CharField(source="event.kind")
    kind_display = serializers.SerializerMethodField()
    code = serializers.CharField(
        source="event.code", help_text="the item's, or its box's or case's when inherited"
    )
    inherited = serializers.BooleanField(help_text="on a box or case the item was in")
    unit = UnitRef(source="event.enterprise")
    site = SiteRef(source="event.site", allow_null=True)
    person = serializers.CharField(source="event.person.name", allow_null=True)
    counterpart = UnitRef(source="event.counterpart", allow_null=True)
    project = serializers.CharField(source="event.project.code", allow_null=True)
    container = serializers.CharField(source="event.container")
    product = serializers.CharField(source="event.product")
    quantity = serializers.DecimalField(source="event.quantity", max_digits=14, decimal_places=3)
    purchase_permit = serializers.CharField(source="event.purchase_permit")
    transport_permit = serializers.CharField(source="event.transport_permit")
    batch = serializers.IntegerField(source="event.batch_id")
    position = serializers.SerializerMethodField()

    def get_kind_display(self, obj: TraceEvent) -> str:
        return str(EventKind(obj.event.kind).label)

    @extend_schema_field(PositionOutput(allow_null=True))
    def get_position(self, obj: TraceEvent) -> dict[str, Any] | None:
        where = obj.position
        if where is None:
            return None
        return {"latitude": where[0], "longitude": where[1], "source": where[2]}


class ItemTraceOutput(serializers.Serializer[Any]):
    """The item now, and its whole life."""

    item = ItemOutput()
    containers = serializers.ListField(
        child=serializers.CharField(), help_text="boxes and cases it was packed in"
    )
    events = TraceEventOutput(many=True)


# The trace as ItemTraceOutput writes it, built by hand: DRF's nested serializers cost more
# than reading the trace itself (a test holds the two to the same output).
_TIME = serializers.DateTimeField()
_AMOUNT = serializers.DecimalField(max_digits=14, decimal_places=3)


def _unit(unit: Any) -> dict[str, Any] | None:
    return None if unit is None else {"id": unit.pk, "uscc": unit.uscc, "name": unit.name}


def _site(site: Any) -> dict[str, Any] | None:
    return None if site is None else {"id": site.pk, "name": site.name}


def trace_data(trace: Trace) -> dict[str, Any]:
    item = trace.item
    events = []
    for t in trace.events:
        e = t.event
        where = t.position
        events.append(
            {
                "id": e.pk,
                "at": _TIME.to_representation(e.at),
                "recorded_at": _TIME.to_representation(e.recorded_at),
                "kind": e.kind,
                "kind_display": str(EventKind(e.kind).label),
                "code": e.code,
                "inherited": t.inherited,
                "unit": _unit(e.enterprise),
                "site": _site(e.site),
                "person": e.person.name if e.person is not None else None,
                "counterpart": _unit(e.counterpart),
                "project": e.project.code if e.project is not None else None,
                "container": e.container,
                "product": e.product,
                "quantity": _AMOUNT.to_representation(e.quantity),
                "purchase_permit": e.purchase_permit,
                "transport_permit": e.transport_permit,
                "batch": e.batch_id,
                "position": None
                if where is None
                else {"latitude": where[0], "longitude": where[1], "source": where[2]},
            }
        )
    return {
        "item": {
            "code": item.code,
            "level": item.level,
            "product": item.product,
            "product_display": item.get_product_display(),
            "quantity": _AMOUNT.to_representation(item.quantity),
            "chip_uid": item.chip_uid,
            "container": item.container,
            "state": item.state,
            "state_display": item.get_state_display(),
            "holder": _unit(item.holder),
            "destination_id": item.destination_id,
            "producer_id": item.producer_id,
            "site": _site(item.site),
            "project": item.project.code if item.project is not None else None,
            "last_event_at": _TIME.to_representation(item.last_event_at),
            "last_event_kind": item.last_event_kind,
        },
        "containers": list(trace.containers),
        "events": events,
    }


class AnomalyOutput(serializers.ModelSerializer[Anomaly]):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    severity_display = serializers.CharField(source="get_severity_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    enterprise = UnitRef(read_only=True)
    site = SiteRef(allow_null=True, read_only=True)

    class Meta:
        model = Anomaly
        fields = [
            "id",
            "key",
            "kind",
            "kind_display",
            "severity",
            "severity_display",
            "status",
            "status_display",
            "enterprise",
            "site",
            "subject",
            "product",
            "quantity",
            "detected_at",
            "last_seen_at",
            "explanation",
        ]
        read_only_fields = fields


class AnomalyDetailOutput(AnomalyOutput):
    evidence = serializers.JSONField(read_only=True)

    class Meta(AnomalyOutput.Meta):
        fields = [*AnomalyOutput.Meta.fields, "evidence"]
        read_only_fields = fields


__all__ = [
    "AnomalyDetailOutput",
    "AnomalyOutput",
    "AnomalyStatusInput",
    "BatchAcceptedOutput",
    "BatchDetailOutput",
    "BatchOutput",
    "EventRowInput",
    "ItemOutput",
    "ItemTraceOutput",
    "RowErrorOutput",
    "TraceEventOutput",
    "trace_data",
]
