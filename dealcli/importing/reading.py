"""Reading the values of a row: `Reading` reads each target of a group of rows, noting the
values nothing maps and those read into another form; the cell readers (currencies, contacts
with their e-mail, multi-value e-mail and phone cells, status words, quantities)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from dealcli import clients, i18n
from dealcli.errors import UsageError
from dealcli.importing import read as import_read
from dealcli.importing import values as import_values
from dealcli.importing.mapping import STATUS_WORDS, UNMAPPED_TARGETS
from dealcli.importing.presets import key
from dealcli.importing.problems import Bad
from dealcli.importing.values import ValueProblem

if TYPE_CHECKING:
    from dealcli.importing.planning import Context
from dealcli.model import Pipeline


# -- one group of rows -> one planned deal -----------------------------------------------------------
def _text(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
class Reading:
    """Read the values of one group of rows, raising Bad naming the column and value."""

    def __init__(self, ctx: Context, rows: list[import_read.Row]):
        self.ctx, self.rows, self.first = ctx, rows, rows[0]
        self.m = ctx.mapper(rows[0].values)
        self.given: set[str] = set()
        self.problems: list[Bad] = []
        self.counted: set = set()  # (column, value) noted as unmapped
        self.noted: set = set()  # (column, target, line) noted as coerced

    def raw(self, target: str, row: import_read.Row | None = None):
        column, value = self.m.get((row or self.first).values, target)
        if value is not None:
            self.given.add(target)
        return column, value

    def read(self, target: str, parse, row: import_read.Row | None = None):
        column, value = self.raw(target, row)
        if value is None:
            return None
        try:
            out = parse(value)
        except ValueProblem as exc:
            # noted, and the row goes on being read: every problem of a row is listed
            if target in UNMAPPED_TARGETS and not self.ctx.final and isinstance(value, str) \
                    and (column, value) not in self.counted:
                self.counted.add((column, value))  # a row reads its status twice
                seen = self.ctx.result.unmapped.setdefault(column, {})
                seen[value.strip()] = seen.get(value.strip(), 0) + 1
            bad = Bad.of(column, value, (row or self.first).line, exc)
            bad.once = getattr(exc, "once", None)
            self.problems.append(bad)
            return None
        cell = (column, target, (row or self.first).line)
        if self.ctx.final and cell not in self.noted and not (target != "pipeline" and isinstance(out, Pipeline)):
            # each cell once (a row reads its status twice), and as stored (C6:NEW's pipeline is no stage)
            self.noted.add(cell)
            self.ctx.result.note_coerced(column, target, value, out)
        return out

    def text(self, target: str, limit: int = 500):
        def parse(v):
            if isinstance(v, (dict, list)):
                raise ValueProblem(i18n._("expected text"))
            t = _text(v)
            if t and len(t) > limit:
                raise ValueProblem(i18n._("is too long ({len_t} characters, limit {limit})").format(
                    len_t=len(t), limit=limit))
            return t
        return self.read(target, parse)

    def when(self, target: str):
        where = f"line {self.first.line}"
        return self.read(target, lambda v: self.ctx.dates.parse(v, where))
def currency_code(value) -> str:
    text = str(value).strip()
    m = re.search(r"\(([A-Za-z]{3})\)\s*$", text)  # "US Dollar (USD)"
    if m:
        return m[1].upper()
    if re.fullmatch(r"[A-Za-z]{3}", text):
        return text.upper()
    code = import_values.SYMBOLS.get(text.casefold())
    if code:
        return code
    raise ValueProblem(i18n._("is not a currency code (3 letters like EUR)"))
_NAME_EMAIL = re.compile(r"^(?P<name>.*?)\s*[(<](?P<email>[^()<>\s]+@[^()<>\s]+)[)>]$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
def split_contact(text: str | None) -> tuple[str | None, str | None]:
    """"Ann Lee (ann@x.example)" or "Ann Lee <ann@x.example>" -> name and email; an email alone
    is an email."""
    if not text:
        return None, None
    m = _NAME_EMAIL.match(text)
    if m:
        return m["name"] or None, m["email"]
    if _EMAIL.match(text):
        return None, text
    return text, None
def _status_word(value) -> str:
    word = STATUS_WORDS.get(key(value))
    if word is None:
        raise ValueProblem(i18n._("is not a status (open, won, lost)"))
    return word
def _bool(value):
    return import_values.parse_bool(value)
def _quantity(value):
    amount, _ = import_values.parse_amount(value)
    if amount is not None and amount < 0:
        raise ValueProblem(i18n._("cannot be negative"))
    return amount
_SPLIT_EMAILS = re.compile(r"\s*[,;/]\s*|\s+")
_SPLIT_PHONES = re.compile(r"\s*[,;]\s*|\s+/\s+")
def split_values(text, pattern=_SPLIT_EMAILS) -> list[str]:
    """A multi-value cell: "a@x.example / b@x.example", "a@x, b@x", "a@x; b@x"."""
    return [v for v in pattern.split(str(text).strip()) if v]
def _read_many(value, pattern, check, problem: str) -> list[str]:
    """Every value of a multi-value cell, each checked as the CLI checks it; all bad ones named."""
    out, bad = [], []
    for part in split_values(value, pattern):
        try:
            out.append(check(part))
        except UsageError:
            bad.append(part)
    if bad:
        raise ValueProblem(problem.format(", ".join(repr(b) for b in bad)))
    return out
def read_emails(value) -> list[str]:
    return _read_many(value, _SPLIT_EMAILS, clients.check_email,
                      "not an e-mail address: {} (expected name@example.com)")
def read_phones(value) -> list[str]:
    return _read_many(value, _SPLIT_PHONES, clients.check_phone, "not a phone number: {} (digits, spaces, + ( ) . -)")
