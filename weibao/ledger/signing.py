"""Signed answers for firing devices (Ed25519, via `cryptography`).

A firing device checks an authorization offline, in the field, so every answer carries its own
proof: the payload, an Ed25519 signature over the payload's canonical JSON, and the id of the key
that signed it. The public keys are published, without authentication, at
`GET /api/v1/ledger/signing-keys/` (raw 32-byte key in base64, and PEM); a device stores them
once and needs no connection to verify.

Canonical JSON is `json.dumps(payload, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)` encoded as UTF-8. Payloads hold only strings, integers, booleans, lists and
objects (no floats: positions travel as decimal strings), so any language re-creates the same
bytes. `key_id` is the first 16 hex digits of the SHA-256 of the raw public key.

Verifying an answer in Python::

    import base64
    import json

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    def verify(answer: dict, published: dict[str, str]) -> dict:
        # published: key_id -> raw public key (base64), from /api/v1/ledger/signing-keys/
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(published[answer["key_id"]]))
        message = json.dumps(
            answer["payload"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
        key.verify(base64.b64decode(answer["signature"]), message)  # raises InvalidSignature
        return answer["payload"]

The private key comes from `LEDGER_SIGNING_KEY` (PKCS#8 PEM, normally given as
`LEDGER_SIGNING_KEY_FILE`); without it one is generated on first use and kept at
`LEDGER_SIGNING_KEY_STORE` (mode 0600), so every worker process and every restart signs with the
same key. Retired public keys (`LEDGER_SIGNING_RETIRED_KEYS`) stay published after a rotation.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

ALGORITHM = "Ed25519"
_PEM_BLOCK = re.compile(
    r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.DOTALL | re.ASCII
)


def canonical(payload: Any) -> bytes:
    """The bytes that are signed and verified."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(public: Ed25519PublicKey) -> str:
    return hashlib.sha256(_raw(public)).hexdigest()[:16]


@dataclass(frozen=True)
class PublishedKey:
    key_id: str
    public_key: Ed25519PublicKey
    current: bool

    def as_json(self) -> dict[str, Any]:
        pem = self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")
        return {
            "key_id": self.key_id,
            "algorithm": ALGORITHM,
            "public_key": base64.b64encode(_raw(self.public_key)).decode("ascii"),
            "public_key_pem": pem,
            "current": self.current,
        }


@dataclass(frozen=True)
class Signer:
    private_key: Ed25519PrivateKey
    key_id: str

    def sign(self, payload: dict[str, Any]) -> dict[str, Any]:
        signature = self.private_key.sign(canonical(payload))
        return {
            "payload": payload,
            "signature": base64.b64encode(signature).decode("ascii"),
            "key_id": self.key_id,
            "algorithm": ALGORITHM,
        }


def _load_private(pem: bytes, origin: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            f"{origin} is not an unencrypted PEM private key: {exc}"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"{origin} holds a {type(key).__name__}, not an Ed25519 key.")
    return key


def _generate(store: Path) -> Ed25519PrivateKey:
    """Create the key file once. Written aside then hard-linked into place, so a process racing
    this one never reads half a file: the loser of the link reads the winner's key."""
    store.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    aside = store.with_name(f".{store.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(aside, store)
        except FileExistsError:
            return _load_private(store.read_bytes(), str(store))
    finally:
        with contextlib.suppress(FileNotFoundError):
            aside.unlink()
    return key


@functools.lru_cache(maxsize=4)
def _signer(pem: str, store: str) -> Signer:
    if pem:
        key = _load_private(pem.encode(), "LEDGER_SIGNING_KEY")
    else:
        path = Path(store)
        key = _load_private(path.read_bytes(), store) if path.exists() else _generate(path)
    return Signer(private_key=key, key_id=key_id_of(key.public_key()))


def signer() -> Signer:
    """The current signing key (read or created once per process and setting)."""
    return _signer(settings.LEDGER_SIGNING_KEY, str(settings.LEDGER_SIGNING_KEY_STORE))


@functools.lru_cache(maxsize=4)
def _retired(pems: str) -> tuple[Ed25519PublicKey, ...]:
    keys = []
    for block in _PEM_BLOCK.findall(pems):
        key = serialization.load_pem_public_key(block.encode("ascii"))
        if not isinstance(key, Ed25519PublicKey):
            raise ImproperlyConfigured(
                "LEDGER_SIGNING_RETIRED_KEYS holds a key that is not Ed25519."
            )
        keys.append(key)
    return tuple(keys)


def published_keys() -> list[PublishedKey]:
    """The current public key first, then retired ones still accepted for old answers."""
    current = signer()
    keys = [PublishedKey(current.key_id, current.private_key.public_key(), current=True)]
    for public in _retired(settings.LEDGER_SIGNING_RETIRED_KEYS):
        key_id = key_id_of(public)
        if key_id != current.key_id:
            keys.append(PublishedKey(key_id, public, current=False))
    return keys


def sign(payload: dict[str, Any]) -> dict[str, Any]:
    """`{"payload", "signature", "key_id", "algorithm"}` for `payload`."""
    return signer().sign(payload)


def verify(answer: dict[str, Any], public_key: str) -> bool:
    """Whether `answer` was signed by the raw base64 `public_key` (what a device does)."""
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key))
    try:
        key.verify(base64.b64decode(answer["signature"]), canonical(answer["payload"]))
    except InvalidSignature:
        return False
    return True
