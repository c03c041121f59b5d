"""API tokens: random secrets of which only a SHA-256 hash is kept.

A token reads ``co_<prefix>_<secret>``: ``co_<prefix>`` (12 hex digits) is stored in clear to find
the row and to show the user which token is which; the secret (256 random bits) is never stored.
SHA-256 without salt or stretching is right here because the secret is random and long — there
is nothing to brute-force — and it keeps verification to one hash per request. Hashes are
compared with :func:`hmac.compare_digest` so the time taken says nothing about how much matched.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

TOKEN_SCHEME = "co"
TOKEN_RE = re.compile(r"^co_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
# Compared against when a token is malformed or unknown, so every path hashes and compares once.
_DUMMY_HASH = hashlib.sha256(b"callops-no-such-token").hexdigest()


@dataclass(frozen=True)
class NewToken:
    """A freshly made token: ``plain`` is shown once and then forgotten."""

    plain: str
    prefix: str
    token_hash: str


def hash_token(plain: str) -> str:
    """Hex SHA-256 of the token text."""
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def new_token() -> NewToken:
    """A new random token, its public prefix and its hash."""
    prefix = f"{TOKEN_SCHEME}_{secrets.token_hex(6)}"
    plain = f"{prefix}_{secrets.token_urlsafe(32)}"
    return NewToken(plain=plain, prefix=prefix, token_hash=hash_token(plain))


def token_prefix(plain: str) -> str | None:
    """The public prefix of a well-formed token, or None."""
    m = TOKEN_RE.match(plain)
    return f"{TOKEN_SCHEME}_{m.group(1)}" if m else None


def verify_token(plain: str, stored_hash: str | None) -> bool:
    """Whether ``plain`` hashes to ``stored_hash``, compared in constant time (None never matches)."""
    ok = hmac.compare_digest(hash_token(plain), stored_hash or _DUMMY_HASH)
    return ok and stored_hash is not None
