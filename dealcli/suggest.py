""""Did you mean": the one helper every refusal of an unknown name uses (stages, fields,
columns, currencies, client names)."""

from __future__ import annotations

import difflib
from typing import Iterable


def close_matches(word: str, choices: Iterable[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """The choices nearest to `word` (case-insensitive, best first)."""
    choices = [str(c) for c in choices]
    by_lower: dict[str, str] = {}
    for c in choices:
        by_lower.setdefault(c.lower(), c)
    found = difflib.get_close_matches(str(word).lower(), list(by_lower), n=n, cutoff=cutoff)
    # a choice that starts with the word is a near miss too ("init" -> "initech ag")
    low = str(word).lower()
    if len(low) >= 3:
        for c in by_lower:
            if c not in found and len(c) >= 3 and (c.startswith(low) or low.startswith(c)) and len(found) < n:
                found.append(c)
    return [by_lower[f] for f in found]


def hint(word: str, choices: Iterable[str]) -> str:
    """' (did you mean X?)' or '' when nothing is near."""
    found = close_matches(word, choices)
    if not found:
        return ""
    return f" (did you mean {' or '.join(repr(f) for f in found)}?)"
