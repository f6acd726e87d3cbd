"""Report photos are re-encoded before they are stored: a phone photo's EXIF block can carry
GPS coordinates, the device's serial number and its owner's name, and an anonymous report must
not. Re-encoding also turns away files that only look like images."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from weibao.core.files import validate_photo

# Phone cameras take 12–50 MP; a hazard photo needs far less, and smaller files load on 4G.
MAX_SIDE = 2560
# Decompression bombs: refuse images with more pixels than this before decoding them.
MAX_PIXELS = 60_000_000


def clean_photo(upload: Any) -> ContentFile[bytes]:
    """A JPEG copy of an uploaded photo without metadata, turned upright; ValidationError for a
    file that is not a JPEG or PNG photo within the size limit."""
    validate_photo(upload)
    upload.seek(0)
    try:
        with Image.open(upload) as image:
            if image.width * image.height > MAX_PIXELS:
                raise ValidationError(_("The photo has too many pixels."), code="too_large")
            image.load()
            upright = ImageOps.exif_transpose(image)
            upright = upright.convert("RGB")
            upright.thumbnail((MAX_SIDE, MAX_SIDE))
            out = BytesIO()
            # No exif=, icc_profile= or comment: nothing from the original file is carried over.
            upright.save(out, format="JPEG", quality=85, optimize=True)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ValidationError(_("The photo could not be read."), code="file_type") from exc
    return ContentFile(out.getvalue(), name="photo.jpg")
