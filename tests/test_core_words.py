"""Core functions take typed values and never name a command-line option; an error about a value
carries the field it is about, and the edge (cli.main) words it as the option typed (issue 11,
item 3). A caller that is not the command line reads plain field names."""

from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path

import pytest

from dealcli import recurring
from dealcli.errors import UsageError, Violation, word

CORE = Path(__file__).resolve().parent.parent / "dealcli"
EDGE = {"cli.py"}  # the edge; dealcli/commands/ is the edge too
CSS = {"views/html.py"}  # custom properties (--ink) of its style sheet, not options
WORDS = {"views/messages.py"}  # the command line's own notices (import hints name its options)
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]*")
TOKEN = re.compile(r"--[a-z][a-z-]*(=.*)?")  # one argument of a program (git), not a message


def _git_args(tree: ast.AST) -> set[int]:
    """ids of string constants that are arguments of a git/subprocess call (git's own options)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in ("git", "run", "Popen", "check_output"):
                for arg in ast.walk(node):
                    if isinstance(arg, ast.Constant):
                        out.add(id(arg))
        if isinstance(node, (ast.List, ast.Tuple)) and any(
                isinstance(e, ast.Constant) and e.value == "git" for e in node.elts):
            out.update(id(e) for e in ast.walk(node) if isinstance(e, ast.Constant))
    return out


def option_mentions(path: Path) -> list[str]:
    """`file:line: text` of each string in a core module that names a --option, except git's own
    options and a command shown in backticks (a suggestion of what to run)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _git_args(tree)
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                  and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    inner = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):  # an f-string: its text parts with {} for each value
            value = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in inner:
            value = node.value
        else:
            continue
        if id(node) in skip or id(node) in docstrings or TOKEN.fullmatch(value):
            continue
        text = re.sub(r"`[^`]*`", "", value)  # a command to run, quoted
        if OPTION.search(text):
            found.append(f"{path.relative_to(CORE)}:{node.lineno}: {value.strip()[:80]}")
    return found


def core_modules() -> list[Path]:
    return sorted(p for p in CORE.rglob("*.py")
                  if "commands" not in p.parts and p.name not in EDGE and str(p.relative_to(CORE)) not in CSS | WORDS)


def test_no_core_module_names_an_option():
    found = [hit for p in core_modules() for hit in option_mentions(p)]
    assert found == []


def test_the_check_sees_an_option_in_a_message(tmp_path):
    bad = CORE / "_probe_for_test.py"
    try:
        bad.write_text('def f(n):\n    raise ValueError(f"--count: {n} is bad")\n', encoding="utf-8")
        assert [h.split(":")[1] for h in option_mentions(bad)] == ["2"]
        bad.write_text('import subprocess\nsubprocess.run(["git", "commit", "--quiet"])\nX = "run `dealcli x --y`"\n'
                       'F = "--rebase" if X else "--no-rebase"\n', encoding="utf-8")
        assert option_mentions(bad) == []
        bad.write_text('def f(n):\n    return f"pass {n} or --dayfirst"\n', encoding="utf-8")
        assert len(option_mentions(bad)) == 1
    finally:
        bad.unlink()


def test_an_error_about_a_field_reads_plainly_to_a_core_caller(session):
    with pytest.raises(UsageError) as caught:
        recurring.build_rule(None, None, "FREQ=MONTHLY", dt.date(2026, 5, 1), until=dt.date(2026, 4, 1))
    assert caught.value.fields == ("until", "start")
    assert caught.value.message == "until 2026-04-01 is before start 2026-05-01"
    assert "--" not in caught.value.message


def test_the_edge_words_the_field_as_the_option_typed(repo, cli):
    out = cli("recurring", "add", "Rent", "--rrule", "FREQ=MONTHLY", "--start", "2026-05-01",
              "--until", "2026-04-01")
    assert out.returncode == 2
    assert "error: --until 2026-04-01 is before --start 2026-05-01" in out.stderr


def test_a_field_no_option_sets_keeps_its_plain_name():
    err = UsageError.about(("move_deals_to", "stage"), "{0} {x} and {1}", x="{1}")
    assert err.message == "move-deals-to {1} and stage"  # a value is never read as a template
    assert err.lines(lambda f: f"--{f}") == ["--move_deals_to {1} and --stage"]


def test_a_violation_about_a_field_is_worded_by_the_edge():
    v = Violation.of("stage-delete", "move_deals_to", "{0} {t!r} is the stage being deleted", "stage", "x", t="x")
    assert str(v) == "move-deals-to 'x' is the stage being deleted [stage-delete]"
    assert v.worded(lambda f: "--move-deals-to") == "--move-deals-to 'x' is the stage being deleted [stage-delete]"
    assert "about" not in v.as_dict() and v.as_dict()["message"] == v.message
    assert word("{0}", ("a_b",), {}) == "a-b"


if __name__ == "__main__":  # python tests/test_core_words.py [MODULE ...]: what is left to move
    import sys

    wanted = set(sys.argv[1:])
    for module in core_modules():
        if not wanted or str(module.relative_to(CORE)) in wanted:
            print("\n".join(option_mentions(module)) or f"{module.relative_to(CORE)}: clean", end="\n")


def test_the_labeller_words_options_arguments_and_root_options():
    from dealcli import cli

    cli._register()
    assert cli.labeller(["pipeline", "edit", "sales"])("move_deals_to") == "--move-deals-to"
    assert cli.labeller(["deal", "move", "x", "won"])("stage") == "STAGE"  # an argument
    assert cli.labeller(["deal", "add", "T"])("dir") == "--dir"  # a root option
    assert cli.labeller(["deal", "add", "T"])("no_such_thing") == "no-such-thing"
