"""Typed errors. Each class carries the exit code of ../shared/CLI.md; cli.main() is the one
place that turns them into a line on stderr and that exit code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

Label = Callable[[str], str]  # how a field is named to the reader (the edge: as the option typed)


def plain_label(field: str) -> str:
    """How a field is named to a caller that is not the command line: `move_deals_to` ->
    `move-deals-to`."""
    return field.replace("_", "-")


def word(template: str, fields: tuple[str, ...], values: dict[str, Any], label: Label = plain_label,
         translate: bool = True) -> str:
    """`template` (translated, dealcli/i18n.py) with {0}, {1}, ... replaced by the labels of
    `fields` and {name} by `values` (values are inserted, never read as a template)."""
    if translate:
        from dealcli.i18n import _

        template = _(template)
    from dealcli.i18n import english, worded

    # a value that is itself a message is worded the same way: Words with the same labels, i18n.Text translated
    values = {k: word(v.template, v.fields, v.values, label, translate) if isinstance(v, Words)
              else worded(v) if translate else english(v) for k, v in values.items()}
    return template.format(*(label(f) for f in fields), **values)


def shown(value: object, limit: int = 60) -> str:
    """A value inside a message, worded as the CLI prints values (never a Python repr): text
    quoted ('won'), numbers as their exact decimal text (18500.00), true/false, null, dates in
    ISO 8601, lists and mappings as the CLI's JSON; cut at `limit` characters."""
    import datetime as dt
    from decimal import Decimal

    if isinstance(value, str):
        text = repr(value)
    elif value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (int, Decimal)):
        text = format(value, "f") if isinstance(value, Decimal) and value.is_finite() else str(value)
    elif isinstance(value, (dt.datetime, dt.date)):
        text = value.isoformat()
    elif isinstance(value, (list, tuple, dict)):
        from dealcli.views import render

        text = render.json_text(render.jsonable(value))  # type: ignore[no-untyped-call]  # views are not strict
    else:
        text = str(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


@dataclass
class Words:
    """A text about fields (a notice, a saved reason), worded like DealcliError.about: by the edge
    as options, elsewhere with plain field names (str())."""

    fields: tuple[str, ...]
    template: str
    values: dict[str, Any]

    def worded(self, label: Label = plain_label) -> str:
        return word(self.template, self.fields, self.values, label)

    def __str__(self) -> str:
        return self.worded()

    def prefixed(self, before: str = "", after: str = "") -> Words:
        """The same text with plain `before`/`after` around it (never read as a template);
        prefixed again, the new words go around the old ones."""
        if "_before" in self.values:
            return Words(self.fields, self.template, {**self.values, "_before": before + self.values["_before"],
                                                      "_after": self.values["_after"] + after})
        from dealcli.i18n import _

        return Words(self.fields, "{_before}" + _(self.template) + "{_after}",
                     {**self.values, "_before": before, "_after": after})


class DealcliError(Exception):
    exit_code = 1
    fields: tuple[str, ...] = ()  # the core's parameters the error is about (see about())
    template: str | None = None
    values: dict[str, Any] = {}

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    @classmethod
    def about(cls, fields: str | tuple[str, ...], template: str, **values: Any) -> Self:
        """An error about values a caller gave, as data. `fields` names the core's parameters
        it is about (`count`, `move_deals_to`); `template` refers to them as {0}, {1}, ... and
        to `values` by name. The core never words an option: the edge (cli.main) words each
        field as the option or argument typed on the command line (`--move-deals-to`); any
        other caller reads the plain field name (`move-deals-to`).

            raise UsageError.about("count", "{0}: {n} is not a positive number", n=count)"""
        fields = (fields,) if isinstance(fields, str) else tuple(fields)
        err = cls(word(template, fields, values))
        err.fields, err.template, err.values = fields, template, values
        return err

    def words(self) -> Words | str:
        """The message as Words when the error is about fields, else as text."""
        return Words(self.fields, self.template, self.values) if self.template is not None else self.message

    def lines(self, label: Label | None = None) -> list[str]:
        """The message, one line per problem; `label(field)` words the fields (the edge)."""
        if label is not None and self.template is not None:
            return [word(self.template, self.fields, self.values, label)]
        return [self.message]


@dataclass
class Violation:
    """A rule refusal as data: which rule, which field, which value, and why."""

    rule: str
    message: str
    field: str | None = None
    value: object = None
    path: str | None = None
    line: int | None = None
    # a message about values a caller gave: the template and its parts (see DealcliError.about)
    about: tuple[tuple[str, ...], str, dict[str, Any]] | None = None  # (fields, template, values)

    @classmethod
    def of(cls, rule: str, fields: str | tuple[str, ...], template: str, field: str | None = None, value: object = None,
           **values: Any) -> Self:
        fields = (fields,) if isinstance(fields, str) else tuple(fields)
        # the message kept as data (check -f json) is English; worded() translates (dealcli/i18n.py)
        return cls(rule, word(template, fields, values, translate=False), field, value,
                   about=(fields, template, values))

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None and k != "about"}

    def worded(self, label: Label | None = None) -> str:
        from dealcli.i18n import language

        from dealcli.i18n import worded

        message = worded(self.message)
        if self.about is not None and (label is not None or language() != "en"):
            message = word(self.about[1], self.about[0], self.about[2], label or plain_label)
        where = ""
        if self.path:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        return f"{where}{message} [{self.rule}]"

    def __str__(self) -> str:
        return self.worded()


class RuleViolation(DealcliError):
    """A change refused by a stage rule or a validation (exit 1)."""

    exit_code = 1

    def __init__(self, violations: list[Violation] | Violation):
        if isinstance(violations, Violation):
            violations = [violations]
        self.violations = violations
        super().__init__("; ".join(str(v) for v in violations))

    def lines(self, label: Label | None = None) -> list[str]:
        return [v.worded(label) for v in self.violations]


class ValidationFailed(DealcliError):
    """Validation found problems (exit 1), e.g. `check` or an import with bad rows."""

    exit_code = 1


class UsageError(DealcliError):
    exit_code = 2


class NotFound(DealcliError):
    exit_code = 3


class Ambiguous(NotFound):
    """A reference that matches several records (exit 3, as NotFound); told apart by its class,
    never by its words, which are translated (dealcli/i18n.py)."""


class Conflict(DealcliError):
    exit_code = 4


class NotAllowed(DealcliError):
    """Refused by the acting user's access rights, or an identity that is not a user of a
    repository with users (exit 6; see docs/access.md)."""

    exit_code = 6


class CorruptData(DealcliError):
    """A file on disk that cannot be read or does not match the format (exit 5)."""

    exit_code = 5

    def __init__(self, path: str, message: str, line: int | None = None):
        self.path = str(path)
        self.line = line
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")


class MalformedInput(DealcliError):
    """Input that is not what it claims to be: an unreadable e-mail, chat update, form
    submission or call record (exit 65, EX_DATAERR of sysexits.h, which mail servers know)."""

    exit_code = 65


class TempFail(DealcliError):
    """An incoming item was neither processed nor kept (exit 75, EX_TEMPFAIL of sysexits.h: a
    mail server queues the message and delivers it again later)."""

    exit_code = 75


class ValueProblem(ValueError):
    """A value that cannot be read (import cells, dates); the message names what was expected."""


class PipeClosed(DealcliError):
    """The reader of stdout went away (`| head`): stop quietly."""

    exit_code = 0


@dataclass
class FieldError(Exception):
    """A value in a record is of the wrong type; `path` locates it inside the record."""

    path: tuple[str | int, ...]
    message: str
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        from dealcli.i18n import Text

        return Text("{path}: {message}", path=dotted(self.path), message=self.message)


def dotted(path: tuple[str | int, ...]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out
