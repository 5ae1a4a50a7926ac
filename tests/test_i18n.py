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
