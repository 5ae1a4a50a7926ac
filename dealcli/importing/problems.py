"""The problems of an import, as data and as lines: a bad value of a row (`Bad`), one line of a
failed import (`Line`, `file:line: column: value: problem`, worded as options only at the edge),
the failure itself (`ImportFailed`), and problems about the import's own parameters (`problem`,
`Unknown`: a value nothing maps, listed once for the file)."""

from __future__ import annotations

from dealcli.errors import ValidationFailed, word
from dealcli.i18n import ngettext
from dealcli.importing.values import ValueProblem


def about_of(exc) -> tuple | None:
    """(fields, template, values) of a problem about fields (errors.DealcliError.about,
    errors.Violation.of, problem()), or None: what the edge needs to word the fields as options."""
    about = getattr(exc, "about", None)
    if isinstance(about, tuple):
        return about
    if getattr(exc, "template", None) is not None:
        return exc.fields, exc.template, exc.values
    return None
def problem(fields: str | tuple, template: str, **values) -> ValueProblem:
    """A ValueProblem about the import's own parameters (`stage_map`, `key`): its text reads the
    plain field names; the edge words them as the options typed (ImportFailed.lines)."""
    fields = (fields,) if isinstance(fields, str) else tuple(fields)
    exc = ValueProblem(word(template, fields, values))
    exc.about = (fields, template, values)  # type: ignore[attr-defined]  # read back by about_of (getattr)
    return exc
class Unknown(ValueProblem):
    """A source value nothing maps (a stage, a pipeline): listed once for the whole file with the
    parameter that maps it (`fields`, worded as problem() does), not once per row."""

    def __init__(self, fields: str | tuple, template: str, once: str, **values):
        fields = (fields,) if isinstance(fields, str) else tuple(fields)
        super().__init__(word(template, fields, values))
        self.about = (fields, template, values)
        self.once = once
class Line(str):
    """One line of a failed import. As text it reads plain field names (`stage-map`); when its
    problem is about fields, worded(label) words them as the edge does (`--stage-map`)."""

    head: str = ""
    about: tuple | None = None
    tail: str = ""

    @classmethod
    def of(cls, head: str, text: str, about: tuple | None, tail: str = "") -> Line:
        line = cls(head + text + tail)
        line.head, line.about, line.tail = head, about, tail
        return line

    def worded(self, label=None) -> str:
        if label is None or self.about is None:
            return str(self)
        fields, template, values = self.about
        return self.head + word(template, fields, values, label) + self.tail
class ImportFailed(ValidationFailed):
    """Bad rows: one line each, then a count; nothing was written."""

    def __init__(self, problems: list[str], rows: int | None = None):
        self.problems = problems
        n = len(problems) if rows is None else rows
        super().__init__(ngettext("{n} bad row; nothing imported", "{n} bad rows; nothing imported", n).format(n=n))

    def lines(self, label=None) -> list[str]:
        return [p.worded(label) if isinstance(p, Line) else p for p in self.problems] + [self.message]
class Bad(Exception):
    """A problem with one value of one row; `more` holds the row's other problems."""

    def __init__(self, column: str | None, value, problem: str, line: int | None = None, about: tuple | None = None):
        super().__init__(problem)
        self.column, self.value, self.problem, self.line = column, value, problem, line
        self.about = about  # (fields, template, values) when `problem` is about the import's parameters
        self.more: list[Bad] = []
        self.once: str | None = None  # the same problem on many rows: listed once (unknown stages)

    @classmethod
    def of(cls, column: str | None, value, line: int | None, found) -> Bad:
        """A Bad from a problem found elsewhere (a Violation, a ValueProblem, an error)."""
        text = found.message if hasattr(found, "message") else str(found)
        return cls(column, value, text, line, about_of(found))

    def all(self) -> list[Bad]:
        return [self, *self.more]
def _combined(problems: list[Bad]) -> Bad:
    """One Bad carrying every problem of a row (each column once, in order)."""
    seen, unique = set(), []
    for b in problems:
        for one in b.all():
            k = (one.column, one.problem)
            if k not in seen:
                seen.add(k)
                unique.append(one)
    first = unique[0]
    first.more = unique[1:]
    return first
SHOWN_LINES = 5  # the first lines a problem of many rows names
def _problem(name: str, line: int, bad, tail: str = "") -> Line:
    """`file:line: column: value: problem` of a Bad (or a reading error with the same parts)."""
    return Line.of(f"{name}:{line}: {_cell(bad)}", bad.problem, getattr(bad, "about", None), tail)
def _cell(bad) -> str:
    """`column: 'value': ` of a problem (the value shortened to one line)."""
    where = f"{bad.column or '(row)'}: "
    if bad.value is not None:
        text = bad.value if isinstance(bad.value, str) else repr(bad.value)
        text = " ".join(text.split())
        if len(text) > 60:
            text = text[:57] + "..."
        where += f"{text!r}: "
    return where
