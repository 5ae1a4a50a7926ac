"""Reading a YAML import once, item by item, in worker processes (issue 29).

An import reads its input two or three times (the date order, the checking pass, the writing
pass). Composing a whole YAML list at once built a node tree of the entire file (340 MB for
8,800 deals, and the garbage collector walking it all the time) and did so on every pass. Here
the text of a top-level block list is cut at its items (the lines starting with `- ` at column
0), each item is parsed on its own by the C LibYAML loader, by worker processes when there are
many, and what each item gave (a row or a bad item) is written once to an unnamed temporary file
that every later pass replays: the YAML is parsed once, memory holds one batch of items.

A cut is only ever made where an item can start; a cut inside a quoted or flow value (which
PyYAML accepts at column 0) leaves an item that does not parse, and so does an alias to an
anchor of another item: then the input is read as before, as one document, skipping the items
already read, so the rows and the messages are exactly those of the whole-document reader.
Input that is not a plain top-level list (documents, directives, lone CR line ends) is read as
one document too.
"""

from __future__ import annotations

import pickle
import re
import tempfile
import weakref
from collections.abc import Callable, Iterator
from typing import IO, Any

PARALLEL_MIN = 400  # items from which worker processes share the parsing
BATCH = 200  # items per worker task and per pickled block of the replay file

_ITEM = re.compile(r"^-(?=[ \t\n]|$)", re.M)
_PREFIX_LINE = re.compile(r"[ \t]*(#.*)?|---[ \t]*(#.*)?")
_NOT_PLAIN = re.compile(r"^(---|\.\.\.|%)", re.M)

# what one item gave: ("row", line, data) or ("bad", line, problem)
Outcome = tuple[str, int, Any]
_replays: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def cut(text: str) -> list[tuple[int, str]] | None:
    """The items of a top-level block list as (lines before the item, its text), or None when
    the text is not one (then it is read as one document)."""
    if "\r" in text.replace("\r\n", "") or not text.strip():
        return None
    starts = [m.start() for m in _ITEM.finditer(text)]
    if not starts:
        return None
    prefix = text[:starts[0]].split("\n")[:-1]
    if not all(_PREFIX_LINE.fullmatch(line.rstrip("\r")) for line in prefix):
        return None
    if _NOT_PLAIN.search(text, starts[0]):
        return None
    out, line = [], len(prefix)
    ends = starts[1:] + [len(text)]
    for start, end in zip(starts, ends, strict=True):
        chunk = text[start:end]
        out.append((line, chunk))
        line += chunk.count("\n")
    return out


def parse_items(one: Callable, batch: list[tuple[int, str]]) -> tuple[list[Outcome], bool]:
    """The outcomes of a batch of cut items, and False when an item stopped it because it does
    not parse as a list on its own (the outcomes are then those of the items before it)."""
    import yaml

    from dealcli.storage import yamlcodec

    out: list[Outcome] = []
    for base, text in batch:
        loader = yamlcodec.Loader(text)
        try:
            node = loader.get_single_node()
            if not isinstance(node, yaml.SequenceNode) or not node.value:
                return out, False
            got = [one(loader, item, base) for item in node.value]
        except yaml.YAMLError:
            return out, False
        finally:
            loader.dispose()
        out += got
    return out, True


def _parse_task(task: tuple[Callable, list[tuple[int, str]]]) -> tuple[list[Outcome], bool]:
    return parse_items(*task)


def _outcomes(items: list[tuple[int, str]], one: Callable) -> Iterator[tuple[list[Outcome], bool]]:
    """parse_items over batches, in order; worker processes for many items (at most a few
    batches in flight, so memory stays flat)."""
    batches = [items[i:i + BATCH] for i in range(0, len(items), BATCH)]
    from dealcli import workers

    if not workers.wanted(len(items), PARALLEL_MIN):
        for batch in batches:
            yield parse_items(one, batch)
        return
    yield from workers.ordered(_parse_task, [(one, batch) for batch in batches])


def replay(source: object, read_text: Callable[[], str], one: Callable,
           whole: Callable[[str, int], Iterator[Outcome]]) -> Iterator[Outcome]:
    """Every item's outcome, parsed on the first call for this source and replayed after.
    `one(loader, item_node, lines_before)` makes an item's outcome; `whole(text, skip)` reads
    the text as one document, skipping the first `skip` items."""
    fh: IO[bytes] | None = _replays.get(source)
    if fh is None:
        fh = _build(read_text(), one, whole)
        _replays[source] = fh
    fh.seek(0)
    while True:
        try:
            block = pickle.load(fh)
        except EOFError:
            return
        yield from block


def _build(text: str, one: Callable, whole: Callable[[str, int], Iterator[Outcome]]) -> IO[bytes]:
    fh = tempfile.TemporaryFile(prefix="dealcli-import-", suffix=".items")  # noqa: SIM115 - kept open
    try:
        items = cut(text)
        done = 0
        failed = items is None
        if items is not None:
            for got, whole_batch in _outcomes(items, one):
                pickle.dump(got, fh, pickle.HIGHEST_PROTOCOL)
                done += len(got)
                if not whole_batch:
                    failed = True
                    break
        if failed:
            block: list[Outcome] = []
            for outcome in whole(text, done):
                block.append(outcome)
                if len(block) >= BATCH:
                    pickle.dump(block, fh, pickle.HIGHEST_PROTOCOL)
                    block = []
            pickle.dump(block, fh, pickle.HIGHEST_PROTOCOL)
        return fh
    except BaseException:
        fh.close()
        raise
