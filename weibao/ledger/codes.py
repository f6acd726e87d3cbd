"""Codes on explosive items: the detonator shell code (GA 441), the electronic detonator's chip
UID, and the codes of packages, boxes and cases.

A shell code is 13 characters: the producer's 2-digit enterprise code, the last digit of the
year, the month (2), the day (2), one characteristic character (a digit or a letter other than
c o s u v w x z, which read too much like digits or each other) and a 5-digit serial. It is
unique for 10 years, which is why one year digit suffices.
"""

from __future__ import annotations

import re
from datetime import date

from django.utils.translation import gettext as _

SHELL_RE = re.compile(r"^(\d{2})(\d)(\d{2})(\d{2})([0-9A-Za-z])(\d{5})$")
FORBIDDEN_CHARACTERISTIC = frozenset("cosuvwxzCOSUVWXZ")
# Chip UIDs: hex digits (many producers print 16); boxes, cases and packages: the producer's
# barcode, letters, digits and dashes.
UID_RE = re.compile(r"^[0-9A-F]{8,32}$")
PACKAGE_RE = re.compile(r"^[0-9A-Z][0-9A-Z\-]{5,31}$")


def shell_code_error(code: str) -> str | None:
    """Why `code` is not a valid detonator shell code, or None."""
    match = SHELL_RE.match(code)
    if match is None:
        return _("A shell code is 13 characters: 2+1+2+2 digits, one character, 5 digits.")
    _enterprise, _year, month, day, characteristic, _serial = match.groups()
    if characteristic in FORBIDDEN_CHARACTERISTIC:
        return _("The characteristic character (9th) may not be c, o, s, u, v, w, x or z.")
    try:
        # 2024 is a leap year: any 29 February the year digit might mean is accepted.
        date(2024, int(month), int(day))
    except ValueError:
        return _("The shell code's date part (%(month)s-%(day)s) is not a date.") % {
            "month": month,
            "day": day,
        }
    return None


def package_code_error(code: str) -> str | None:
    if PACKAGE_RE.match(code) is None:
        return _("A package, box or case code is 6 to 32 capital letters, digits or dashes.")
    return None


def uid_error(uid: str) -> str | None:
    if UID_RE.match(uid) is None:
        return _("A chip UID is 8 to 32 hexadecimal digits (0-9, A-F).")
    return None
