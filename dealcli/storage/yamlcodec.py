"""YAML in and out: C LibYAML when present, exact decimals, timestamps kept as text (the model
parses them), stable key order, block style, unicode as is."""

from __future__ import annotations

import datetime as _dt
import functools
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from dealcli.errors import CorruptData
from dealcli import i18n

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_FLOAT = "tag:yaml.org,2002:float"

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
WITH_LIBYAML = _BaseLoader is not yaml.SafeLoader


def _without_timestamps(resolvers: dict[Any, Any]) -> dict[Any, Any]:
    return {k: [(tag, rx) for tag, rx in v if tag != _TIMESTAMP] for k, v in resolvers.items()}


class Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    pass


class Dumper(_BaseDumper):  # type: ignore[misc, valid-type]
    pass


Loader.yaml_implicit_resolvers = _without_timestamps(yaml.resolver.Resolver.yaml_implicit_resolvers)
Dumper.yaml_implicit_resolvers = _without_timestamps(yaml.resolver.Resolver.yaml_implicit_resolvers)


def _construct_float(loader: Any, node: yaml.ScalarNode) -> Any:
    text = loader.construct_scalar(node)
    clean = text.replace("_", "")
    try:
        value = Decimal(clean)
    except InvalidOperation:
        return yaml.constructor.SafeConstructor.construct_yaml_float(loader, node)
    if not value.is_finite():
        return float(value)
    return value


def _construct_timestamp_text(loader: Any, node: yaml.ScalarNode) -> Any:
    return loader.construct_scalar(node)


def _construct_mapping(loader: Any, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    """A mapping whose keys are unique: a repeated key (`stage: won` ... `stage: new`, what a
    hand-resolved merge can leave) is an error naming both lines, not a silent last-one-wins."""
    seen: dict[tuple[str, Any], int] = {}
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
            first = seen.setdefault((key_node.tag, key_node.value), key_node.start_mark.line + 1)
            if first != key_node.start_mark.line + 1:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key_node.value!r} (first at line {first})", key_node.start_mark)
    return yaml.constructor.SafeConstructor.construct_mapping(loader, node, deep)


def _construct_map(loader: Any, node: yaml.MappingNode) -> Iterator[dict[Any, Any]]:
    data: dict[Any, Any] = {}
    yield data
    data.update(_construct_mapping(loader, node))


Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
Loader.add_constructor(_FLOAT, _construct_float)
Loader.add_constructor(_TIMESTAMP, _construct_timestamp_text)


def _represent_decimal(dumper: yaml.representer.BaseRepresenter, value: Decimal) -> yaml.ScalarNode:
    text = format(value, "f")
    if "." not in text:
        return dumper.represent_scalar("tag:yaml.org,2002:int", text)
    return dumper.represent_scalar(_FLOAT, text)


def _represent_str(dumper: yaml.representer.BaseRepresenter, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


def _represent_datetime(dumper: yaml.representer.BaseRepresenter, value: _dt.date) -> yaml.ScalarNode:
    return _represent_str(dumper, value.isoformat())


Dumper.ignore_aliases = lambda self, data: True  # never write anchors/aliases: plain, diffable files
Dumper.add_representer(Decimal, _represent_decimal)
Dumper.add_representer(str, _represent_str)
Dumper.add_multi_representer(str, _represent_str)  # a str subclass (i18n.Text, a message) is written as text
Dumper.add_representer(_dt.datetime, _represent_datetime)
Dumper.add_representer(_dt.date, _represent_datetime)


MARKERS = ("<<<<<<<", "=======", ">>>>>>>")


def conflict_marker(text: str | bytes) -> tuple[int, str] | None:
    """(line, marker) of the first git conflict marker in a text, None when there is none."""
    if isinstance(text, bytes):
        if b"<<<<<<<" not in text and b">>>>>>>" not in text:
            return None
        text = text.decode("utf-8", "replace")
    elif "<<<<<<<" not in text and ">>>>>>>" not in text:
        return None
    for n, line in enumerate(text.splitlines(), 1):
        for marker in MARKERS:
            if line.startswith(marker) and (marker != "=======" or line.rstrip() == marker):
                return n, marker
    return None


MAX_EXPANDED = 10_000  # nodes a document may have once its aliases are expanded


def loads(text: str | bytes, path: str = "<input>") -> Any:
    """Parse one YAML document; a syntax error becomes CorruptData naming file and line, a git
    conflict marker gets its own message saying how to resolve it. A document whose aliases
    expand beyond MAX_EXPANDED nodes (a "billion laughs" alias bomb, a few lines that would
    become gigabytes in every view) is refused as corrupt data; so is a repeated key."""
    found = conflict_marker(text)
    if found:
        raise CorruptData(path, i18n._("git conflict marker {found_1}: this file was merged as text. Run "
                          "`dealcli git setup`, then `git checkout --merge -- {path}` to merge it again "
                          "with dealcli's merge driver, or resolve it by hand (keep one side between the "
                          "markers, then `dealcli check`)").format(found_1=found[1], path=path), found[0])
    loader = Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if (b"*" in text if isinstance(text, bytes) else "*" in text):  # no alias without a `*`
            _check_expansion(node, path)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "malformed YAML"
        raise CorruptData(path, i18n._("malformed YAML: {problem}").format(problem=problem), line) from None
    except yaml.YAMLError as exc:
        raise CorruptData(path, i18n._("malformed YAML: {exc}").format(exc=exc)) from None
    except UnicodeDecodeError as exc:
        raise CorruptData(path, i18n._("not UTF-8 text ({exc_reason} at byte {exc_start})").format(
            exc_reason=exc.reason, exc_start=exc.start)) from None
    finally:
        loader.dispose()


def _check_expansion(root: yaml.Node, path: str) -> None:
    """Count the nodes of the document as its aliases expand (each shared node counted once
    per use, computed once); refuse a recursive alias or more than MAX_EXPANDED nodes."""
    sizes: dict[int, int] = {}
    busy: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in busy:
            raise CorruptData(path, i18n._("a YAML alias refers to itself (recursive anchor)"),
                              node.start_mark.line + 1)
        busy.add(key)
        n = 1
        if isinstance(node, yaml.SequenceNode):
            n += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            n += sum(size(k) + size(v) for k, v in node.value)
        busy.discard(key)
        sizes[key] = n
        if n > MAX_EXPANDED:
            raise CorruptData(path, i18n._("YAML aliases expand to more than {max_expanded} values (an alias bomb?); "
                              "dealcli refuses it").format(max_expanded=MAX_EXPANDED), node.start_mark.line + 1)
        return n

    size(root)


def dumps(data: Any) -> str:
    """The YAML text of a record: block style, keys in their order, no aliases, lines up to 4096
    characters. Written directly (`_direct`) when the record is made of plain shapes, else by
    PyYAML's dump with the C emitter; `tests/test_codec_direct.py` proves the two give the same
    bytes wherever the direct writer answers."""
    if WITH_LIBYAML and type(data) is dict and data:
        out: list[str] = []
        if _direct_map(data, "", out):
            return "".join(out)
    return _dump(data)


# -- the direct writer: what yaml.dump(Dumper=Dumper) writes, for the shapes records have ---------
# A string is written plain when it has no indicator the emitter would quote for and resolves to
# a string (the resolver's own check); quoted when it resolves to something else (`'1000'`,
# `'yes'`, `'null'`); anything else (a line break, a tab, `: `, ` #`, a leading `-`, a float, a
# list in a list...) makes the whole record go through yaml.dump.
_PLAIN_TEXT = re.compile(r"[^\W_](?:[\w .,/@+()&%'!?=;~$-]|:(?! |$))*\Z")
_MAX_TEXT = 1000  # far below the 4096-character line width, so the emitter never folds a line


def _resolves(text: str, tag: str) -> bool:
    """Does a plain `text` read back as `tag`? (BaseResolver.resolve for an implicit scalar.)"""
    table: dict[str | None, list[tuple[str, re.Pattern[str]]]] = Dumper.yaml_implicit_resolvers
    for found, rx in table.get(text[:1], []) + (table.get(None) or []):
        if rx.match(text):
            return found == tag
    return tag == "tag:yaml.org,2002:str"


@functools.lru_cache(maxsize=4096)  # keys and values like stage names repeat in every record
def _text(v: str) -> str | None:
    if len(v) > _MAX_TEXT or v.endswith(" ") or not _PLAIN_TEXT.match(v):
        return None
    return v if _resolves(v, "tag:yaml.org,2002:str") else "'" + v + "'"


def _scalar(v: Any) -> str | None:
    kind = type(v)
    if kind is str:
        return _text(v)
    if v is None:
        return "null"
    if kind is bool:
        return "true" if v else "false"
    if kind is int:
        return str(v)
    if kind is Decimal:
        text = format(v, "f")
        tag = "tag:yaml.org,2002:int" if "." not in text else _FLOAT
        return text if _resolves(text, tag) else None
    if kind is _dt.date or kind is _dt.datetime:
        return _scalar(v.isoformat())
    return None


def _direct_map(data: dict[Any, Any], indent: str, out: list[str]) -> bool:
    for k, v in data.items():
        if type(k) is not str or len(k) > 100:
            return False
        key = _scalar(k)
        if key is None or key[0] == "'":
            return False
        kind = type(v)
        if kind is dict:
            if not v:
                out.append(f"{indent}{key}: {{}}\n")
            else:
                out.append(f"{indent}{key}:\n")
                if not _direct_map(v, indent + "  ", out):
                    return False
        elif kind is list:
            if not v:
                out.append(f"{indent}{key}: []\n")
            else:
                out.append(f"{indent}{key}:\n")
                if not _direct_seq(v, indent, out):
                    return False
        else:
            text = _scalar(v)
            if text is None:
                return False
            out.append(f"{indent}{key}: {text}\n")
    return True


def _direct_seq(items: list[Any], indent: str, out: list[str]) -> bool:
    """A sequence under a mapping key: `- ` at the key's own indent (PyYAML's indentless style)."""
    for v in items:
        kind = type(v)
        if kind is dict and v:
            first = len(out)
            if not _direct_map(v, indent + "  ", out):
                return False
            out[first] = indent + "- " + out[first][len(indent) + 2:]
        elif kind is dict or kind is list:
            return False
        else:
            text = _scalar(v)
            if text is None:
                return False
            out.append(f"{indent}- {text}\n")
    return True


def _dump(data: Any) -> str:
    return yaml.dump(
        data,
        Dumper=Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=4096,
        indent=2,
    )


def plain(data: Any) -> Any:
    """What `loads(dumps(data))` gives, without the round trip: a whole Decimal is written as
    an int and read back as one, dates and times come back as their ISO text."""
    if isinstance(data, dict):
        return {k: plain(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [plain(v) for v in data]
    if isinstance(data, Decimal):
        text = format(data, "f")
        return int(text) if "." not in text else Decimal(text)
    if isinstance(data, (_dt.datetime, _dt.date)):
        return data.isoformat()
    return data


def line_of(text: str | bytes, path: tuple[Any, ...]) -> int | None:
    """1-based line of the node at `path` (keys and list indexes) in a YAML text, or of the
    deepest ancestor that exists. Used only to point error messages at the right line."""
    try:
        node = yaml.compose(text, Loader=Loader)  # noqa: S506
    except yaml.YAMLError:
        return None
    if node is None:
        return None
    line = node.start_mark.line + 1
    for key in path:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == str(key):
                    line = k.start_mark.line + 1
                    node = v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line


_SAFE_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
