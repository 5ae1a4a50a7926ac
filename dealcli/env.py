"""The one context through which the standard streams, the terminal and the process environment
reach the code (as httpie's `Environment` does): cli.main makes it once per run and installs it
with `using`; everything else asks `current()` instead of reading sys.std* or os.environ for
them. A test hands main (or `using`) an Environment over its own streams and variables instead
of replacing process globals.

Outside a run (a library call, a test of one function) `current()` describes the process as it
is at that moment, so behaviour is the same as reading sys.std* there."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TextIO

FALLBACK_WIDTH = 80  # a terminal whose size cannot be asked (shutil.get_terminal_size's default)


@dataclass
class Environment:
    stdin: TextIO
    stdout: TextIO
    stderr: TextIO
    environ: Mapping[str, str]

    @classmethod
    def of_process(cls) -> Environment:
        return cls(sys.stdin, sys.stdout, sys.stderr, os.environ)

    @staticmethod
    def is_tty(stream: TextIO) -> bool:
        try:
            return stream.isatty()
        except (AttributeError, ValueError):  # no such method, or a closed stream
            return False

    @property
    def stdin_isatty(self) -> bool:
        return self.is_tty(self.stdin)

    @property
    def stdout_isatty(self) -> bool:
        return self.is_tty(self.stdout)

    @property
    def stderr_isatty(self) -> bool:
        return self.is_tty(self.stderr)

    def width(self) -> int:
        """The terminal's width in columns: $COLUMNS when it is a positive number, else the size of
        the terminal stdout is, else 80 (what shutil.get_terminal_size answers)."""
        try:
            columns = int(self.environ.get("COLUMNS", ""))
        except ValueError:
            columns = 0
        if columns > 0:
            return columns
        try:
            columns = os.get_terminal_size(self.stdout.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
        return columns or FALLBACK_WIDTH

    def colour(self, stream: TextIO | None = None) -> bool:
        """Whether text for `stream` (stdout when None) is coloured: a terminal, no NO_COLOR
        with a value (no-color.org: NO_COLOR= leaves colour on), and TERM not `dumb`."""
        return (self.is_tty(stream or self.stdout) and not self.environ.get("NO_COLOR")
                and self.environ.get("TERM") != "dumb")


_current: ContextVar[Environment | None] = ContextVar("dealcli_environment", default=None)


def current() -> Environment:
    """The Environment of this run (installed by cli.main), else the process's own."""
    env = _current.get()
    return env if env is not None else Environment.of_process()


@contextmanager
def using(env: Environment) -> Iterator[Environment]:
    """Make `env` the current Environment while the block runs."""
    token = _current.set(env)
    try:
        yield env
    finally:
        _current.reset(token)
