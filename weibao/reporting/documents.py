"""The reporting poster (事故隐患内部报告二维码海报): an A4 sheet a unit hangs in its workshops and
magazines, with the QR code of its reporting page, what to report, the promise of anonymity, the
reward policy and where to complain when the unit does not act.

It prints only the unit and its policy: nothing about any report or reporter. It is laid out in
the site's language by default (posters hang in Chinese workshops), whatever language the person
printing it reads.
"""

from __future__ import annotations

import base64
import io
from decimal import Decimal
from typing import Any

import segno
from django.conf import settings
from django.utils import translation

from weibao.accounts.models import Agency
from weibao.core.documents import render_pdf
from weibao.core.i18n import localized
from weibao.reporting.models import ReportCategory, ReportChannel

POSTER_TEMPLATE = "documents/report_poster.html"
# Error correction "Q" (25 %): a poster gets dirty, faded and taped over in a workshop.
QR_ERROR = "q"
# Pixels per module and quiet-zone modules of the embedded PNG (the printed size is set by CSS;
# the PNG only has to be sharp enough, and an exact module grid keeps it readable back in tests).
QR_SCALE = 8
QR_BORDER = 4


def qr_code(link: str) -> segno.QRCode:
    """The QR symbol printed on the poster (never a Micro QR: phones do not all read those)."""
    return segno.make(link, error=QR_ERROR, micro=False)


def qr_png(link: str) -> bytes:
    buffer = io.BytesIO()
    qr_code(link).save(buffer, kind="png", scale=QR_SCALE, border=QR_BORDER)
    return buffer.getvalue()


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def yuan(amount: Decimal | None) -> str:
    """An amount as printed: 2,000 or 12.50 (no decimals when there are none)."""
    if amount is None:
        return ""
    if amount == amount.to_integral_value():
        return f"{amount:,.0f}"
    return f"{amount:,.2f}"


def supervising_bureau(enterprise: Any) -> Agency | None:
    """The county bureau of the unit's county (where reporters complain), else the city's."""
    code = enterprise.jurisdiction_id
    active = Agency.objects.filter(is_active=True).order_by("id")
    bureau: Agency | None = (
        active.filter(kind=Agency.Kind.COUNTY_BUREAU, jurisdiction_id=code).first()
        or active.filter(kind=Agency.Kind.CITY_BUREAU, jurisdiction_id=f"{code[:4]}00").first()
    )
    return bureau


def poster_context(*, channel: ReportChannel, link: str) -> dict[str, Any]:
    enterprise = channel.enterprise
    bureau = supervising_bureau(enterprise)
    return {
        "unit_name": enterprise.name,
        "link": link,
        "qr_uri": _data_uri(qr_png(link)),
        "categories": [label for _code, label in ReportCategory.choices],
        "reward_general": yuan(channel.reward_general),
        "reward_major": yuan(channel.reward_major),
        "reward_cap": yuan(channel.reward_cap),
        "verify_within": channel.verify_within,
        "verify_in_working_days": channel.verify_in_working_days,
        "payout_instructions": channel.payout_instructions.strip(),
        "bureau_name": localized(bureau.name, bureau.name_en) if bureau is not None else "",
        "bureau_phone": bureau.phone if bureau is not None else "",
    }


def poster_pdf(*, channel: ReportChannel, link: str, language: str | None = None) -> bytes:
    """The unit's A4 reporting poster as a PDF, with `link` as its QR code, printed text and
    clickable link. `language` defaults to the site's (settings.LANGUAGE_CODE). Raises
    DocumentsUnavailable when this server cannot produce PDFs."""
    with translation.override(language or settings.LANGUAGE_CODE):
        return render_pdf(POSTER_TEMPLATE, poster_context(channel=channel, link=link))


__all__ = [
    "POSTER_TEMPLATE",
    "QR_BORDER",
    "QR_ERROR",
    "QR_SCALE",
    "poster_context",
    "poster_pdf",
    "qr_code",
    "qr_png",
    "supervising_bureau",
    "yuan",
]
