"""Issue 27: the streams, the terminal and the variables reach dealcli through one injected
env.Environment (dealcli/env.py), so a run can be given its own without touching sys.std*."""

from __future__ import annotations

import io
import os
import sys

import pytest

from dealcli import env as environment
from dealcli.env import Environment


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_width_is_columns_else_the_terminal_else_80():
    assert Environment(io.StringIO(), Tty(), io.StringIO(), {"COLUMNS": "93"}).width() == 93
    for columns in ("", "0", "-5", "wide"):  # not a positive number: ask the terminal; a StringIO has none
        assert Environment(io.StringIO(), Tty(), io.StringIO(), {"COLUMNS": columns}).width() == 80
    assert Environment(io.StringIO(), io.StringIO(), io.StringIO(), {}).width() == 80


def test_colour_only_on_a_terminal_without_no_color_or_a_dumb_term():
    assert Environment(io.StringIO(), Tty(), io.StringIO(), {}).colour()
    assert not Environment(io.StringIO(), io.StringIO(), io.StringIO(), {}).colour()  # a pipe or a file
    assert not Environment(io.StringIO(), Tty(), io.StringIO(), {"NO_COLOR": "1"}).colour()
    assert Environment(io.StringIO(), Tty(), io.StringIO(), {"NO_COLOR": ""}).colour()  # no-color.org: not empty
    assert not Environment(io.StringIO(), Tty(), io.StringIO(), {"TERM": "dumb"}).colour()
    both = Environment(io.StringIO(), io.StringIO(), Tty(), {})
    assert both.colour(both.stderr) and not both.colour() and both.stderr_isatty and not both.stdout_isatty


def test_a_closed_stream_is_no_terminal():
    closed = io.StringIO()
    closed.close()
    assert not Environment(closed, closed, closed, {}).stdin_isatty


def test_current_is_the_installed_one_and_else_the_process():
    mine = Environment(io.StringIO(), io.StringIO(), io.StringIO(), {})
    with environment.using(mine):
        assert environment.current() is mine
    now = environment.current()
    assert now is not mine and now.stdout is sys.stdout and now.environ is os.environ


def test_a_run_talks_to_the_streams_it_is_given_and_not_to_sys(repo, monkeypatch, capsys):
    """cli.main(argv, env=...) reads stdin and writes stdout and stderr through `env`: a comment
    read from that stdin, the id printed to that stdout, an error to that stderr; the process's
    own streams stay silent."""
    from dealcli import cli

    monkeypatch.chdir(repo)
    monkeypatch.setenv("DEALCLI_USER", "tester@example.com")
    monkeypatch.setenv("DEALCLI_NOW", "2026-03-10T12:00:00+00:00")
    monkeypatch.setenv("NO_COLOR", "1")

    def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with pytest.raises(SystemExit) as done:
            cli.main(list(argv), env=Environment(io.StringIO(stdin), out, err, os.environ))
        return done.value.code, out.getvalue(), err.getvalue()

    app = cli._app  # put back what the runs register (as conftest's in-process runner does)
    saved = (list(app.registered_commands), list(app.registered_groups), set(cli._registered))
    monkeypatch.setattr(app, "registered_commands", saved[0][:])
    monkeypatch.setattr(app, "registered_groups", saved[1][:])
    monkeypatch.setattr(cli, "_registered", set(saved[2]))
    code, out, err = run("deal", "add", "Given streams")
    deal = out.strip()
    assert code == 0 and deal and "has no next step" in err  # the nudge, on the given stderr
    code, out, err = run("deal", "comment", deal, "-", stdin="from the given stdin\n")
    assert code == 0 and out.strip() == deal
    code, out, _ = run("deal", "show", deal, "-f", "json")
    assert "from the given stdin" in out
    code, out, err = run("deal", "show", "nosuchdeal")
    assert code == 3 and out == "" and err.startswith("dealcli: error: ")
    assert capsys.readouterr() == ("", "")
