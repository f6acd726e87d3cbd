"""Printable documents (notices, records, statistics): a Django template rendered to PDF.

WeasyPrint needs Pango at import time, so it is imported only when a PDF is asked for: the web
app still starts (and serves everything else) on a machine without it. Chinese text needs a CJK
font on the machine (Debian `fonts-noto-cjk`); WeasyPrint embeds the subset it uses, so the PDF
reads the same on any computer. Templates live under `templates/documents/` and extend
`documents/base.html`, which sets the page size and the fonts.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from weibao.core.errors import DomainError

logger = logging.getLogger(__name__)

PDF_CONTENT_TYPE = "application/pdf"
# Images are embedded as data URIs: a document never fetches anything, so a template (or data
# typed into one) cannot make the server read local files or reach the network.
ALLOWED_PROTOCOLS = ("data",)
IMAGE_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


class DocumentsUnavailable(DomainError):
    """This server cannot produce PDFs (WeasyPrint or its system libraries are missing)."""

    status_code = 503
    code = "documents_unavailable"

    def __init__(self) -> None:
        super().__init__(
            _("PDF documents cannot be produced on this server at the moment; try again later.")
        )


def render_html(template_name: str, context: Mapping[str, Any]) -> str:
    """The document's HTML in the active language (what `render_pdf` lays out)."""
    language = translation.get_language() or "zh-hans"
    return render_to_string(template_name, {**context, "document_language": language})


def render_pdf(template_name: str, context: Mapping[str, Any]) -> bytes:
    """The template rendered to an A4 PDF (layout from the template's CSS), in the active
    language. Raises DocumentsUnavailable when WeasyPrint cannot be loaded."""
    pdf: bytes = render_document(template_name, context).write_pdf()
    return pdf


def render_document(template_name: str, context: Mapping[str, Any]) -> Any:
    """The laid-out WeasyPrint document (pages and boxes): `render_pdf` writes it; tests read
    the text placed on its pages."""
    html = render_html(template_name, context)
    try:
        from weasyprint import HTML
        from weasyprint.urls import URLFetcher
    except (ImportError, OSError) as exc:  # OSError: Pango or its fonts libraries missing
        logger.error("WeasyPrint cannot be loaded: %s", exc)
        raise DocumentsUnavailable from exc
    fetcher = URLFetcher(allowed_protocols=ALLOWED_PROTOCOLS, fail_on_errors=False)
    return HTML(string=html, url_fetcher=fetcher).render()


def image_data_uri(field_file: Any) -> str:
    """A stored PNG or JPEG (e.g. a drawn signature) as a data URI, or "" when there is none,
    it cannot be read, or it is not an image we embed."""
    if not field_file:
        return ""
    try:
        with field_file.open("rb") as stream:
            data: bytes = stream.read()
    except OSError:
        logger.warning("Image %s cannot be read for a document", field_file.name)
        return ""
    content_type = next(
        (kind for magic, kind in IMAGE_SIGNATURES.items() if data.startswith(magic)), None
    )
    if content_type is None:
        return ""
    return f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"


__all__ = [
    "PDF_CONTENT_TYPE",
    "DocumentsUnavailable",
    "image_data_uri",
    "render_document",
    "render_html",
    "render_pdf",
]
