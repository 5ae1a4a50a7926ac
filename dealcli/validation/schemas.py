"""Where the JSON Schemas live: inside the wheel (dealcli/schemas/) or, in a source checkout,
the top-level schemas/ folder."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from dealcli import kinds

SCHEMA_OF_KIND = kinds.SCHEMA_OF_KIND  # declared in dealcli/kinds.py


def folder() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "schemas", here.parent.parent / "schemas"):
        if (candidate / "deal.schema.json").is_file():
            return candidate
    raise FileNotFoundError("dealcli schemas not found")


@lru_cache(maxsize=None)
def load(name: str) -> dict:
    return json.loads((folder() / f"{name}.schema.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def validator(name: str):
    import jsonschema

    schema = load(name)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, registry=registry())


@lru_cache(maxsize=None)
def registry():
    """Every schema by its $id, so that one may $ref another (pipeline -> card)."""
    from referencing import Registry, Resource

    resources = []
    for path in sorted(folder().glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)
