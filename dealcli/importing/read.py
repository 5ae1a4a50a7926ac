"""Reading import files as a stream of records, each with the line it starts on.

Formats: CSV/TSV (delimiter sniffed among , ; TAB | or given; quoted newlines; CRLF, LF or CR
line ends; a BOM; Bitrix24's trailing separator), JSON (one array, read incrementally), JSONL
and YAML (a list of mappings or one mapping per document). Text is decoded incrementally, so a
file of any length is read in constant memory (YAML excepted: it is read whole). Standard
input is first spooled to a temporary file, because an import reads its input twice (validate
everything, then write)."""

from __future__ import annotations

import codecs
import csv
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from dealcli.errors import NotFound, UsageError, ValidationFailed, Words
from dealcli.storage import files
from dealcli.i18n import N_, _

FORMATS = ("csv", "tsv", "json", "jsonl", "yaml")
EXTENSIONS = {".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv", ".json": "json", ".jsonl": "jsonl",
              ".ndjson": "jsonl", ".yaml": "yaml", ".yml": "yaml"}
DELIMITERS = (",", ";", "\t", "|")
CHUNK = 1 << 16
_EOL = re.compile(r"\r\n|\n|\r")
MAX_COLUMNS = 10_000  # columns of a CSV header, keys of one JSON/YAML object
MAX_DEPTH = 64  # nesting of JSON/YAML values
MAX_DIGITS = 100  # digits of one JSON number
_SURROGATE = re.compile("[\ud800-\udfff]")
BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


class InputError(ValidationFailed):
    """The input as a whole cannot be read (not a single bad row)."""


@dataclass
class Row:
    line: int  # the line the record starts on (1-based)
    values: dict


class Source:
    """The input file (or spooled stdin) and how to decode it."""

    def __init__(self, ref: str, encoding: str | None = None):
        self.ref = ref
        self.name = "<stdin>" if ref == "-" else ref
        self._spool = None
        if ref != "-" and not Path(ref).exists():
            raise NotFound(_("{ref}: no such file").format(ref=ref))
        if ref == "-" or not Path(ref).is_file():
            # stdin, a pipe or <(process substitution) can be read only once, and the import
            # reads its input twice (check everything, then write): spool it to a file first
            self._spool = files.Spool(ref, prefix="dealcli-import-")
            self.path = self._spool.path
        else:
            self.path = Path(ref)
        self.size = self.path.stat().st_size
        self.bytes_read = 0
        with open(self.path, "rb") as fh:
            head = fh.read(4)
        self.bom = next((enc for bom, enc in BOMS if head.startswith(bom)), None)
        if encoding:
            try:
                codecs.lookup(encoding)
            except LookupError:
                raise UsageError.about("encoding", "{0} {encoding!r}: unknown encoding (try utf-8, utf-16, "
                                       "cp1251, latin-1)", encoding=encoding) from None
            norm = codecs.lookup(encoding).name
            if norm == "utf-8" and self.bom == "utf-8-sig":
                encoding = "utf-8-sig"
            self.encoding = encoding
        else:
            self.encoding = self.bom or "utf-8"

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None

    def lines(self):
        """Physical lines with their line ends ("\\r\\n", "\\n" or a lone "\\r"). Linear in the
        input however long a line is: each character is searched for a line end once."""
        decoder = codecs.getincrementaldecoder(self.encoding)(errors="strict")
        offset, lineno, pending, scanned = 0, 0, "", 0
        self.bytes_read = 0
        with open(self.path, "rb") as fh:
            while True:
                chunk = fh.read(CHUNK)
                final = not chunk
                buffered = len(decoder.getstate()[0])
                try:
                    text = decoder.decode(chunk, final)
                except UnicodeDecodeError as exc:
                    raise self._decode_error(exc, offset - buffered, lineno, pending) from None
                offset += len(chunk)
                self.bytes_read = offset
                pending += text
                pos = 0
                while True:
                    m = _EOL.search(pending, max(pos, scanned))
                    if m is None or (m.group() == "\r" and m.end() == len(pending) and not final):
                        break  # no line end yet, or a "\r" whose "\n" may be in the next chunk
                    lineno += 1
                    yield pending[pos:m.end()]
                    pos = m.end()
                pending = pending[pos:]
                scanned = max(len(pending) - 1, 0)
                if final:
                    if pending:
                        yield pending
                    return

    def _decode_error(self, exc: UnicodeDecodeError, base: int, lineno: int, pending: str) -> InputError:
        at = base + exc.start
        line = lineno + 1 + pending.count("\n") + exc.object[:exc.start].decode(
            self.encoding, errors="replace").count("\n")
        bad = exc.object[exc.start:exc.end][:4].hex(" ")
        hint = N_("pass {0} (cp1251, latin-1, utf-16 ...)") if self.encoding.startswith("utf-8") else N_("check {0}")
        return InputError.about("encoding", "{name}:{line}: cannot decode byte {at} (0x{bad}) as {encoding}: {hint}",
                                name=self.name, line=line, at=at, bad=bad, encoding=self.encoding,
                                hint=Words(("encoding",), hint, {}))

    def sample(self, size: int = CHUNK) -> str:
        out, n = [], 0
        for line in self.lines():
            out.append(line)
            n += len(line)
            if n >= size:
                break
        return "".join(out)

    def guess_format(self) -> str:
        ext = EXTENSIONS.get(self.path.suffix.lower()) if self.ref != "-" else None
        if ext:
            return ext
        head = self.sample(4096).lstrip("\ufeff \t\r\n")
        if head.startswith("["):
            return "json"
        if head.startswith("{"):
            return "jsonl"
        if head.startswith("---") or re.match(r"^- \w+:", head):
            return "yaml"
        return "csv"


# -- CSV ------------------------------------------------------------------------------------------
_LINE_END = re.compile(r"(?<=\r\n)|(?<=\n)|(?<=\r)(?!\n)")


def text_lines(text: str, keepends: bool = False) -> list[str]:
    """Lines as the files have them: ended by \r\n, \n or a lone \r only. (str.splitlines also
    splits on U+0085, U+2028, \x0b, \x0c and \x1c-\x1e, which are data inside a cell.)"""
    lines = [part for part in _LINE_END.split(text) if part]
    return lines if keepends else [line.rstrip("\r\n") for line in lines]


def sniff_delimiter(sample: str) -> str:
    """The candidate that splits the header into most columns that the next rows agree with."""
    lines = text_lines(sample, keepends=True)
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]
    best, best_score = ",", (False, 0, 0.0)
    for d in DELIMITERS:
        try:
            rows = [r for r in csv.reader(lines, delimiter=d) if r][:50]
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        ratio = sum(1 for r in rows[1:] if len(r) == width) / max(len(rows) - 1, 1)
        score = (ratio >= 0.9, width, ratio)
        if score > best_score:
            best, best_score = d, score
    return best


def header_names(cells: list[str]) -> list[str]:
    names = [" ".join(c.replace("\ufeff", "").split()) for c in cells]
    while names and not names[-1]:
        names.pop()  # a trailing separator (Bitrix24) or empty trailing columns
    out: list[str] = []
    for i, name in enumerate(names):
        name = name or f"column {i + 1}"
        base, n = name, 2
        while name in out:
            name, n = f"{base} ({n})", n + 1
        out.append(name)
    return out


class BadRecord(Exception):
    def __init__(self, line: int, column: str, value, problem: str):
        super().__init__(problem)
        self.line, self.column, self.value, self.problem = line, column, value, problem


def csv_records(source: Source, delimiter: str | None, errors: list, dialect: str | None = None,
                columns: list[str] | None = None, tsv: bool = False):
    """Rows of a CSV/TSV file. A row with more non-empty values than the header has columns
    is a bad row (appended to `errors` as BadRecord); missing trailing values are empty.
    `dialect`: csv (quotes, doubled inside), tsv (no quotes; \\t \\n \\r \\\\ escapes, as
    `export -f tsv` writes from issue 15 on), mysql (quotes, backslash escapes, \\N for null);
    None: csv, or with tsv=True (a .tsv file) tsv unless the sample is clearly the quoted
    CSV-with-tabs that older dealcli versions wrote.
    `columns`: the column names of a file without a header row (--no-header --columns)."""
    if delimiter is None:
        delimiter = sniff_delimiter(source.sample())
    if dialect is None:
        dialect = "tsv" if tsv and not quoted_tsv(source.sample()) else "csv"
    csv.field_size_limit(16 * 1024 * 1024)
    counter = _Counted(source.lines())
    if dialect == "csv":
        reader = csv.reader(counter, delimiter=delimiter, strict=True)  # strict: a stray quote is an error
    elif dialect == "tsv":
        reader = tsv_cells(counter, delimiter)
    else:
        reader = _mysql_rows(counter, delimiter)
    header = header_names(columns) if columns else None
    while True:
        start = counter.count + 1
        counter.keep = []
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if dialect == "csv" and ("end of data" in str(exc) or "expected after" in str(exc)):
                # a quote that opened in this record is never closed where a value ends: it swallowed
                # what follows (as pandas and csvkit say: EOF inside string); the rest is not trusted
                errors.append(BadRecord(start, "(row)", None, "a quote opens on this line and is never closed" + (
                    f" (it would swallow lines {start}-{counter.count} into one value)" if counter.count > start
                    else "")))
                return
            errors.append(BadRecord(start, "(row)", None, f"unreadable CSV: {exc}"))
            continue
        if len(cells) > MAX_COLUMNS:
            raise InputError(_("{source_name}:{start}: {len_cells} columns (limit {max_columns:,}): not a "
                             "table this import reads").format(
                                 source_name=source.name, start=start, len_cells=len(cells), max_columns=MAX_COLUMNS))
        if dialect != "tsv" and counter.count > start and counter.at_end and _unclosed(counter.keep):
            errors.append(BadRecord(start, "(row)", None, f"a quote opens on this line and is never closed (it "
                                    f"would swallow lines {start}-{counter.count} into one value)"))
            return
        if not cells or all(c is None or not c.strip() for c in cells):
            continue  # blank lines, and rows with no value at all
        if header is None:
            header = header_names([c or "" for c in cells])
            continue
        if len(cells) > len(header) and any(c and c.strip() for c in cells[len(header):]):
            errors.append(BadRecord(start, "(row)", None, f"{len(cells)} values but the header has "
                                    f"{len(header)} columns"))
            continue
        values = dict(zip(header, cells, strict=False))
        for name in header[len(cells):]:
            values[name] = ""
        yield Row(start, values)


_TSV_ESCAPE = re.compile(r"\\(.)")
_TSV_CHARS = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}
_QUOTED_CELL = re.compile(r'"(?:[^"]|"")*"')  # a whole CSV-quoted cell
_QUOTED_START = re.compile(r'"(?:[^"]|"")*')  # a CSV-quoted cell going on to the next line


def tsv_cells(lines, delimiter: str = "\t"):
    """Real TSV (IANA text/tab-separated-values, as `dealcli export -f tsv`, Miller and
    PostgreSQL write it): one record per line, cells split on tabs, no quoting; `\\t`, `\\n`,
    `\\r` and `\\\\` in a cell are a tab, a line feed, a carriage return and a backslash (any other
    backslash stays as it is)."""
    for line in lines:
        line = line.rstrip("\r\n")
        yield [_TSV_ESCAPE.sub(lambda m: _TSV_CHARS.get(m.group(1), m.group()), c) if "\\" in c else c
               for c in line.split(delimiter)]


def quoted_tsv(sample: str) -> bool:
    """True when a tab-separated sample is clearly CSV quoting with tabs, as older dealcli
    versions wrote: a cell that is one whole quoted value (`"a<TAB>b"`, `"say ""hi"" twice"`), or a
    line's last cell that opens a quoted value going on to the next line."""
    for line in text_lines(sample)[:200]:
        cells = line.split("\t")
        for i, c in enumerate(cells):
            if not c.startswith('"'):
                continue
            if _QUOTED_CELL.fullmatch(c) or (i == len(cells) - 1 and _QUOTED_START.fullmatch(c)):
                return True
    return False


def _unclosed(lines: list[str]) -> bool:
    return sum(line.count('"') for line in lines) % 2 == 1


_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\", "0": "\0", "b": "\b", "Z": "\x1a"}
def _mysql_rows(lines, delimiter: str):
    """MySQL dumps (SELECT ... INTO OUTFILE, mysqldump --tab): cells optionally enclosed in
    double quotes, a backslash escapes the next character (\\" \\\\ \\n \\t ...), a line end may
    be escaped, and an unquoted \\N is NULL (None)."""
    cells: list = []
    cell: list[str] = []
    quoted = in_quotes = escape = False
    for line in lines:
        i, n = 0, len(line)
        while i < n:
            c = line[i]
            if escape:
                escape = False
                if c == "N" and not in_quotes and not cell and not quoted:
                    cell.append("\0N")  # NULL marker, resolved at the end of the cell
                else:
                    cell.append(_ESCAPES.get(c, c))
            elif c == "\\":
                escape = True
            elif in_quotes:
                if c == '"':
                    if line[i + 1:i + 2] == '"':
                        cell.append('"')
                        i += 1
                    else:
                        in_quotes = False
                else:
                    cell.append(c)
            elif c == '"' and not cell and not quoted:
                in_quotes = quoted = True
            elif c == delimiter:
                cells.append(_mysql_cell(cell, quoted))
                cell, quoted = [], False
            elif c in "\r\n":
                if c == "\r" and line[i + 1:i + 2] == "\n":
                    i += 1
                cells.append(_mysql_cell(cell, quoted))
                yield cells
                cells, cell, quoted = [], [], False
            else:
                cell.append(c)
            i += 1
    if cell or cells or quoted:
        cells.append(_mysql_cell(cell, quoted))
        yield cells


def _mysql_cell(chars: list[str], quoted: bool):
    text = "".join(chars)
    if text == "\0N" and not quoted:
        return None
    return text.replace("\0N", "N") if "\0N" in text else text


class _Counted:
    """Lines with a count; `keep` collects the lines of the current record; `at_end` is set
    once the input is exhausted."""

    def __init__(self, it):
        self.it, self.count, self.keep, self.at_end = it, 0, [], False

    def __iter__(self):
        return self

    def __next__(self):
        try:
            line = next(self.it)
        except StopIteration:
            self.at_end = True
            raise
        self.count += 1
        if len(self.keep) < 100_000:
            self.keep.append(line)
        return line


# -- JSON, JSONL, YAML ----------------------------------------------------------------------------
class TooBig(ValueError):
    """A value beyond the limits: refused before it is built or stored."""


def _number(text: str):
    if len(text.lstrip("-").replace(".", "").split("e")[0].split("E")[0]) > MAX_DIGITS or len(text) > 2 * MAX_DIGITS:
        raise TooBig(_("a number of {len_text:,} characters (limit {max_digits} digits)").format(
            len_text=len(text), max_digits=MAX_DIGITS))
    return text


def _int(text: str) -> int:
    return int(_number(text))


def _float(text: str) -> Decimal:
    return Decimal(_number(text))


def _loads(text: str):
    """json.loads with exact decimals and bounded numbers; TooBig or ValueError otherwise."""
    try:
        return json.loads(text, parse_float=_float, parse_int=_int)
    except RecursionError:
        raise TooBig(_("nested deeper than this import reads (limit {max_depth} levels)").format(
            max_depth=MAX_DEPTH)) from None


def check_shape(value) -> str | None:
    """What makes a decoded record unusable (too deep, too many keys, a lone surrogate), or None.
    Iterative, so any depth is checked in bounded stack."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"nested deeper than {MAX_DEPTH} levels"
        if isinstance(item, dict):
            if len(item) > MAX_COLUMNS:
                return f"an object with {len(item):,} keys (limit {MAX_COLUMNS:,})"
            for k, v in item.items():
                if isinstance(k, str) and _SURROGATE.search(k):
                    return f"a lone surrogate {_surrogate(k)} in a key (not valid Unicode)"
                stack.append((v, depth + 1))
        elif isinstance(item, list):
            if len(item) > MAX_COLUMNS * 10:
                return f"a list of {len(item):,} items (limit {MAX_COLUMNS * 10:,})"
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, str) and _SURROGATE.search(item):
            return f"a lone surrogate {_surrogate(item)} (not valid Unicode)"
    return None


def _surrogate(text: str) -> str:
    found = _SURROGATE.search(text)
    assert found is not None  # only called for a text the pattern matched
    return "\\u%04x" % ord(found.group())


def jsonl_records(source: Source, errors: list):
    for n, line in enumerate(source.lines(), 1):
        text = line.strip().lstrip("\ufeff")
        if not text:
            continue
        try:
            data = _loads(text)
        except json.JSONDecodeError as exc:
            errors.append(BadRecord(n, "(line)", None, f"not JSON: {exc.msg} at column {exc.colno}"))
            continue
        except TooBig as exc:
            errors.append(BadRecord(n, "(line)", None, f"not read: {exc}"))
            continue
        if not isinstance(data, dict):
            errors.append(BadRecord(n, "(line)", None, "expected a JSON object"))
            continue
        problem = check_shape(data)
        if problem:
            errors.append(BadRecord(n, "(line)", None, f"not read: {problem}"))
            continue
        yield Row(n, data)


def json_records(source: Source, errors: list):
    """The items of one top-level JSON array, decoded one at a time."""
    decoder = json.JSONDecoder(parse_float=_float, parse_int=_int)
    lines = source.lines()
    buf, base_line, eof = "", 1, False

    def more() -> bool:
        nonlocal buf, eof
        got = 0
        for line in lines:
            buf += line
            got += len(line)
            if got >= CHUNK:
                return True
        eof = True
        return got > 0

    def skip_ws(pos: int) -> int:
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n\ufeff":
                pos += 1
            if pos < len(buf) or eof or not more():
                return pos

    def fail(pos: int, msg: str) -> InputError:
        return InputError(_("{source_name}:{base_line_buf_count_chr}: not a JSON array of "
                          "objects: {msg}").format(
                              source_name=source.name,
                              base_line_buf_count_chr=base_line + buf.count(chr(10), 0, pos), msg=msg))

    pos = skip_ws(0)
    if pos >= len(buf) or buf[pos] != "[":
        raise fail(pos, "expected '['")
    pos = skip_ws(pos + 1)
    if pos < len(buf) and buf[pos] == "]":
        return
    while True:
        while True:
            try:
                obj, end = decoder.raw_decode(buf, pos)
                break
            except json.JSONDecodeError as exc:
                if eof or not more():
                    raise fail(exc.pos, exc.msg) from None
            except TooBig as exc:
                raise fail(pos, f"not read: {exc}") from None
            except RecursionError:
                raise fail(pos, f"not read: nested deeper than this import reads (limit {MAX_DEPTH} levels)") \
                    from None
        line = base_line + buf.count("\n", 0, pos)
        problem = check_shape(obj)
        if problem:
            raise fail(pos, f"not read: {problem}")
        if isinstance(obj, dict):
            yield Row(line, obj)
        else:
            errors.append(BadRecord(line, "(item)", None, "expected a JSON object"))
        pos = skip_ws(end)
        if pos >= len(buf):
            raise fail(pos, "the array is not closed")
        if buf[pos] == "]":
            return
        if buf[pos] != ",":
            raise fail(pos, "expected ',' or ']'")
        pos = skip_ws(pos + 1)
        base_line += buf.count("\n", 0, pos)
        buf, pos = buf[pos:], 0


def yaml_records(source: Source, errors: list):
    """The items of a YAML list (or one mapping per document), parsed once per import and
    replayed on the later passes (importing/yamlread.py)."""
    from dealcli.importing import yamlread

    def text() -> str:
        return "".join(source.lines()).lstrip("\ufeff")

    for kind, line, value in yamlread.replay(source, text, _yaml_item, lambda t, skip: _yaml_whole(source, t, skip)):
        if kind == "row":
            yield Row(line, value)
        else:
            errors.append(BadRecord(line, "(item)", None, value))


def _yaml_item(loader, item, base: int) -> tuple:
    """What one item node gives: ("row", line, mapping) or ("bad", line, problem)."""
    line = base + item.start_mark.line + 1
    data = loader.construct_document(item)
    problem = check_shape(data)
    if problem:
        return "bad", line, f"not read: {problem}"
    if isinstance(data, dict):
        return "row", line, data
    return "bad", line, "expected a mapping"


def _yaml_whole(source: Source, text: str, skip: int):
    """The items' outcomes of the text read as a whole (documents of a list or of one mapping),
    leaving out the first `skip` items."""
    import yaml

    from dealcli.storage import yamlcodec

    loader = yamlcodec.Loader(text)
    n = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            items = node.value if isinstance(node, yaml.SequenceNode) else [node]
            for item in items:
                n += 1
                if n > skip:
                    yield _yaml_item(loader, item, 0)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise InputError(_("{source_name}:{mark_line_1_if_mark_else}: malformed YAML: "
                         "{exc_problem_or_exc_conte}").format(
                             source_name=source.name, mark_line_1_if_mark_else=mark.line + 1 if mark else '?',
                             exc_problem_or_exc_conte=exc.problem or exc.context)) from None
    except yaml.YAMLError as exc:
        raise InputError(_("{source_name}: malformed YAML: {exc}").format(source_name=source.name, exc=exc)) from None
    finally:
        loader.dispose()


def records(source: Source, fmt: str, delimiter: str | None, errors: list, dialect: str | None = None,
            columns: list[str] | None = None):
    if fmt in ("csv", "tsv"):
        tsv = fmt == "tsv" and delimiter in (None, "\t")
        return csv_records(source, "\t" if tsv else delimiter, errors, dialect, columns, tsv=tsv)
    if fmt == "jsonl":
        return jsonl_records(source, errors)
    if fmt == "json":
        return json_records(source, errors)
    return yaml_records(source, errors)
