"""What a row's columns mean: the targets a column can feed (deal fields and the import-only
targets), the import's options (`ImportOptions`) and the parsing of `--map`, `--stage-map` and
`--pipeline-map` items, and the `Mapper` that decides which column feeds which target (`--map`,
then the preset, then the column's own name)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from dealcli.errors import UsageError
from dealcli.importing import native as import_native
from dealcli.importing import rejects as import_rejects
from dealcli.importing.presets import LOST_STAGES, WON_STAGES, Preset, key  # noqa: F401 - the public API

DEAL_TARGETS = ("title", "amount", "currency", "stage", "pipeline", "responsible", "type", "source", "begin",
                "close_date", "closed_at", "created", "probability", "lost_reason", "origin_id")
CLIENT_TARGETS = ("company", "contact", "contact_email", "contact_phone")
PRODUCT_TARGETS = ("product", "product_price", "product_quantity")
STATUS_TARGETS = ("status", "won", "closed", "lost", "deleted")
HISTORY_TARGETS = ("stage_entered",)  # when the deal entered the stage it is in (history only)
TARGETS = DEAL_TARGETS + ("comment",) + CLIENT_TARGETS + PRODUCT_TARGETS + STATUS_TARGETS + HISTORY_TARGETS
KEY_FIELDS = ("origin_id", "title", "id")
DIALECTS = ("csv", "tsv", "mysql")
STATUS_WORDS = {
    "open": "open", "opened": "open", "active": "open", "in progress": "open", "открыта": "open",
    "won": "won", "win": "won", "closed won": "won", "success": "won", "successful": "won", "успешно": "won",
    "lost": "lost", "lose": "lost", "closed lost": "lost", "failed": "lost", "провалена": "lost",
    "deleted": "deleted",
}
@dataclass
class ImportOptions:
    source: str
    format: str | None = None
    preset: str | None = None
    maps: list = field(default_factory=list)
    stage_maps: list = field(default_factory=list)
    pipeline_maps: list = field(default_factory=list)  # VALUE=PIPELINE (Bitrix24: CATEGORY_ID or C<n>)
    pipeline: str | None = None
    key: str | None = None
    dry_run: bool = False
    encoding: str | None = None
    delimiter: str | None = None
    dayfirst: bool | None = None
    keep_unmapped: bool = False
    dialect: str | None = None  # csv | tsv | mysql (CSV/TSV only; None: csv, or sniffed for TAB)
    columns: list | None = None  # --no-header --columns a,b,c
    report_file: str | None = None
    value_maps: list = field(default_factory=list)  # COLUMN:VALUE=VALUE
    rejects_file: str | None = None  # import the valid rows; write the refused ones here
    kind: str = "deal"  # deal, or company | contact | product: importing/records.py
# -- options ----------------------------------------------------------------------------------------
# Problems about the import's own parameters name them as fields (`map`, `stage_map`, `key` ...:
# the names of `dealcli import`'s options), worded as options only at the edge (issue 11).
def parse_maps(items: list[str], field: str = "map") -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for item in items:
        column, sep, target = item.rpartition("=")
        if not sep or not column.strip():
            raise UsageError.about(field, "{0} {item!r}: expected COLUMN=FIELD", item=item)
        target = target.strip()
        out[" ".join(column.split())] = normalise_target(target, item, field) if target not in ("", "-") else None
    return out
def normalise_target(target: str, item: str, field: str = "map") -> str:
    if target.startswith("fields."):
        name = target[7:].strip()
    else:
        if target in TARGETS:
            return target
        name = target
    if not name or len(name) > 64 or name in ("id", "format", "history", "comments", "products", "fields"):
        raise UsageError.about(field, "{0} {item!r}: {target!r} is not a usable field name", item=item, target=target)
    return "fields." + name
def parse_stage_maps(items: list[str], field: str = "stage_map", shape: str = "VALUE=STAGE") -> dict[str, str]:
    out = {}
    for item in items:
        value, sep, stage = item.rpartition("=")
        if not sep or not value.strip() or not stage.strip():
            raise UsageError.about(field, "{0} {item!r}: expected {shape}", item=item, shape=shape)
        out[key(value)] = stage.strip()
    return out
# -- mapping columns to targets -----------------------------------------------------------------------
class Mapper:
    """Which column feeds which target, for one set of column names."""

    def __init__(self, columns: list[str], explicit: dict, preset: Preset, keep_unmapped: bool):
        self.by_target: dict[str, list[str]] = {}
        self.unmapped: list[str] = []
        self.preset = preset
        self.by_name_too: dict[str, str] = {}  # column -> target of its values that are no number
        explicit_keys = {key(c): t for c, t in explicit.items()}
        ranked = []
        for i, column in enumerate(columns):
            if column == import_rejects.REASONS:
                continue  # a rejects file imported again: the reasons are not data
            if column in explicit or key(column) in explicit_keys:
                target = explicit.get(column, explicit_keys.get(key(column)))
                if target is None:
                    continue
                rank = -1
            elif preset.target(column):
                # cast: the elif above found this target (not None)
                target, rank = cast(str, preset.target(column)), list(preset.columns).index(key(column))
            elif key(column).replace(" ", "_") in TARGETS:
                target, rank = key(column).replace(" ", "_"), 10_000 + i
            elif column.startswith("fields.") and column[7:].strip():  # as `export` names custom fields
                target, rank = "fields." + column[7:].strip(), 10_000 + i
            elif keep_unmapped:
                target, rank = "fields." + column, 10_000 + i
            else:
                self.unmapped.append(column)
                continue
            ranked.append((rank, i, target, column))
            name_target = preset.names_in_id_columns.get(key(column))
            if name_target and rank >= 0:
                self.by_name_too[column] = name_target
                ranked.append((20_000 + i, i, name_target, column))
        for _, _, target, column in sorted(ranked):
            self.by_target.setdefault(target, []).append(column)

    def get(self, values: dict, target: str) -> tuple[str | None, object]:
        """(column, value) of the first non-empty column feeding `target`."""
        for column in self.by_target.get(target, ()):
            value = values.get(column)
            if value is not None and not (isinstance(value, str) and not value.strip()):
                text = str(value).strip()
                if self.preset.is_none(column, text):
                    continue
                if column in self.by_name_too and self.preset.misfiled(column, target, text):
                    continue
                return column, value
        columns = self.by_target.get(target)
        return (columns[0] if columns else None), None

    def has(self, target: str) -> bool:
        return target in self.by_target

    def custom(self) -> list[str]:
        return [t for t in self.by_target if t.startswith("fields.")]
is_native = import_native.is_native
def key_value_of(data: dict, key_field: str):
    if key_field in KEY_FIELDS:
        return data.get(key_field)
    name = key_field[7:] if key_field.startswith("fields.") else key_field
    return (data.get("fields") or {}).get(name)
DATE_TARGETS = ("created", "closed_at", "begin", "close_date", "stage_entered")
UNMAPPED_TARGETS = ("stage", "pipeline", "status", "currency")  # a value nothing maps: listed by --dry-run
