"""A way through bad rows: `--value-map COLUMN:VALUE=VALUE` rewrites source values before any
mapping (a status `Dead` becomes `lost`), and `--rejects FILE` gets the rows an import refused,
in the format they came in, each with its reasons in one more column (`import_errors`), to be
fixed and imported again (the import ignores that column)."""

from __future__ import annotations

import csv
import io
import json

from dealcli.errors import UsageError
from dealcli.importing.presets import key

REASONS = "import_errors"  # the column (key) of a rejects file that holds a row's problems


def parse_value_maps(items: list[str]) -> dict[str, dict[str, str]]:
    """COLUMN:VALUE=NEW items -> {key(column): {key(value): NEW}}."""
    out: dict[str, dict[str, str]] = {}
    for item in items:
        left, sep, new = item.rpartition("=")
        column, colon, value = left.partition(":")
        if not sep or not colon or not column.strip() or not value.strip():
            raise UsageError.about("value_map", "{0} {item!r}: expected COLUMN:VALUE=VALUE (Status:Dead=lost)",
                                   item=item)
        out.setdefault(key(column), {})[key(value)] = new.strip()
    return out


def map_values(rows, value_map: dict, header_of: str | None = None):
    """The rows with each mapped cell replaced (matched ignoring case and spacing); the cells as
    they were stay on the row as `original`, for the rejects file. `header_of`: the name of a
    file with a header row (CSV/TSV), whose first row must have every column the map names (a
    usage error naming the column, not a silent no-op)."""
    for row in rows:
        if header_of is not None:
            have = {key(c) for c in row.values}
            missing = [c for c in value_map if c not in have]
            if missing:
                raise UsageError.about("value_map", "{0} {column!r}: no such column in {source} (columns: {columns})",
                                       column=missing[0], source=header_of, columns=", ".join(row.values))
            header_of = None
        changed = None
        for column, value in row.values.items():
            table = value_map.get(key(column))
            if table and isinstance(value, str) and key(value) in table:
                changed = changed or dict(row.values)
                changed[column] = table[key(value)]
        if changed is not None:
            row.original, row.values = row.values, changed
        yield row


def write(path: str, root, fmt: str, source, opts, rejects: list) -> None:
    """The refused rows, as they came (before any value map), in the input's format, each with
    its problems in REASONS. Nothing refused: the file is still written (a header alone, or an
    empty list), so that an old one is never taken for this run's."""
    from dealcli.storage import files

    rows = [(getattr(r, "original", r.values), "; ".join(reasons)) for group, reasons in rejects for r in group]
    if fmt in ("csv", "tsv"):
        data = _table(rows, fmt, source, opts)
    elif fmt == "jsonl":
        data = "".join(json.dumps({**v, REASONS: why}, ensure_ascii=False, default=str) + "\n" for v, why in rows)
    elif fmt == "json":
        data = json.dumps([{**v, REASONS: why} for v, why in rows], ensure_ascii=False, indent=1, default=str) + "\n"
    else:
        from dealcli.storage import yamlcodec

        data = yamlcodec.dumps([{**v, REASONS: why} for v, why in rows]) if rows else "[]\n"
    files.refuse_inside(path, root, "rejects_file")
    files.write_output(path, data.encode("utf-8"), "rejects_file")


def _table(rows: list, fmt: str, source, opts) -> str:
    from dealcli.importing import read
    from dealcli.views.render import tsv_escape

    columns: list[str] = list(opts.columns or [])
    for values, _ in rows:
        columns += [c for c in values if c not in columns]
    header = [*columns, REASONS]
    table = [[("" if v.get(c) is None else str(v.get(c))) for c in columns] + [why] for v, why in rows]
    tsv = opts.dialect == "tsv" or (opts.dialect is None and fmt == "tsv" and opts.delimiter in (None, "\t")
                                    and not read.quoted_tsv(source.sample()))
    if tsv:
        return "".join("\t".join(tsv_escape(c) for c in line) + "\n" for line in [header, *table])
    delimiter = opts.delimiter or ("\t" if fmt == "tsv" else read.sniff_delimiter(source.sample()))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(table)
    return out.getvalue()
