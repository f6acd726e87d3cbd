"""The reporting poster: the PDF itself (text, link, QR code, fonts, language) and its download
(who gets which unit's poster)."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
import segno
from django.test import Client
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from weibao.core.documents import DocumentsUnavailable
from weibao.hazards.tests.test_documents import embedded_cjk_fonts
from weibao.reporting import documents, services
from weibao.reporting.models import ReportChannel
from weibao.tests.factories import REPORTER_NAME, REPORTER_PHONE, World, report_at

pytestmark = pytest.mark.django_db

LINK = "https://weibao.example.gov.cn/r/Zx8-poster_Token0123456/"
PAYOUT = "凭回执码到安全科领取，每月10日发放。"


@pytest.fixture
def channel(world: World) -> ReportChannel:
    channel = services.channel_for(world.unit_a)
    return services.channel_save(
        actor=world.unit_a_principal,
        channel=channel,
        data={
            "reward_general": Decimal("300"),
            "reward_major": Decimal("3000"),
            "reward_cap": Decimal("5000"),
            "verify_within": 5,
            "verify_in_working_days": True,
            "payout_instructions": PAYOUT,
        },
    )


def read(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf))


def text_of(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in read(pdf).pages)


def link_targets(pdf: bytes) -> list[str]:
    targets = []
    for page in read(pdf).pages:
        for annotation in page.get("/Annots") or []:
            annotation = annotation.get_object()
            if annotation.get("/Subtype") == "/Link":
                targets.append(str(annotation["/A"]["/URI"]))
    return targets


def qr_matrix_in(pdf: bytes, link: str) -> list[list[bool]]:
    """The module grid of the poster's QR image, read back from the PDF's pixels."""
    (page,) = read(pdf).pages
    (picture,) = page.images
    assert picture.image is not None
    image = picture.image.convert("L")
    size = len(documents.qr_code(link).matrix)
    scale, border = documents.QR_SCALE, documents.QR_BORDER
    assert image.size == ((size + 2 * border) * scale,) * 2
    half = scale // 2

    def dark(r: int, c: int) -> bool:
        value = image.getpixel(((border + c) * scale + half, (border + r) * scale + half))
        assert isinstance(value, int)
        return value < 128

    return [[dark(r, c) for c in range(size)] for r in range(size)]


# --- the PDF ------------------------------------------------------------------------------------
def test_poster_shows_unit_link_policy_and_bureau_on_one_page(
    world: World, channel: ReportChannel
) -> None:
    # Reporters exist (named ones too): none of them may reach the poster.
    report_at(world, named=True)
    report_at(world, named=True, consent=True)
    with translation.override("en"):
        pdf = documents.poster_pdf(channel=channel, link=LINK, language="en")
    assert len(read(pdf).pages) == 1
    text = " ".join(text_of(pdf).split())
    flat = "".join(text.split())
    assert world.unit_a.name in text
    assert LINK in flat
    for label in ("Unsafe act", "Unsafe state of equipment", "Unsafe environment", "Management"):
        assert label in text
    assert "300 yuan" in text and "3,000 yuan" in text and "5,000 yuan" in text
    assert "5 working days" in text
    assert "".join(PAYOUT.split()) in flat
    bureau = world.county_a_bureau
    assert (bureau.name_en or bureau.name) in text  # where to complain
    assert "receipt code" in text and "anonymous" in text
    assert REPORTER_NAME not in text and REPORTER_PHONE not in flat


def test_link_is_clickable(channel: ReportChannel) -> None:
    pdf = documents.poster_pdf(channel=channel, link=LINK)
    targets = link_targets(pdf)
    assert targets and set(targets) == {LINK}


def test_qr_code_encodes_exactly_the_link(channel: ReportChannel) -> None:
    pdf = documents.poster_pdf(channel=channel, link=LINK)
    expected = segno.make(LINK, error="q", micro=False)
    assert qr_matrix_in(pdf, LINK) == [[bool(v) for v in row] for row in expected.matrix]


def test_segno_is_given_the_link_and_nothing_else(channel: ReportChannel) -> None:
    with mock.patch("weibao.reporting.documents.segno.make", wraps=segno.make) as make:
        documents.poster_pdf(channel=channel, link=LINK)
    make.assert_called_once_with(LINK, error=documents.QR_ERROR, micro=False)


def test_chinese_text_uses_an_embedded_cjk_font(channel: ReportChannel) -> None:
    pdf = documents.poster_pdf(channel=channel, link=LINK)
    assert embedded_cjk_fonts(pdf)
    assert "珠晖民爆器材公司" in text_of(pdf)


def test_language_defaults_to_the_site_language(channel: ReportChannel, settings: Any) -> None:
    used: list[str | None] = []

    def fake(template: str, context: Any) -> bytes:
        used.append(translation.get_language())
        return b"%PDF-1.4\n%%EOF\n"

    with mock.patch("weibao.reporting.documents.render_pdf", fake), translation.override("en"):
        documents.poster_pdf(channel=channel, link=LINK)
        documents.poster_pdf(channel=channel, link=LINK, language="en")
        assert translation.get_language() == "en"
    assert used == [settings.LANGUAGE_CODE, "en"]


def test_calendar_days_and_no_payout_text(world: World) -> None:
    channel = services.channel_save(
        actor=world.unit_a_principal,
        channel=services.channel_for(world.unit_a),
        data={"verify_within": 1, "verify_in_working_days": False, "payout_instructions": ""},
    )
    with translation.override("en"):
        context = documents.poster_context(channel=channel, link=LINK)
    assert context["verify_within"] == 1 and not context["verify_in_working_days"]
    text = " ".join(
        text_of(documents.poster_pdf(channel=channel, link=LINK, language="en")).split()
    )
    assert "within 1 day." in text and "safety office" in text


def test_amounts_print_without_empty_decimals() -> None:
    assert documents.yuan(Decimal("2000.00")) == "2,000"
    assert documents.yuan(Decimal("12.50")) == "12.50"
    assert documents.yuan(None) == ""


# --- the download -------------------------------------------------------------------------------
def fake_poster(calls: list[dict[str, Any]]) -> Any:
    def poster(**kwargs: Any) -> bytes:
        calls.append(kwargs)
        return b"%PDF-1.4\n% poster\n%%EOF\n"

    return poster


def get_poster(user: Any, query: str = "", **headers: Any) -> tuple[Any, list[dict[str, Any]]]:
    client = Client()
    if user is not None:
        client.force_login(user)
    calls: list[dict[str, Any]] = []
    with mock.patch("weibao.reporting.documents.poster_pdf", fake_poster(calls)):
        response = client.get(reverse("report-poster") + query, **headers)
    return response, calls


def test_unit_manager_gets_own_poster_with_the_public_link(
    world: World, channel: ReportChannel, django_assert_max_num_queries: Any
) -> None:
    client = Client()
    client.force_login(world.unit_a_officer)
    with (
        django_assert_max_num_queries(6),
        mock.patch("weibao.reporting.documents.poster_pdf", wraps=documents.poster_pdf) as made,
    ):
        response = client.get(reverse("report-poster"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="report-poster-{world.unit_a.uscc}.pdf"' in response["Content-Disposition"]
    link = f"http://testserver/r/{channel.token}/"
    assert made.call_args.kwargs["link"] == link
    assert made.call_args.kwargs["channel"].enterprise_id == world.unit_a.pk
    assert link in link_targets(response.content)


def test_employee_gets_own_unit_poster_and_nobody_else_s(world: World) -> None:
    response, calls = get_poster(world.unit_a_employee)
    assert response.status_code == 200
    assert calls[0]["channel"].enterprise_id == world.unit_a.pk
    response, calls = get_poster(world.unit_a_officer, f"?enterprise={world.unit_b.pk}")
    assert response.status_code == 404 and not calls


def test_first_poster_opens_the_channel(world: World) -> None:
    assert not ReportChannel.objects.filter(enterprise=world.unit_b).exists()
    response, calls = get_poster(world.unit_b_officer)
    assert response.status_code == 200
    channel = ReportChannel.objects.get(enterprise=world.unit_b)
    assert calls[0]["link"] == f"http://testserver/r/{channel.token}/"


def test_regulator_names_a_unit_they_supervise(world: World) -> None:
    response, calls = get_poster(world.county_a, f"?enterprise={world.unit_a.pk}")
    assert response.status_code == 200 and calls[0]["channel"].enterprise_id == world.unit_a.pk
    response, _calls = get_poster(world.city, f"?enterprise={world.unit_b.pk}")
    assert response.status_code == 200
    for query in (f"?enterprise={world.unit_b.pk}", "", "?enterprise=abc", "?enterprise=999999"):
        response, calls = get_poster(world.county_a, query)
        assert response.status_code == 404 and not calls, query
    response, calls = get_poster(world.county_b, f"?enterprise={world.unit_a.pk}")
    assert response.status_code == 404 and not calls


def test_partner_and_anonymous_get_no_poster(world: World) -> None:
    response, calls = get_poster(world.partner_user, f"?enterprise={world.unit_a.pk}")
    assert response.status_code == 403 and not calls
    response, calls = get_poster(None)
    assert response.status_code == 302 and "login" in response["Location"] and not calls


def test_language_parameter(world: World, channel: ReportChannel) -> None:
    response, calls = get_poster(world.unit_a_officer, "?language=en")
    assert response.status_code == 200 and calls[0]["language"] == "en"
    response, calls = get_poster(world.unit_a_officer, "?language=fr")
    assert response.status_code == 400 and not calls
    assert "fr" in response.content.decode()


def test_closed_channel_or_no_pdf_goes_back_with_a_message(
    world: World, channel: ReportChannel
) -> None:
    ReportChannel.objects.filter(pk=channel.pk).update(is_open=False)
    response, calls = get_poster(world.unit_a_officer, HTTP_REFERER="http://testserver/reports/")
    assert response.status_code == 302 and response["Location"] == "http://testserver/reports/"
    assert not calls
    ReportChannel.objects.filter(pk=channel.pk).update(is_open=True)
    client = Client()
    client.force_login(world.unit_a_officer)
    with mock.patch("weibao.reporting.documents.poster_pdf", side_effect=DocumentsUnavailable()):
        response = client.get(reverse("report-poster"), HTTP_REFERER="https://evil.example/")
    assert response.status_code == 302 and response["Location"] == reverse("home")
