"""Repository lists of values (dealcli.yaml): `deal_types`, `sources` and `lost_reasons`. When a
list is set, a deal's type, source or lost reason must be one of it (any case; stored as the
list spells it), else it is refused with a "did you mean" (UsageError, exit 2). Without a list,
any text is accepted, as before."""

from __future__ import annotations

from dealcli.errors import UsageError

LISTS = {"type": "deal_types", "source": "sources", "lost_reason": "lost_reasons"}


def allowed(s, field: str) -> list[str]:
    """The list a field's values come from (empty: free text)."""
    values = s.repo.config.get(LISTS[field]) if s._has_repo() else None
    return [str(v) for v in values if v not in (None, "")] if isinstance(values, list) else []


def check(s, field: str, value: str | None, about: str | None = None) -> str | None:
    """`value` as the list spells it; refused when the list is set and does not hold it. The
    error is about `about` (default: the field)."""
    if value is None or value == "":
        return value
    values = allowed(s, field)
    if not values:
        return value
    wanted = " ".join(str(value).split()).casefold()
    for v in values:
        if v.casefold() == wanted:
            return v
    from dealcli.suggest import hint

    raise UsageError.about(about or field, "{0} {value!r}: not one of the repository's {what}{hint} (dealcli.yaml "
                           "{key}: {values})", value=value, what=LISTS[field].replace("_", " "),
                           hint=hint(str(value), values), key=LISTS[field], values=", ".join(values))
