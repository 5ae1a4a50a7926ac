"""A fast yes/no JSON Schema check for `dealcli check` on big repositories.

jsonschema costs more than parsing the YAML file itself. `compile_schema` turns a schema that
uses only the keywords below into one Python closure answering "is this instance valid?" with
exactly jsonschema's (draft 2020-12) semantics for those keywords. `check` asks it first and
runs jsonschema only on records it rejects, so every problem is still reported by jsonschema,
with its message and path, and the line found in the file. A schema using any other keyword
compiles to None and jsonschema does all the work, as before.

Supported: type, required, properties, items, $ref (local #/$defs/...), anyOf, enum (of
strings), pattern, minimum, maximum, minLength, minItems; annotations (title, description,
$schema, $id, $defs, $comment, default, examples, format) are ignored as jsonschema ignores
them without a format checker.
"""

from __future__ import annotations

import numbers
import re
from typing import Callable

IGNORED = {"title", "description", "$schema", "$id", "$defs", "$comment", "default", "examples", "format"}
Check = Callable[..., bool]  # called with the value; the lambdas bind their arguments as defaults


class Unsupported(Exception):
    pass


def _is_type(name: str) -> Check:
    if name == "string":
        return lambda v: isinstance(v, str)
    if name == "object":
        return lambda v: isinstance(v, dict)
    if name == "array":
        return lambda v: isinstance(v, list)
    if name == "null":
        return lambda v: v is None
    if name == "boolean":
        return lambda v: isinstance(v, bool)
    if name == "integer":
        return lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer())
    if name == "number":
        return lambda v: isinstance(v, numbers.Number) and not isinstance(v, bool)
    raise Unsupported(f"type {name}")


_is_number = _is_type("number")


def _compile(schema, root: dict, refs: dict) -> Check:
    if schema is True:
        return lambda v: True
    if schema is False:
        return lambda v: False
    if not isinstance(schema, dict):
        raise Unsupported("schema")
    checks: list[Check] = []
    for key, arg in schema.items():
        if key in IGNORED:
            continue
        if key == "type":
            kinds = [_is_type(t) for t in (arg if isinstance(arg, list) else [arg])]
            checks.append(kinds[0] if len(kinds) == 1 else (lambda v, ks=kinds: any(k(v) for k in ks)))
        elif key == "required":
            names = list(arg)
            checks.append(lambda v, ns=names: not isinstance(v, dict) or all(n in v for n in ns))
        elif key == "properties":
            props = {name: _compile(sub, root, refs) for name, sub in arg.items()}

            def properties(v, props=props):
                if not isinstance(v, dict):
                    return True
                for name, check in props.items():
                    if name in v and not check(v[name]):
                        return False
                return True

            checks.append(properties)
        elif key == "items":
            if "prefixItems" in schema:
                raise Unsupported("prefixItems")
            item = _compile(arg, root, refs)

            def items(v, item=item):
                if isinstance(v, list):
                    for x in v:
                        if not item(x):
                            return False
                return True

            checks.append(items)
        elif key == "$ref":
            checks.append(_ref(arg, root, refs))
        elif key == "anyOf":
            subs = [_compile(sub, root, refs) for sub in arg]
            checks.append(lambda v, subs=subs: any(sub(v) for sub in subs))
        elif key == "enum":
            if not all(isinstance(e, str) for e in arg):
                raise Unsupported("enum of non-strings")
            allowed = frozenset(arg)
            checks.append(lambda v, allowed=allowed: isinstance(v, str) and v in allowed)
        elif key == "pattern":
            rx = re.compile(arg)
            checks.append(lambda v, rx=rx: not isinstance(v, str) or rx.search(v) is not None)
        elif key == "minimum":
            checks.append(lambda v, m=arg: not _is_number(v) or not v < m)
        elif key == "maximum":
            checks.append(lambda v, m=arg: not _is_number(v) or not v > m)
        elif key == "minLength":
            checks.append(lambda v, m=arg: not isinstance(v, str) or len(v) >= m)
        elif key == "minItems":
            checks.append(lambda v, m=arg: not isinstance(v, list) or len(v) >= m)
        else:
            raise Unsupported(key)
    if not checks:
        return lambda v: True
    if len(checks) == 1:
        return checks[0]
    cs = tuple(checks)

    def every(v):
        for c in cs:
            if not c(v):
                return False
        return True

    return every


def _ref(ref: str, root: dict, refs: dict) -> Check:
    if not ref.startswith("#/"):
        raise Unsupported(f"$ref {ref}")
    if ref not in refs:
        refs[ref] = None  # placeholder: recursion resolves through the dict at call time
        target = root
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                raise Unsupported(f"$ref {ref}")
            target = target[part]
        refs[ref] = _compile(target, root, refs)
    if refs[ref] is not None:
        return refs[ref]  # already compiled: call it directly
    return lambda v: refs[ref](v)  # a recursive reference, resolved when called


def compile_schema(schema: dict) -> Check | None:
    """A closure telling whether an instance is valid, or None when the schema uses a keyword
    this module does not implement exactly."""
    try:
        return _compile(schema, schema, {})
    except (Unsupported, re.error):
        return None
