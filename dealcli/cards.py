"""Custom fields of a deal, typed by the deal card of its pipeline.

The foundation keeps free custom fields as text; the card types (number, money, date, enum,
...) refine `coerce` without changing its callers."""

from __future__ import annotations

from dealcli.model import Pipeline


def coerce(pipeline: Pipeline, name: str, raw: str):
    """The stored value of custom field `name` given as text on the command line."""
    return raw
