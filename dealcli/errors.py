"""Typed errors. Each class carries the exit code of ../shared/CLI.md; cli.main() is the one
place that turns them into a line on stderr and that exit code."""

from __future__ import annotations

from dataclasses import dataclass, field


class DealcliError(Exception):
    exit_code = 1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def lines(self) -> list[str]:
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

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        return f"{where}{self.message} [{self.rule}]"


class RuleViolation(DealcliError):
    """A change refused by a stage rule or a validation (exit 1)."""

    exit_code = 1

    def __init__(self, violations: list[Violation] | Violation):
        if isinstance(violations, Violation):
            violations = [violations]
        self.violations = violations
        super().__init__("; ".join(str(v) for v in violations))

    def lines(self) -> list[str]:
        return [str(v) for v in self.violations]


class ValidationFailed(DealcliError):
    """Validation found problems (exit 1), e.g. `check` or an import with bad rows."""

    exit_code = 1


class UsageError(DealcliError):
    exit_code = 2


class NotFound(DealcliError):
    exit_code = 3


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

    path: tuple
    message: str
    extra: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{dotted(self.path)}: {self.message}"


def dotted(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out
