"""Receipt codes: how an anonymous reporter follows a report and collects the reward.

20 characters of Crockford base32 (100 random bits), shown in groups of four. Only the SHA-256
of the code is stored, so neither the unit nor a copy of the database can follow a report, and
a lookup costs the same hash and one indexed query whether or not the code exists. Typing is
forgiving: case, spaces and dashes do not matter, and O, I and L read as 0, 1 and 1.
"""

from __future__ import annotations

import hashlib
import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 20
_TYPO = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-_.]+")


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, LENGTH, 4))


def normalize(code: str) -> str:
    """The canonical form of a typed code, or "" when it cannot be one."""
    if not isinstance(code, str) or len(code) > 64:
        return ""
    cleaned = _SEPARATORS.sub("", code).upper().translate(_TYPO)
    if len(cleaned) != LENGTH or any(ch not in ALPHABET for ch in cleaned):
        return ""
    return cleaned


def digest(code: str) -> str:
    """The stored hash. A malformed code still costs one hash (of a fixed placeholder), so its
    answer takes as long as a well-formed unknown code's."""
    canonical = normalize(code) or "-" * LENGTH
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()
