"""The Russian catalogue covers every user-facing message (issue 26's "Done when", docs/i18n.md),
found three ways, so that a message nobody marked, a msgid nobody translated and a sentence the
framework (Typer, its copy of click, pydantic) words itself are all caught:

(a) a static scan of dealcli/ (tests/scan_messages.py) for texts that reach a person unmarked;
(b) every msgid of the extracted template has a Russian msgstr, neither empty nor fuzzy, and the
    compiled catalogue gives it;
(c) through the installed CLI under LANG=ru_RU.UTF-8, a corpus of failing commands and help pages
    whose output holds no English sentence of dealcli's catalogue, of click's source or of
    pydantic's error messages, and holds Cyrillic."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from scan_messages import scan_tree

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "dealcli" / "locale" / "ru" / "LC_MESSAGES" / "dealcli.po"
RU = {"LANG": "ru_RU.UTF-8", "LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": "", "COLUMNS": "100"}

# What the scan finds that is not a sentence to translate, each with why.
NOT_WORDS: list[str] = [
]


# -- (a) the static scan ---------------------------------------------------------------------------
def test_no_text_that_reaches_a_person_is_left_unmarked():
    offences = scan_tree()
    new = [o for o in offences if o not in NOT_WORDS]
    assert not new, f"{len(new)} unmarked text(s) (mark them with _() / N_(), docs/i18n.md):\n" + "\n".join(new)
    assert not set(NOT_WORDS) - set(offences), "an allowed text is gone: drop it from NOT_WORDS"


def test_the_scan_finds_what_it_looks_for():
    import ast

    from scan_messages import error_classes, scan

    source = textwrap.dedent('''
        class Odd(UsageError): pass
        raise NotFound(f"deal {x} not found")
        s.notice("hello there")
        raise CorruptData(path, "bad file")
        raise UsageError(_("marked sentence"))
        v = Violation("rule", f"stage {s!r} is gone", "stage")
        raise Odd("so odd " + x)
        typer.echo("something went wrong", err=True)
        def value_problem(x):
            return f"expected a date, got {x}"
        x = typer.Option("--x", help=HELP + " more words")
        raise UsageError("{path}:{line}: {message}".format(path=p, line=1, message=m))
        v = Violation.of("rule", (), N_("marked {x}"), x=1)
    ''')
    tree = ast.parse(source)
    dealcli = {p: ast.parse(p.read_text(encoding="utf-8")) for p in (ROOT / "dealcli").rglob("*.py")}
    found = scan(tree, error_classes({**dealcli, Path("x"): tree}))
    assert sorted(line for line, _what in found) == [3, 4, 5, 7, 8, 9, 11, 12]  # 13: format only


# Messages whose Russian is the English text (names, codes).
SAME_IN_RUSSIAN = {
    "git {join_args}: {out_stderr_decode_errors}",  # the command git ran and what git said
    "remote: {reason}",  # git's own prefix of what the remote said
}


# -- (b) every msgid has a Russian msgstr -----------------------------------------------------------
def test_every_extracted_message_is_translated_and_compiled():
    import gettext

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from test_i18n import _messages_script

    template = _messages_script().extract()
    with PO.open("rb") as f:
        po = read_po(f, locale="ru")
    missing, fuzzy = [], []
    for m in template:
        if not m.id:
            continue
        found = po.get(m.id, context=m.context)
        strings = found.string if found is not None else None
        strings = list(strings) if isinstance(strings, (list, tuple)) else [strings]
        if found is not None and found.fuzzy:
            fuzzy.append(m.id)
        elif found is None or not all(strings):
            missing.append(m.id)
    assert not missing and not fuzzy, f"untranslated: {missing[:30]}; fuzzy: {fuzzy[:30]}"
    import io

    compiled = io.BytesIO()
    write_mo(compiled, po)
    compiled.seek(0)
    catalogue = gettext.GNUTranslations(compiled)
    for m in template:
        if m.id and not m.context and not isinstance(m.id, (list, tuple)):
            words = re.findall(r"[A-Za-z]{2,}", re.sub(CODE, " ", m.id))
            assert catalogue.gettext(m.id) != m.id or len(words) < 2 or m.id in SAME_IN_RUSSIAN, m.id


# -- (c) through the installed CLI ------------------------------------------------------------------
# Placeholders, commands, options, paths and names split a sentence: they are not words.
CODE = r"\{[^{}]*\}|%\(?\w*\)?[sdr]|\n|`[^`]*`|dealcli(?: [\w-]+)*|--?[\w-]+|\S*(?:[/=|$<>]|\w_\w)\S*|\[[\w-]+\]"


def _fragments(text: str) -> list[str]:
    """The parts of an English sentence that stay English in any output using it: the text between
    its placeholders, each of two words or more."""
    out = []
    code = CODE
    for part in re.split(code, text):
        part = part.strip(" .,:;()[]'\"`-")
        if len(part) >= 10 and re.search(r"[a-z]{2,} [a-z]{2,}", part):  # words said one after another
            out.append(part)
    return out


def english_sentences() -> set[str]:
    """Every English sentence that may reach a person: dealcli's texts and msgids, the literal texts of the
    click copy inside Typer and of Typer, and pydantic's error messages (Typer's value parser)."""
    import ast
    import importlib.util

    from test_i18n import _messages_script

    found: set[str] = set()
    for path in (ROOT / "dealcli").rglob("*.py"):  # marked or not: an unmarked sentence is English too
        tree = ast.parse(path.read_text(encoding="utf-8"))
        inner = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                found.update(_fragments("".join(v.value if isinstance(v, ast.Constant) else "{}"
                                                for v in node.values)))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in inner:
                found.update(_fragments(node.value))
    for m in _messages_script().extract():
        for text in m.id if isinstance(m.id, (list, tuple)) else [m.id]:
            found.update(_fragments(text))
    typer_dir = Path(importlib.util.find_spec("typer").origin).parent
    for path in [*typer_dir.glob("_click/*.py"), *typer_dir.glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) < 200:
                found.update(_fragments(node.value))
    import pydantic_core

    for error in pydantic_core._pydantic_core.list_all_errors():
        found.update(_fragments(error["message_template_python"]))
    return found


# Single words of the framework that are English wherever they appear.
FRAMEWORK_WORDS = ("Usage:", "Error:", "Options:", "Arguments:", "Commands:", "[required]", "[default:", "Try '")

CARD = """\
fields:
  - {name: budget, type: money}
  - {name: site, type: url}
  - {name: segment, type: enum, values: [smb, mid]}
"""


@pytest.fixture
def corpus(cli, tmp_path):
    """(command, output) of commands that fail or explain themselves, run as real processes."""
    (tmp_path / "card.yaml").write_text(CARD, encoding="utf-8")
    cli.ok("pipeline", "edit", "sales", "--card", str(tmp_path / "card.yaml"))
    deal = cli.ok("deal", "add", "Поставка", "--amount", "1000").strip()
    cli.ok("deal", "add", "Обучение", "--company", "Рога и копыта")
    csv = tmp_path / "deals.csv"
    csv.write_text("title,amount\nСервер,100\n", encoding="utf-8")
    cli.ok("export", "--all", "--out", str(tmp_path / "bundle"))
    cli.ok("init", str(tmp_path / "empty"))
    commands = [
        ("deal", "add", "X", "--amount", "abc"),  # an amount that is not a number
        ("filter", "--limit", "x"),  # Typer's value parser
        ("filter", "--limit", "-5"),
        ("dael",),  # an unknown command with a near miss
        ("deal", "ad", "X"),
        ("deal", "show"),  # a missing argument
        ("deal", "add", "X", "--zzz"),  # an unknown option
        ("deal", "add", "X", "--amount"),  # an option without its value
        ("deal", "edit", deal, "--set", "budget=abc"),  # custom field type errors
        ("deal", "edit", deal, "--set", "site=zz"),
        ("deal", "edit", deal, "--set", "segment=big"),
        ("deal", "reopen", deal),  # rule refusals
        ("pipeline", "delete", "sales"),
        ("deal", "move", deal, "nowhere"),
        ("import", str(csv), "--dry-run"),
        ("import", "--all", str(tmp_path / "bundle")),  # into a repository that is not empty
        ("import", "--all", str(tmp_path / "bundle"), "--dir", str(tmp_path / "empty"), "--dry-run"),
        ("-h",), ("deal", "-h"), ("deal", "add", "--help"), ("deal", "move", "-h"), ("filter", "-h"),
        ("check", "-h"), ("import", "-h"), ("report", "-h"),
    ]
    out = [(" ".join(c), cli.proc(*c, env=RU)) for c in commands]
    # a broken repository: a dangling link, a stage that is not in the pipeline, a bad custom value
    path = next((cli.root / "deals").rglob(f"{deal}.yaml"))
    text = path.read_text(encoding="utf-8").replace("stage: new", "stage: nowhere")
    text = text.replace("company: null", "company: c0nowhere0").replace("fields: {}", "fields: {budget: abc}")
    path.write_text(text, encoding="utf-8")
    out.append(("check", cli.proc("check", env=RU)))
    return [(c, p.stdout + p.stderr) for c, p in out]



def test_the_cli_speaks_russian_on_every_path(corpus):
    sentences = sorted(english_sentences(), key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(s) for s in sentences))
    english = []
    for command, output in corpus:
        for line in output.splitlines():
            found = pattern.search(line) or next((w for w in FRAMEWORK_WORDS if w in line), None)
            if found:
                english.append(f"dealcli {command}: {line.strip()}")
        if not re.search("[а-яА-ЯёЁ]", output):
            english.append(f"dealcli {command}: no Russian at all: {output[:200]!r}")
    assert not english, f"{len(english)} English line(s) under LANG=ru_RU.UTF-8:\n" + "\n".join(english)
