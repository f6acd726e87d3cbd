"""Uploaded documents: checked by content (magic bytes) and size, not by the name they came with."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

SIGNATURES = {
    b"%PDF-": "application/pdf",
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
}


def sniff(upload: Any) -> str | None:
    position = upload.tell() if hasattr(upload, "tell") else 0
    upload.seek(0)
    head = upload.read(16)
    upload.seek(position)
    for magic, content_type in SIGNATURES.items():
        if head.startswith(magic):
            return content_type
    return None


def _needs_check(upload: Any) -> bool:
    # An already stored file is not re-validated on every save of the row that holds it.
    stored = getattr(upload, "_committed", False) and not hasattr(upload, "content_type")
    return bool(upload) and not stored


def _check_size(upload: Any, limit: int, message: Any) -> None:
    if upload.size > limit:
        raise ValidationError(
            message % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
            code="too_large",
        )


def validate_scan(upload: Any) -> None:
    """A scan of a document: PDF, JPEG or PNG, at most settings.MAX_SCAN_BYTES."""
    if not _needs_check(upload):
        return
    _check_size(upload, settings.MAX_SCAN_BYTES, _("The file is %(size)s; the limit is %(limit)s."))
    if sniff(upload) is None:
        raise ValidationError(_("Only PDF, JPEG or PNG files are accepted."), code="file_type")


PHOTO_TYPES = frozenset({"image/jpeg", "image/png"})


def validate_photo(upload: Any) -> None:
    """A photo (from a phone camera, usually): JPEG or PNG, at most settings.MAX_PHOTO_BYTES."""
    if not _needs_check(upload):
        return
    _check_size(
        upload, settings.MAX_PHOTO_BYTES, _("The photo is %(size)s; the limit is %(limit)s.")
    )
    if sniff(upload) not in PHOTO_TYPES:
        raise ValidationError(_("Only JPEG or PNG photos are accepted."), code="file_type")
