"""`Idempotency-Key` for POSTs that create records from outside systems (api.md).

The same key and body replays the first response; the same key with another body is a 422.
The key is claimed by inserting its row before the view runs, in the view's transaction: a
concurrent duplicate waits on the unique index, then replays the committed result. A request
that fails rolls its claim back, so the caller may retry with the same key.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from weibao.core.api.errors import DomainError

HEADER = "Idempotency-Key"
KEY_RE = re.compile(r"^[\x21-\x7e]{1,200}$")
RETENTION = timedelta(days=7)

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
                replay = Response(first.response_body, status=first.response_status)
                replay["Idempotent-Replayed"] = "true"
                return replay
            response = view(self, request, *args, **kwargs)
            record.response_status = response.status_code
            record.response_body = response.data
            record.save(update_fields=["response_status", "response_body"])
            return response

    return wrapper


def prune_expired() -> int:
    from weibao.core.models import IdempotencyRecord

    deleted, _rows = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - RETENTION
    ).delete()
    return deleted
