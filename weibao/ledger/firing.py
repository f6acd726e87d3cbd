"""Firing authorization (起爆授权): may this device fire these electronic detonators, here, now?

A registered firing device sends its id, its position, the blasting project, its unit's USCC
and the chip UIDs it has read from the detonators in the holes. The answer, signed (see
`signing`), either refuses the whole request with one code, or lists a result per UID: a work
code with its expiry, or why that detonator may not be fired.

Request-level refusals are answered 200 with a signed payload `{"granted": false, "error":
code}`, so a device can show and keep a verified "no" as much as a "yes". They are checked in
this order, the first that applies wins:

- `device_unknown`: the `device_id` sent is not the device the token belongs to;
- `device_blacklisted`: a regulator blacklisted the device;
- `device_not_of_unit`: `unit` is not the USCC of the unit the device is registered to;
- `unit_not_active`: that unit is suspended, revoked or closed;
- `project_unknown`: no project with that code belongs to the unit;
- `outside_permitted_zone`: farther from the project's centre than its radius;
- `inside_forbidden_zone`: within a forbidden zone in force at that time;
- `outside_time_window`: the firing time is outside the project's window.

Per UID, in this order: `blacklisted` (on the national UID blacklist), `unknown` (no item
carries that chip UID), `used` (fired or destroyed), `lost` (reported lost and not found since),
`not_held_by_unit` (another unit holds it, or it is not in the unit's magazine or issued to its
blaster). Otherwise it gets a work code, valid `LEDGER_WORK_CODE_MINUTES` after the firing time
but never past the project's window.

Malformed requests (bad JSON shape, positions out of range, repeated UIDs, more than
`LEDGER_FIRING_MAX_UIDS`) are a 400 problem document and are not stored; every answered request,
granted or refused, is kept as a `FiringAuthorization` with its signed answer.

The work is a constant number of queries however many UIDs: the device (at authentication), the
project, the forbidden zones near the position, the items by chip UID, the blacklisted UIDs
among those asked, and the insert of the record.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from weibao.ledger import signing
from weibao.ledger.models import (
    BlacklistedUid,
    BlastingProject,
    Device,
    FiringAuthorization,
    ForbiddenZone,
    Item,
    ItemState,
)
from weibao.registry.models import Enterprise

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)
METRES_PER_DEGREE = math.pi * EARTH_RADIUS_M / 180
# Crockford's base 32: no I, L, O or U, so a code read aloud or typed is not mistaken.
WORK_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Largest radius of a permitted or forbidden zone the API accepts: a blasting site, never a
# region.
MAX_RADIUS_M = 20_000

HELD_STATES = frozenset({ItemState.ISSUED, ItemState.IN_STORE})
USED_STATES = frozenset({ItemState.FIRED, ItemState.DESTROYED})


class Refusal(models.TextChoices):
    DEVICE_UNKNOWN = "device_unknown", _("Device unknown")
    DEVICE_BLACKLISTED = "device_blacklisted", _("Device blacklisted")
    DEVICE_NOT_OF_UNIT = "device_not_of_unit", _("Device not registered to this unit")
    UNIT_NOT_ACTIVE = "unit_not_active", _("Unit suspended, revoked or closed")
    PROJECT_UNKNOWN = "project_unknown", _("Unknown blasting project")
    OUTSIDE_PERMITTED_ZONE = "outside_permitted_zone", _("Outside the permitted zone")
    INSIDE_FORBIDDEN_ZONE = "inside_forbidden_zone", _("Inside a forbidden zone")
    OUTSIDE_TIME_WINDOW = "outside_time_window", _("Outside the permitted time window")


class UidError(models.TextChoices):
    UNKNOWN = "unknown", _("Unknown chip UID")
    USED = "used", _("Already fired or destroyed")
    BLACKLISTED = "blacklisted", _("Blacklisted chip UID")
    NOT_HELD_BY_UNIT = "not_held_by_unit", _("Not held by the unit")
    LOST = "lost", _("Reported lost")


@dataclass(frozen=True)
class FiringRequest:
    device_id: str
    latitude: float
    longitude: float
    project: str
    unit: str
    uids: list[str]
    at: datetime | None = None
    nonce: str = ""


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _work_code_key() -> bytes:
    secret = settings.LEDGER_WORK_CODE_SECRET
    if secret:
        return str(secret).encode()
    # Derived, so a deployment needs no extra secret, yet a work code reveals nothing usable
    # about SECRET_KEY itself.
    return hmac.new(
        str(settings.SECRET_KEY).encode(), b"weibao.ledger.work-code", hashlib.sha256
    ).digest()


def _encode(digest: bytes) -> str:
    number = int.from_bytes(digest[:5], "big")  # 40 bits: 8 characters of 5 bits
    return "".join(WORK_CODE_ALPHABET[(number >> shift) & 31] for shift in range(35, -1, -5))


def work_code(uid: str, project: str, expires_at: str, *, key: bytes | None = None) -> str:
    """The work code for one UID: HMAC-SHA256 of (UID, project code, expiry as sent) under the
    server's secret, as 8 Crockford base-32 characters. Recomputable later (e.g. to check a
    post-blast report), never stored."""
    message = f"{uid}\n{project}\n{expires_at}".encode()
    return _encode(hmac.new(key or _work_code_key(), message, hashlib.sha256).digest())


def _iso(moment: datetime) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds")


def _nearby_zones(
    latitude: float, longitude: float, at: datetime
) -> list[tuple[float, float, int]]:
    """Forbidden zones in force at `at` that may hold the point; the exact distance is checked
    in Python. Zones up to MAX_RADIUS_M (all that the API creates) are found by a box of that
    reach around the point, larger ones (only from elsewhere) are always read: every condition
    compares a column with a constant, no arithmetic per row."""
    lat_reach = MAX_RADIUS_M * 1.1 / METRES_PER_DEGREE
    box = Q(latitude__gte=latitude - lat_reach, latitude__lte=latitude + lat_reach)
    cos_lat = math.cos(math.radians(latitude))
    # Near a pole every longitude is close; near the antimeridian the box would wrap.
    if cos_lat > 0.01:
        lon_reach = lat_reach / cos_lat
        if abs(longitude) + lon_reach < 180:
            box &= Q(longitude__gte=longitude - lon_reach, longitude__lte=longitude + lon_reach)
    in_force = (Q(starts_at__isnull=True) | Q(starts_at__lte=at)) & (
        Q(ends_at__isnull=True) | Q(ends_at__gt=at)
    )
    return list(
        ForbiddenZone.objects.filter(box | Q(radius_m__gt=MAX_RADIUS_M), in_force)
        .order_by()
        .values_list("latitude", "longitude", "radius_m")
    )


def _refusal(
    device: Device, request: FiringRequest, at: datetime
) -> tuple[str, BlastingProject | None]:
    """The first request-level refusal that applies ("" if none), and the project if found."""
    if request.device_id != device.device_id:
        return Refusal.DEVICE_UNKNOWN, None
    if device.blacklisted:
        return Refusal.DEVICE_BLACKLISTED, None
    unit = device.enterprise
    if request.unit.strip().upper() != unit.uscc:
        return Refusal.DEVICE_NOT_OF_UNIT, None
    if unit.status != Enterprise.Status.ACTIVE:
        return Refusal.UNIT_NOT_ACTIVE, None
    project = (
        BlastingProject.objects.filter(code=request.project, enterprise_id=unit.pk)
        .only("id", "code", "latitude", "longitude", "radius_m", "starts_at", "ends_at")
        .first()
    )
    if project is None:
        return Refusal.PROJECT_UNKNOWN, None
    centre = distance_m(request.latitude, request.longitude, project.latitude, project.longitude)
    if centre > project.radius_m:
        return Refusal.OUTSIDE_PERMITTED_ZONE, project
    for lat, lon, radius in _nearby_zones(request.latitude, request.longitude, at):
        if distance_m(request.latitude, request.longitude, lat, lon) <= radius:
            return Refusal.INSIDE_FORBIDDEN_ZONE, project
    if not project.starts_at <= at <= project.ends_at:
        return Refusal.OUTSIDE_TIME_WINDOW, project
    return "", project


def _results(
    unit_id: int, project: BlastingProject, uids: list[str], expires_at: str
) -> list[dict[str, str]]:
    blacklisted = set(BlacklistedUid.objects.filter(uid__in=uids).values_list("uid", flat=True))
    items = {
        uid: (state, holder_id)
        for uid, state, holder_id in Item.objects.filter(chip_uid__in=uids).values_list(
            "chip_uid", "state", "holder_id"
        )
    }
    key = _work_code_key()
    results: list[dict[str, str]] = []
    for uid in uids:
        found = items.get(uid)
        error = ""
        if uid in blacklisted:
            error = UidError.BLACKLISTED
        elif found is None:
            error = UidError.UNKNOWN
        elif found[0] in USED_STATES:
            error = UidError.USED
        elif found[0] == ItemState.LOST:
            error = UidError.LOST
        elif found[1] != unit_id or found[0] not in HELD_STATES:
            error = UidError.NOT_HELD_BY_UNIT
        if error:
            results.append({"uid": uid, "error": str(error)})
        else:
            code = work_code(uid, project.code, expires_at, key=key)
            results.append({"uid": uid, "work_code": code, "expires_at": expires_at})
    return results


def authorize(
    *, device: Device, request: FiringRequest, now: datetime | None = None
) -> FiringAuthorization:
    """Decide, sign and record one request from `device` (authenticated by its token, with its
    unit loaded). Returns the stored record; its `answer` is what the device gets."""
    now = now or timezone.now()
    at = request.at or now
    error, project = _refusal(device, request, at)
    payload: dict[str, object] = {
        "granted": not error,
        "device_id": request.device_id,
        "unit": request.unit,
        "project": request.project,
        "latitude": f"{request.latitude:.6f}",
        "longitude": f"{request.longitude:.6f}",
        "at": _iso(at),
        "issued_at": _iso(now),
    }
    if request.nonce:
        payload["nonce"] = request.nonce
    granted = 0
    if error:
        payload["error"] = str(error)
    else:
        assert project is not None
        expires = min(at + timedelta(minutes=settings.LEDGER_WORK_CODE_MINUTES), project.ends_at)
        results = _results(device.enterprise_id, project, request.uids, _iso(expires))
        granted = sum(1 for r in results if "work_code" in r)
        payload["results"] = results
        payload["work_codes"] = granted
    answer = signing.sign(payload)
    return FiringAuthorization.objects.create(
        device=device,
        enterprise_id=device.enterprise_id,
        project=project,
        requested_at=now,
        latitude=request.latitude,
        longitude=request.longitude,
        uid_count=len(request.uids),
        granted=granted,
        error=str(error),
        answer=answer,
    )
