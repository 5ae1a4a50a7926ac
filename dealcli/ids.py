"""Record ids without a central counter: 10 random characters of Crockford's base32 alphabet
(lower case, no i l o u). 50 random bits: two clones adding 100,000 deals each collide with
odds of about 1 in 100,000; a collision inside one repository is caught by the create-only
write. Safe in file names and shells; any unique prefix works on the command line."""

from __future__ import annotations

import re

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
LENGTH = 10
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def new_id() -> str:
    import secrets  # here, not at start-up: it loads OpenSSL (hmac) for every command

    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def derived_id(*parts: str) -> str:
    """An id computed from what identifies a record elsewhere (an e-mail's Message-ID, a call's
    unique id): the same parts always give the same id, so a create-only write of it makes a
    re-delivery create nothing twice. Same alphabet and length as new_id (50 bits of SHA-256)."""
    import hashlib

    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogateescape")).digest()
    n = int.from_bytes(digest[:8], "big") >> (64 - 5 * LENGTH)
    return "".join(ALPHABET[(n >> (5 * i)) & 31] for i in reversed(range(LENGTH)))


def is_slug(text: str) -> bool:
    return bool(SLUG.match(text or ""))


def slugify(text: str) -> str:
    out = re.sub(r"[^a-z0-9]+", "_", (text or "").lower()).strip("_")
    return out[:64] or "x"
