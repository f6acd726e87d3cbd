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


def validate_scan(upload: Any) -> None:
    """A scan of a document: PDF, JPEG or PNG, at most settings.MAX_SCAN_BYTES."""
    if not upload or (getattr(upload, "_committed", False) and not hasattr(upload, "content_type")):
        return  # an already stored file is not re-validated on every save
    if upload.size > settings.MAX_SCAN_BYTES:
        raise ValidationError(
            _("The file is %(size)s; the limit is %(limit)s.")
            % {
                "size": filesizeformat(upload.size),
                "limit": filesizeformat(settings.MAX_SCAN_BYTES),
            },
            code="too_large",
        )
    if sniff(upload) is None:
        raise ValidationError(_("Only PDF, JPEG or PNG files are accepted."), code="file_type")


PHOTO_TYPES = frozenset({"image/jpeg", "image/png"})


def validate_photo(upload: Any) -> None:
    """A photo (from a phone camera, usually): JPEG or PNG, at most settings.MAX_PHOTO_BYTES."""
    if not upload or (getattr(upload, "_committed", False) and not hasattr(upload, "content_type")):
        return
    if upload.size > settings.MAX_PHOTO_BYTES:
        raise ValidationError(
            _("The photo is %(size)s; the limit is %(limit)s.")
            % {
                "size": filesizeformat(upload.size),
                "limit": filesizeformat(settings.MAX_PHOTO_BYTES),
            },
            code="too_large",
        )
    if sniff(upload) not in PHOTO_TYPES:
        raise ValidationError(_("Only JPEG or PNG photos are accepted."), code="file_type")
