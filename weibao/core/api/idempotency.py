"""`Idempotency-Key` for POSTs that create records from outside systems (api.md).

The same key and body replays the first response; the same key with another body is a 422.
The key is claimed by inserting its row before the view runs, in the view's transaction: a
concurrent duplicate waits on the unique index, then replays the committed result. A request
that fails rolls its claim back, so the caller may retry with the same key.

`sealed_idempotent` is for creations whose answer is a secret or must not be linked to the
caller: an internal report's receipt code, an anonymous reporter (no account at all) or an
employee's anonymous report. Its record is stored under user 0, keyed by an HMAC of the caller and
the key, with the fingerprint and the response sealed (Fernet) under a key derived from the
Idempotency-Key itself, which is never stored: a copy of the database can neither read the
receipt nor tell whose record it is, and only the caller holding the key can replay it.

A replay is the first answer as it was sent: status, body, content type (a rejected ledger batch
is application/problem+json both times) and the headers in REPLAYED_HEADERS (a receipt's
Cache-Control: no-store). The record's body holds them in an envelope (`_replay_v`); records
stored before it hold the bare body, replayed with the content type and headers derived from it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from weibao.core.api.errors import PROBLEM_CONTENT_TYPE, DomainError

HEADER = "Idempotency-Key"
KEY_RE = re.compile(r"^[\x21-\x7e]{1,200}$")
RETENTION = timedelta(days=7)
# What a view sets on its answer that a replay must carry too (Content-Type is kept apart).
REPLAYED_HEADERS = ("Cache-Control", "Location")
_ENVELOPE = "_replay_v"

PARAMETER = OpenApiParameter(
    HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Retry-safe creation: the same key and body return the first result "
    "(kept 7 days); the same key with a different body is a 422.",
    pattern=KEY_RE.pattern,
)


class IdempotencyConflict(DomainError):
    status_code: int = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = "idempotency_key_reused"


def _fingerprint(request: Request) -> str:
    digest = hashlib.sha256()
    digest.update((request.method or "").encode())
    digest.update(request.path.encode())
    digest.update(b"\0")
    digest.update(request._request.body)
    return digest.hexdigest()


def idempotent(view: Callable[..., Response]) -> Callable[..., Response]:
    return _wrap(view, sealed=False)


def sealed_idempotent(view: Callable[..., Response]) -> Callable[..., Response]:
    """`idempotent`, with nothing readable or linkable kept (see the module's docstring)."""
    return _wrap(view, sealed=True)


def _derive(purpose: str, who: str, key: str) -> bytes:
    message = f"weibao-idempotency|{purpose}|{who}|{key}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).digest()


def _fernet(secret: bytes) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(secret))


def _seal(secret: bytes, body: Any) -> dict[str, str]:
    plain = json.dumps(body, cls=DjangoJSONEncoder).encode()
    return {"sealed": _fernet(secret).encrypt(plain).decode("ascii")}


def _unseal(secret: bytes, stored: Any) -> Any:
    try:
        plain = _fernet(secret).decrypt(str(stored["sealed"]).encode("ascii"))
    except (InvalidToken, KeyError, TypeError) as exc:
        # Only a record altered in the database gets here (the key that finds it is the key
        # that opens it): refuse the replay rather than answer with something else.
        raise IdempotencyConflict(
            str(_("This Idempotency-Key was already used with a different request."))
        ) from exc
    return json.loads(plain)


def _stored(response: Response) -> dict[str, Any]:
    """What a replay needs of the first answer. `content_type` is the one the view asked for;
    None lets the renderer choose, as it did the first time."""
    return {
        _ENVELOPE: 1,
        "data": response.data,
        "content_type": response.content_type,
        "headers": {name: response[name] for name in REPLAYED_HEADERS if name in response},
    }


def _replay(status_code: int | None, stored: Any, *, sealed: bool) -> Response:
    if isinstance(stored, dict) and stored.get(_ENVELOPE) == 1:
        data = stored.get("data")
        content_type = stored.get("content_type")
        headers = dict(stored.get("headers") or {})
    else:
        # Stored before the envelope: the bare body. Every error this API answers is a problem
        # document, and a sealed answer (a receipt, a device token) was sent with no-store.
        data = stored
        problem_shaped = isinstance(data, dict) and {"type", "status"} <= data.keys()
        content_type = (
            PROBLEM_CONTENT_TYPE if (status_code or 0) >= 400 and problem_shaped else None
        )
        headers = {"Cache-Control": "no-store"} if sealed else {}
    replay = Response(data, status=status_code, content_type=content_type, headers=headers)
    replay["Idempotent-Replayed"] = "true"
    return replay


def _form_fingerprint(request: Request) -> str:
    """A multipart form by its fields and file contents: a retry has another boundary, so its raw
    body differs although it sends the same thing."""
    digest = hashlib.sha256()
    digest.update((request.method or "").encode())
    digest.update(request.path.encode())
    data = request.data
    for name in sorted(data.keys()):
        values = data.getlist(name) if hasattr(data, "getlist") else [data[name]]
        for value in values:
            digest.update(b"\0" + str(name).encode() + b"\0")
            if hasattr(value, "chunks"):
                for chunk in value.chunks():
                    digest.update(chunk)
                value.seek(0)
            else:
                digest.update(str(value).encode())
    return digest.hexdigest()


def _is_multipart(request: Request) -> bool:
    return (request.content_type or "").split(";")[0].strip().lower() == "multipart/form-data"


def _wrap(view: Callable[..., Response], *, sealed: bool) -> Callable[..., Response]:
    @wraps(view)
    def wrapper(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        from weibao.core.models import IdempotencyRecord

        key = request.headers.get(HEADER)
        if key is None:
            return view(self, request, *args, **kwargs)
        if not KEY_RE.match(key):
            raise ValidationError(
                {HEADER: [_("Use 1 to 200 visible ASCII characters, e.g. a UUID.")]}
            )
        secret = b""
        if sealed:
            user = request.user
            who = str(user.pk) if getattr(user, "is_authenticated", False) else "anonymous"
            secret = _derive("seal", who, key)
            plain = _form_fingerprint(request) if _is_multipart(request) else _fingerprint(request)
            # Keyed, so a stored fingerprint cannot confirm a guess of what was reported.
            fingerprint = hmac.new(secret + b"fp", plain.encode(), hashlib.sha256).hexdigest()
            scope: dict[str, Any] = {
                "user_id": 0,
                "key": "sealed:" + _derive("key", who, key).hex(),
            }
        else:
            fingerprint = _fingerprint(request)
            scope = {"user_id": request.user.pk, "key": key}
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(
                        **scope, fingerprint=fingerprint, path=request.path[:300]
                    )
            except IntegrityError:
                first = IdempotencyRecord.objects.get(**scope)
                if first.fingerprint != fingerprint:
                    raise IdempotencyConflict(
                        str(_("This Idempotency-Key was already used with a different request."))
                    ) from None
                body = _unseal(secret, first.response_body) if sealed else first.response_body
                return _replay(first.response_status, body, sealed=sealed)
            response = view(self, request, *args, **kwargs)
            stored = _stored(response)
            record.response_status = response.status_code
            record.response_body = _seal(secret, stored) if sealed else stored
            record.save(update_fields=["response_status", "response_body"])
            return response

    return wrapper


def prune_expired() -> int:
    from weibao.core.models import IdempotencyRecord

    deleted, _rows = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - RETENTION
    ).delete()
    return deleted
