"""Identity checks for units and people (python-stdnum; never hand-written checksums)."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidChecksum, InvalidComponent
from stdnum.exceptions import ValidationError as StdnumError


def clean_uscc(value: str) -> str:
    """Normalise and validate a unified social credit code (GB 32100); return its compact form."""
    try:
        return str(uscc.validate(value or ""))
    except InvalidChecksum:
        raise ValidationError(
            _("The check character of this unified social credit code is wrong."), code="checksum"
        ) from None
    except StdnumError:
        raise ValidationError(
            _("A unified social credit code has 18 characters (digits and capital letters)."),
            code="format",
        ) from None


def clean_identity_number(value: str) -> str:
    """Normalise and validate a resident identity number (GB 11643); return its compact form."""
    try:
        return str(ric.validate(value or ""))
    except InvalidChecksum:
        raise ValidationError(
            _("The check digit of this identity number is wrong."), code="checksum"
        ) from None
    except InvalidComponent:
        raise ValidationError(
            _("The region code or birth date in this identity number is invalid."),
            code="component",
        ) from None
    except StdnumError:
        raise ValidationError(
            _("An identity number has 18 characters: 17 digits and a digit or X."), code="format"
        ) from None


def validate_uscc(value: str) -> None:
    clean_uscc(value)


def validate_identity_number(value: str) -> None:
    clean_identity_number(value)


def mask_identity_number(value: str) -> str:
    """430***********1234: enough to tell people apart, not enough to impersonate them."""
    if len(value) < 8:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def make_uscc(division_code: str, serial: int, kind_prefix: str = "91") -> str:
    """A well-formed USCC for demo data and tests: 91 (company) + division + serial + check."""
    body = f"{kind_prefix}{division_code}{serial:09d}"
    return body + uscc.calc_check_digit(body)


def make_identity_number(division_code: str, birth: date, serial: int) -> str:
    """A well-formed identity number for demo data and tests (division + birth date + serial)."""
    body = f"{division_code}{birth:%Y%m%d}{serial % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")  # stdnum expects a placeholder check digit
