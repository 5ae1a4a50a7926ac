"""The static half of tests/test_i18n_coverage.py: an AST scan of dealcli/ for texts that reach a
person and are not marked for the catalogue (docs/i18n.md). Kept in its own module so that
scripts and tests can run it (`python tests/scan_messages.py` lists what it finds).

What reaches a person, and so must be marked (`_()`, `ngettext()`, `pgettext()`, `N_()`, an
`X.about(fields, template)` template, `Violation.of(..., template)`, or `i18n.Text`):
- the message of every exception class dealcli defines (DealcliError and its subclasses, the
  ValueError subclasses whose text is shown: MoneyError, CardValueError, ...) and of FieldError;
- a Violation's message (what a rule refusal and `check` print);
- notices, alerts, prompts, confirmations, `typer.echo(..., err=True)`, writes to stderr;
- the `help=` of Typer options, arguments and commands, and the docstring of a command: those
  need no mark (cli.main translates the command tree, i18n.translate_help), but they must be
  literal, so the extraction, which walks the built tree, finds the same text.

A literal "reaches a person" when its words (the text outside `{placeholders}`) hold at least two
words of letters: `"{path}:{line}: {message}"` is format only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKS = {"_", "N_", "ngettext", "pgettext", "Text"}  # the markers of dealcli/i18n.py
WORDS = re.compile(r"[A-Za-z]{2,}")
PROBLEM = re.compile(r"problem|reason|_why$|notices$|^not_a_")  # functions that return the text of a problem
COLLECTED = re.compile(r"problems|violations|errors|refused|notices")  # lists of texts for a person
# Exception classes dealcli defines whose text is never shown: control flow inside one module.
SILENT = {"Unanswerable", "Unsupported", "_DryRun", "_TimedOut", "_Untrusted", "Bad", "BadRecord"}


def words(node) -> str | None:
    """The literal text of `node` when it is an unmarked sentence: a str constant, an f-string,
    `"..." + x`, `"..." % x`, `"...".format(...)`, `"...".join(...)`' s separator is not; None else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif isinstance(node, ast.JoinedStr):
        text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        text = " ".join(t for t in (words(node.left), words(node.right)) if t)
    elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"
          and not isinstance(node.func.value, ast.Call)):
        text = words(node.func.value) or ""
    elif isinstance(node, ast.IfExp):
        text = " ".join(t for t in (words(node.body), words(node.orelse)) if t)
    else:
        return None
    bare = re.sub(r"\{[^{}]*\}", " ", text)
    bare = re.sub(r"\S*[/.$=<>_]\S*", " ", bare)  # paths, options' values, identifiers are not words
    return text if len(WORDS.findall(bare)) >= 2 else None


def _name(func) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def error_classes(trees: dict[Path, ast.Module]) -> set[str]:
    """The exception classes of dealcli (every subclass of an exception, transitively)."""
    bases: dict[str, set[str]] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases.setdefault(node.name, set()).update(_name(b) for b in node.bases)
    found = {"DealcliError", "FieldError", "ValueProblem"}
    roots = {"Exception", "ValueError"}
    changed = True
    while changed:
        changed = False
        for name, of in bases.items():
            if name not in found and (of & (found | roots)) and name not in SILENT:
                found.add(name)
                changed = True
    return found - {"Violation", "Words"}


def _help_literal(node) -> bool:
    """A help text fixed when the command is defined (a literal or a module constant), which the
    extraction finds in the built command tree."""
    return isinstance(node, (ast.Constant, ast.Name))


def scan(tree: ast.Module, errors: set[str]) -> list[tuple[int, str]]:
    """(line, what) for each unmarked text of `tree` that reaches a person."""
    found: list[tuple[int, str]] = []

    def flag(node, what: str) -> None:
        if isinstance(node, (ast.List, ast.Tuple)):  # a list of problems, one line each
            for item in node.elts:
                flag(item, what)
            return
        text = words(node)
        if text is not None:
            found.append((node.lineno, f"{what}: {text[:60]!r}"))

    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and PROBLEM.search(node.name):  # a function giving a problem's text
            for inner in ast.walk(node):
                if isinstance(inner, ast.Return) and inner.value is not None:
                    flag(inner.value, f"{node.name}() returns")
        if isinstance(node, ast.FunctionDef):
            for deco in node.decorator_list:  # a command's docstring is its help: literal, extracted
                call = deco if isinstance(deco, ast.Call) else None
                if call is not None and _name(call.func) in ("command", "callback"):
                    for kw in call.keywords:
                        if kw.arg in ("help", "short_help", "epilog") and not _help_literal(kw.value):
                            found.append((node.lineno, f"@{_name(call.func)}({kw.arg}=...) not a literal"))
            continue
        if not isinstance(node, ast.Call):
            continue
        name, args = _name(node.func), node.args
        if name in MARKS:
            continue
        if name in ("Option", "Argument", "Typer", "add_typer", "command", "callback"):
            for kw in node.keywords:
                if kw.arg in ("help", "short_help", "epilog") and not _help_literal(kw.value):
                    found.append((node.lineno, f"{name}({kw.arg}=...) not a literal (the extraction cannot see it)"))
            continue
        if name == "Violation":
            for arg in args[1:2] + [k.value for k in node.keywords if k.arg == "message"]:
                flag(arg, "Violation message")
        elif name == "of" and isinstance(node.func, ast.Attribute) and _name(node.func.value) == "Violation":
            for arg in args[2:3]:
                flag(arg, "Violation.of template")
        elif name in ("problem", "Unknown") and len(args) > 1:  # (fields, template): extracted by keyword
            if not isinstance(args[1], ast.Constant):
                flag(args[1], f"{name}(...) template built at run time")
        elif name in errors:
            for arg in args + [k.value for k in node.keywords if k.arg not in ("fields", "path", "line")]:
                flag(arg, f"{name}(...) message")
        elif name == "about" and len(args) > 1:
            if isinstance(args[1], ast.JoinedStr) or (isinstance(args[1], ast.BinOp)):
                found.append((node.lineno, ".about(...) template built at run time (cannot be extracted)"))
        elif name.startswith(("notice", "alert")) and isinstance(node.func, ast.Attribute):
            for arg in args[:1]:
                flag(arg, f".{name}(...)")
        elif name in ("confirm", "prompt", "secho"):
            for arg in args[:1]:
                flag(arg, f"{name}(...)")
        elif name in ("append", "insert") and isinstance(node.func, ast.Attribute) and COLLECTED.search(
                ast.unparse(node.func.value)):  # problems.append(...): the lines of a refusal or of `check`
            for arg in args[-1:]:
                flag(arg, f"{ast.unparse(node.func.value)}.{name}(...)")
        elif name == "echo":  # stdout's texts for a person too (data goes through views/render.py)
            for arg in args[:1]:
                flag(arg, "echo(...)")
        elif name == "write" and isinstance(node.func, ast.Attribute) and "err" in ast.unparse(node.func.value):
            for arg in args[:1]:
                flag(arg, "stderr.write(...)")
        elif name == "print" and any(k.arg == "file" and "err" in ast.unparse(k.value) for k in node.keywords):
            for arg in args[:1]:
                flag(arg, "print(..., file=stderr)")
    return found


def scan_tree(root: Path = ROOT / "dealcli") -> list[str]:
    """Every finding under `root`, as `path: what` (no line numbers: they move with every edit)."""
    trees = {p: ast.parse(p.read_text(encoding="utf-8")) for p in sorted(root.rglob("*.py"))}
    errors = error_classes(trees)
    return [f"{p.relative_to(ROOT)}: {what}" for p, tree in trees.items() for _line, what in scan(tree, errors)]


if __name__ == "__main__":
    for line in scan_tree():
        print(line)
