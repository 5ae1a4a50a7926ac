"""dealcli in English and Russian (issue 26 item 7, docs/i18n.md): the language comes from the
environment (LANGUAGE, LC_ALL, LC_MESSAGES, LANG) or the repository's `language:` setting; the
Russian catalogue covers every marked message; machine formats never change with the language."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dealcli import i18n

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "dealcli" / "locale" / "ru" / "LC_MESSAGES" / "dealcli.po"
MO = PO.with_suffix(".mo")


@pytest.fixture
def lang(monkeypatch):
    """Set the environment's locale variables (the others removed) and choose again."""

    def use(**env):
        for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
            monkeypatch.delenv(var, raising=False)
        for var, value in env.items():
            monkeypatch.setenv(var, value)
        i18n.reset()

    yield use
    i18n.reset()


@pytest.mark.parametrize("env, expected", [
    ({}, "en"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({"LANG": "ru_RU.UTF-8"}, "ru"),
    ({"LANG": "de_DE.UTF-8"}, "en"),
    ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "ru_RU.UTF-8"}, "ru"),
    ({"LANG": "ru_RU.UTF-8", "LC_ALL": "C"}, "en"),
    ({"LANG": "ru_RU.UTF-8", "LC_ALL": "en_GB.UTF-8"}, "en"),
    ({"LANG": "en_US.UTF-8", "LANGUAGE": "ru:en"}, "ru"),
    ({"LANG": "en_US.UTF-8", "LANGUAGE": "de:ru"}, "ru"),
    ({"LC_ALL": "ru_UA.UTF-8@euro"}, "ru"),
])
def test_the_environment_chooses_in_gettexts_order(lang, env, expected):
    lang(**env)
    assert i18n.language() == expected


def test_the_repository_setting_wins_over_the_environment(lang):
    lang(LANG="en_US.UTF-8")
    i18n.use_repository({"language": "ru"})
    assert i18n.language() == "ru"
    lang(LANG="ru_RU.UTF-8")
    i18n.use_repository({"language": "en"})
    assert i18n.language() == "en"
    i18n.use_repository({})  # no setting: the environment's choice stays
    assert i18n.language() == "en"


def test_english_is_the_message_itself_and_russian_comes_from_the_catalogue(lang):
    lang(LANG="C")
    assert i18n._("error: {message}") == "error: {message}"
    assert i18n.ngettext("{n} deal", "{n} deals", 2) == "{n} deals"
    lang(LANG="ru_RU.UTF-8")
    assert i18n._("error: {message}") == "ошибка: {message}"
    assert i18n._("no message of this text") == "no message of this text"  # unknown: as written


def test_the_compiled_catalogue_is_the_po_file():
    """The wheel ships dealcli.mo beside dealcli.po: `make messages` (pybabel compile) keeps them equal."""
    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    def entries(catalogue, keep=lambda m: True) -> dict:
        return {(m.context, tuple(m.id) if isinstance(m.id, (list, tuple)) else m.id):
                tuple(m.string) if isinstance(m.string, (list, tuple)) else m.string
                for m in catalogue if m.id and keep(m)}

    with PO.open("rb") as f:
        po = entries(read_po(f), lambda m: m.string and not m.fuzzy)
    with MO.open("rb") as f:
        mo = entries(read_mo(f))
    assert mo == po, "dealcli.mo is stale: run `make messages` (or pybabel compile -d dealcli/locale -D dealcli)"


@pytest.mark.parametrize("spec, en, ru", [
    ("%B %Y", "December 2026", "декабрь 2026"),
    ("%d %B", "07 December", "07 декабря"),
    ("%-d %B %Y", "7 December 2026", "7 декабря 2026"),
    ("%b", "Dec", "дек."),
    ("%A, %d.%m.%Y", "Monday, 07.12.2026", "понедельник, 07.12.2026"),
    ("%Y-%m-%d 100%%", "2026-12-07 100%", "2026-12-07 100%"),
])
def test_month_and_day_names_follow_the_language(lang, spec, en, ru):
    when = dt.datetime(2026, 12, 7, 9, 30)
    lang(LANG="C")
    assert i18n.month_name(when, spec) == en
    lang(LANG="ru_RU.UTF-8")
    assert i18n.month_name(when, spec) == ru


@pytest.mark.parametrize("text, ru", [
    ("1800.00", "1\u00a0800,00"), ("-1234567.5", "-1\u00a0234\u00a0567,5"), ("12", "12"), ("0.125", "0,125"),
    ("", ""), ("n/a", "n/a"),
])
def test_numbers_in_views_follow_the_language(lang, text, ru):
    lang(LANG="C")
    assert i18n.number(text) == text
    lang(LANG="ru_RU.UTF-8")
    assert i18n.number(text) == ru


# -- the catalogue covers every message ----------------------------------------------------------
def _messages_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("dealcli_messages", ROOT / "scripts" / "messages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fields(text: str) -> set[str]:
    import string

    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None}


def test_every_message_has_a_russian_translation():
    """Extracted as `make messages` does (babel.cfg: every _()/ngettext()/N_() message, every
    X.about template, the help of every command and option): none lacks a Russian msgstr."""
    from babel.messages.pofile import read_po

    messages = _messages_script()
    template = messages.extract()
    assert len(template) > 900  # help, errors, notices, headings
    with PO.open("rb") as f:
        catalogue = read_po(f, locale="ru")
    missing = messages.untranslated(template, catalogue)
    assert not missing, f"{len(missing)} message(s) without a Russian translation (run `make messages`, " \
                        f"then translate them in {PO.relative_to(ROOT)}): {missing[:20]}"


def test_translations_use_only_the_placeholders_of_their_message():
    """A msgstr may drop a placeholder (an English plural ending) but never invent one: .format()
    would raise KeyError at the moment the message is shown."""
    from babel.messages.pofile import read_po

    with PO.open("rb") as f:
        catalogue = read_po(f, locale="ru")
    wrong = []
    for m in catalogue:
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, (list, tuple)) else [m.id]
        strings = m.string if isinstance(m.string, (list, tuple)) else [m.string]
        allowed = set().union(*(_fields(i) for i in ids))
        for s in strings:
            if not _fields(s) <= allowed:
                wrong.append((ids[0], s))
    assert not wrong


# The constructors whose first argument (second for these) is a message for a person.
_MESSAGE_SECOND = {"CorruptData", "TooLarge", "JournalDamaged"}
_ERRORS = {"DealcliError", "UsageError", "NotFound", "Ambiguous", "Conflict", "NotAllowed", "ValidationFailed",
           "MalformedInput", "TempFail", "CheckFailed", "GitFailed", "ImportFailed", "InputError", "MissingLibrary",
           "Kept", "ValueProblem", "DateError", "MoneyError", "RuleError", "CardValueError", "DateOrderError",
           "TooBig", "AmbiguousDates", "MixedDates", *_MESSAGE_SECOND}


def _unmarked(tree) -> list[tuple[int, str]]:
    import ast

    def literal(node) -> bool:  # a text literal a person reads (not one marked by _(), N_())
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return sum(c.isalpha() for c in node.value) >= 2
        if isinstance(node, ast.JoinedStr):
            return any(literal(v) for v in node.values)
        if isinstance(node, ast.BinOp):
            return literal(node.left) or literal(node.right)
        return False

    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        args = node.args
        if name in _ERRORS:
            at = 1 if name in _MESSAGE_SECOND else 0
            if len(args) > at and literal(args[at]):
                found.append((node.lineno, f"{name}(...) with an unmarked message"))
        elif name in ("notice", "alert") and isinstance(func, ast.Attribute) and args and literal(args[0]):
            found.append((node.lineno, f".{name}(...) with an unmarked message"))
        elif name == "about" and len(args) > 1 and isinstance(args[1], ast.JoinedStr):
            found.append((node.lineno, ".about(...) with an f-string template (cannot be extracted)"))
        elif (name == "of" and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
              and func.value.id == "Violation" and len(args) > 2 and literal(args[2])):
            found.append((node.lineno, "Violation.of(...) with a template not marked N_()"))
        elif name in ("echo", "confirm", "prompt") and args and literal(args[0]):
            found.append((node.lineno, f"{name}(...) of an unmarked text"))
    return found


def test_no_user_facing_message_is_left_unmarked():
    """An AST scan of dealcli/: every error raised with a message, every notice and alert, every
    X.about template and Violation.of template is marked for the catalogue, so the test above sees
    it. (Help texts need no mark: cli.main translates the command tree, i18n.translate_help.
    Violation(...) built directly keeps English: its message is data, e.g. in `check -f json`.)"""
    import ast

    offences = []
    for path in sorted((ROOT / "dealcli").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        offences += [f"{path.relative_to(ROOT)}: {what}" for _line, what in _unmarked(tree)]
    assert sorted(offences) == sorted(NOT_WORDS), "\n".join(o for o in offences if o not in NOT_WORDS)


# What the scan finds that is not a sentence to translate, each with why.
NOT_WORDS = [
    "dealcli/cli.py: echo(...) of an unmarked text",  # `dealcli 0.1.0`: the program's name and version
    "dealcli/commands/pipeline.py: echo(...) of an unmarked text",  # `dealcli: {problem}`, the problem translated
]


def test_the_scan_finds_what_it_looks_for():
    import ast

    tree = ast.parse('raise NotFound(f"deal {x} not found")\ns.notice("hello there")\n'
                     'raise CorruptData(path, "bad file")\nraise UsageError(_("marked"))\n'
                     'raise UsageError.about("count", f"{{0}}: {n}")\n')
    assert [line for line, _what in _unmarked(tree)] == [1, 2, 3, 5]


# -- through the CLI -------------------------------------------------------------------------------
RU = {"LANG": "ru_RU.UTF-8", "LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": ""}
EN = {"LANG": "C.UTF-8", "LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": ""}


def test_an_error_in_russian_keeps_its_exit_code(cli):
    en = cli("deal", "show", "NOPE", env=EN)
    ru = cli("deal", "show", "NOPE", env=RU)
    assert en.returncode == ru.returncode == 3
    assert en.stderr == "dealcli: error: deal 'NOPE': no such deal\n"
    assert ru.stderr == "dealcli: ошибка: сделка 'NOPE': не найдено\n"
    usage = cli("deal", "add", "", env=RU)  # a core message, raised in the language of the run
    assert usage.returncode == 2 and usage.stderr == "dealcli: ошибка: сделке нужно название\n"


def test_a_real_process_speaks_russian(cli):
    proc = cli.proc("deal", "move", "NOPE", "won", env={**RU, "LANG": "ru_RU.utf8"})
    assert proc.returncode == 3 and "не найдено" in proc.stderr


def test_machine_formats_do_not_change_with_the_language(cli):
    deal = cli.ok("deal", "add", "Поставка серверов", "--amount", "125000.50", "--close-date", "2026-12-07",
                  env=EN).strip()
    cli.ok("activity", "add", deal, "--subject", "Позвонить клиенту", "--type", "call", "--due", "2026-03-12 10:00",
           env=EN)
    for args in [("deal", "show", deal), ("filter",), ("board",), ("agenda",), ("calendar", "--month", "2026-12"),
                 ("report",), ("pipeline", "show", "sales"), ("activity", "list")]:
        for fmt in ("json", "jsonl", "csv", "tsv", "yaml", "ids"):
            en = cli(*args, "-f", fmt, env=EN)
            if en.returncode == 2 and "-f" in en.stderr:  # a format this command does not offer
                continue
            ru = cli(*args, "-f", fmt, env=RU)
            assert (ru.returncode, ru.stdout) == (en.returncode, en.stdout), (args, fmt)
    en, ru = cli.ok("agenda", "-f", "ics", env=EN), cli.ok("agenda", "-f", "ics", env=RU)
    assert en == ru and "Позвонить клиенту" in en


def test_tables_are_headed_in_russian_and_csv_keeps_the_field_names(cli):
    cli.ok("deal", "add", "Поставка серверов", "--amount", "1000")
    table = cli.ok("filter", env=RU)
    assert table.splitlines()[0].split()[:3] == ["id", "название", "стадия"]
    assert cli.ok("filter", "-f", "csv", env=RU).startswith("id,title,pipeline,stage,")
    assert cli.ok("filter", env=EN).splitlines()[0].split()[:3] == ["id", "title", "stage"]
    assert "1\u00a0000,00" in table and "1000.00" in cli.ok("filter", env=EN)  # CLDR's digits in a view only
    assert "Отчёт: 1 сделка" in cli.ok("report", env=RU)


def test_help_in_russian(cli):
    ru = cli.ok("deal", "move", "--help", env=RU)
    assert "Переместить сделки на стадию." in ru
    assert "Id или название целевой стадии" in ru
    en = cli.ok("deal", "move", "--help", env=EN)
    assert "Move deals to a stage." in en and "Переместить" not in en


def test_the_repository_setting_wins_over_the_environment_through_the_cli(cli):
    config = cli.root / "dealcli.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "language: ru\n", encoding="utf-8")
    assert cli.ok("check", env=EN) == ""  # the schema knows the setting
    proc = cli("deal", "show", "NOPE", env=EN)
    assert proc.returncode == 3 and proc.stderr == "dealcli: ошибка: сделка 'NOPE': не найдено\n"


def test_a_month_name_in_a_template_title_is_russian(cli):
    config = cli.root / "dealcli.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "language: ru\n", encoding="utf-8")
    cli.ok("recurring", "add", "Абонентское обслуживание, {date:%B %Y}", "--every", "month",
           "--start", "2026-12-07", "--amount", "500", now="2026-12-01T08:00:00+00:00")
    cli.ok("recurring", "add", "Отчёт на {date:%-d %B}", "--every", "month",
           "--start", "2026-12-07", now="2026-12-01T08:00:00+00:00")
    ids = cli.ok("recurring", "run", now="2026-12-07T09:00:00+00:00").split()
    titles = sorted(cli.ok("filter", "-f", "csv", "--columns", "title", now="2026-12-07T09:00:00+00:00")
                    .splitlines()[1:])
    assert len(ids) == 2
    assert titles == ["\"Абонентское обслуживание, декабрь 2026\"", "Отчёт на 7 декабря"]


def test_a_month_name_in_english_is_unchanged(cli):
    cli.ok("recurring", "add", "Service {date:%B %Y}", "--every", "month", "--start", "2026-12-07",
           now="2026-12-01T08:00:00+00:00", env=EN)
    cli.ok("recurring", "run", now="2026-12-07T09:00:00+00:00", env=EN)
    assert cli.ok("filter", "-f", "ids", "title~December", now="2026-12-07T09:00:00+00:00", env=EN).strip()


@pytest.mark.parametrize("args, en_error, ru_error", [
    (("deal", "add", "x", "--zzz"), "Error: No such option: --zzz", "Ошибка: Нет такого параметра: --zzz"),
    (("deal", "show"), "Error: Missing argument 'ID'.", "Ошибка: Не указан аргумент 'ID'."),
])
def test_clicks_usage_errors_in_russian_keep_exit_code_2_and_english_is_unchanged(cli, args, en_error, ru_error):
    """The lines of the click copy inside Typer (no gettext there) are worded at the edge (i18n.translate_click)."""
    command = " ".join(args[:2])
    en, ru = cli(*args, env=EN), cli(*args, env=RU)
    assert en.returncode == ru.returncode == 2
    assert en.stderr.startswith(f"Usage: dealcli {command} [OPTIONS]")
    assert f"Try 'dealcli {command} -h' for help.\n" in en.stderr and en.stderr.endswith(en_error + "\n")
    assert ru.stderr.startswith(f"Использование: dealcli {command} [OPTIONS]")
    assert f"Справка: 'dealcli {command} -h'.\n" in ru.stderr and ru.stderr.endswith(ru_error + "\n")
    assert "Usage" not in ru.stderr and "Error" not in ru.stderr and "Try" not in ru.stderr
    assert cli(*args, env=EN).stderr == en.stderr  # English again after a Russian run, byte for byte


@pytest.mark.parametrize("text, ru", [
    ("No such option: --nope (Possible options: --type)", "Нет такого параметра: --nope (возможные параметры: --type)"),
    ("Got unexpected extra argument(s) (y z)", "Лишние аргументы (y z)"),
    ("Invalid value for '--limit': x", "Недопустимое значение '--limit': x"),
    ("Option '--as-of' requires an argument.", "Параметру '--as-of' нужно значение."),
    ("something click says we do not know", "something click says we do not know"),
])
def test_clicks_sentences_are_worded_in_russian(lang, text, ru):
    lang(LANG="C")
    assert i18n.click_message(text) == text
    lang(LANG="ru_RU.UTF-8")
    assert i18n.click_message(text) == ru


def test_deal_history_is_worded_in_russian(cli):
    deal = cli.ok("deal", "add", "Поставка", "--amount", "100", env=EN).strip()
    cli.ok("deal", "edit", deal, "--amount", "200", env=EN)
    cli.ok("deal", "close", deal, "--lost", "--reason", "дорого", env=EN)
    en, ru = cli.ok("deal", "history", deal, env=EN), cli.ok("deal", "history", deal, env=RU)
    assert "created  stage=" in en and "amount: 100.00 -> 200.00" in en and "lost in " in en
    assert "создана" in ru and "стадия=" in ru and "сумма: 100,00 -> 200,00" in ru and "проиграна на стадии" in ru
    for word in ("created", "changed", "closed", "stage=", "amount:", " in "):
        assert word not in ru, word
    json_ru = cli.ok("deal", "history", deal, "-f", "json", env=RU)
    assert json_ru == cli.ok("deal", "history", deal, "-f", "json", env=EN)


def test_the_client_cards_timeline_is_worded_in_russian_and_its_json_is_not(cli, repo):
    from test_client_card import client

    client(cli, repo)
    ru = cli.ok("company", "show", "Acme", env=RU).split("лента:")[-1]
    for text in ("запланировано: Call about the renewal", "от Jürgen Müller", "сделка проиграна: Training, 50,00 USD "
                 "(no budget)", "создана сделка: Licences", "Signed on paper", "звонок", "письмо", "комментарий"):
        assert text in ru, text
    for word in ("planned:", "from ", "deal lost", "deal created", " call ", " email ", " comment "):
        assert word not in ru, word
    assert cli.ok("company", "show", "Acme", "-f", "json", env=RU) == cli.ok("company", "show", "Acme", "-f", "json",
                                                                             env=EN)


def test_the_import_progress_bar_is_worded_in_russian(lang):
    import io

    from dealcli.views import messages

    for env, word in (("C", "writing  "), ("ru_RU.UTF-8", "запись   ")):
        lang(LANG=env)
        out = io.StringIO()
        messages.Progress(out)("writing", 5, 10)
        assert out.getvalue().startswith("\r" + word + "[") and out.getvalue().endswith(" 50%")


def test_the_html_pages_are_worded_in_russian(cli, monkeypatch):
    """report --html and board --html: headings, labels, the pager and the search box in Russian, with
    <html lang="ru">; the English page is the same as ever; the embedded JSON is the same in both."""
    import re

    from dealcli.views import html

    monkeypatch.setattr(html, "CARDS_PER_STAGE", 2)  # in-process runs see the smaller page: a pager
    for i in range(3):
        cli.ok("deal", "add", f"Сделка {i}", "--amount", "1500", "--close-date", "2026-12-20", env=EN)
    lost = cli.ok("deal", "add", "Обучение", "--amount", "50", env=EN).strip()
    cli.ok("deal", "close", lost, "--lost", "--reason", "дорого", env=EN)
    for command in ("report", "board"):
        en, ru = cli.ok(command, "--html", "-", env=EN), cli.ok(command, "--html", "-", env=RU)
        assert '<html lang="en">' in en and '<html lang="ru">' in ru
        assert ("Find cards:" in en and "Summary" in en and "next ›" in en and "page '+(at[key]+1)+' of '" in en
                and "Made by dealcli" in en)
        for text in ("Найти карточки:", "Сводка", "вперёд ›", "‹ назад", "Доска: Sales", "ещё 1:", "Сделано dealcli",
                     "страница {at} из {n} (карточек: {count})", "1\u00a0500,00"):
            assert text in ru, (command, text)
        body = re.sub(r"<[^>]+>", " ", ru.split("<body", 1)[1].split('<script type="application/json"')[0])
        words = set(re.findall(r"[A-Za-z]{2,}", body))  # stage names, ids and currency codes are data
        assert not words & {"deal", "deals", "sum", "weighted", "total", "Summary", "Funnel", "Forecast",
                            "Board", "Find", "cards", "close", "more", "previous", "next", "page", "Made", "No",
                            "reason", "share", "month", "amount"}, " ".join(sorted(words))
        data = [re.search(r'id="report-data">(.*?)</script>', page).group(1) for page in (en, ru)]
        assert data[0] == data[1]


def test_amounts_in_history_and_timeline_texts_are_written_the_languages_way(cli):
    """A view writes an amount as the language writes numbers (Babel's symbols); the data does not change."""
    deal = cli.ok("deal", "add", "Поставка", "--amount", "1500", env=EN).strip()
    cli.ok("deal", "edit", deal, "--amount", "2500.5", env=EN)
    assert "сумма: 1\u00a0500,00 -> 2\u00a0500,50" in cli.ok("deal", "history", deal, env=RU)
    assert "amount: 1500.00 -> 2500.50" in cli.ok("deal", "history", deal, env=EN)
    json_en = cli.ok("deal", "history", deal, "-f", "json", env=EN)
    assert cli.ok("deal", "history", deal, "-f", "json", env=RU) == json_en


@pytest.mark.parametrize("n, en, ru", [(1, "1 deal", "1 сделка"), (2, "2 deals", "2 сделки"),
                                       (5, "5 deals", "5 сделок"), (21, "21 deals", "21 сделка")])
def test_record_counts_use_the_plural_forms_of_each_language(lang, n, en, ru):
    lang(LANG="C")
    assert i18n.records("deals", n) == en
    lang(LANG="ru_RU.UTF-8")
    assert i18n.records("deals", n) == ru


def test_the_whole_repository_import_counts_in_words(cli, tmp_path):
    """`import --all`'s summary and refusal say `1 deal` (not `1 deals`) and Russian's forms."""
    cli.ok("deal", "add", "Поставка", "--amount", "10")
    cli.ok("export", "--all", "--out", str(tmp_path / "bundle"))
    cli.ok("init", str(tmp_path / "empty"))
    en = cli("import", "--all", str(tmp_path / "bundle"), "--dir", str(tmp_path / "empty"), "--dry-run", env=EN)
    ru = cli("import", "--all", str(tmp_path / "bundle"), "--dir", str(tmp_path / "empty"), "--dry-run", env=RU)
    assert "1 deal, " in en.stderr or en.stderr.count("1 deal ") == 1, en.stderr
    assert "1 deals" not in en.stderr and "1 сделка" in ru.stderr and "пробный запуск" in ru.stderr
    refused = cli("import", "--all", str(tmp_path / "bundle"), env=EN)  # into this repository, which holds a deal
    assert refused.returncode == 1 and "holds 1 deal" in refused.stderr and "1 deals" not in refused.stderr
    assert "1 problem; nothing imported" in refused.stderr


def test_a_russian_heading_never_pushes_a_table_past_the_width(cli):
    """Headings are translated before the table is fitted (views/fit.py): `дата закрытия` is wider than
    `close_date`, and the table still fits the terminal."""
    for i in range(3):
        cli.ok("deal", "add", f"Поставка серверов номер {i}", "--amount", "125000", "--close-date", "2026-12-07")
    for width in (40, 60, 80):
        table = cli.ok("filter", "--columns", "id,title,stage,amount,close_date,responsible",
                       env={**RU, "COLUMNS": str(width)})
        assert "название" in table
        assert max(len(line) for line in table.splitlines()) <= width, table
