"""The language dealcli speaks to people (docs/i18n.md): English, or Russian from the gettext
catalogue dealcli/locale/ru/LC_MESSAGES/dealcli.po (compiled beside it as dealcli.mo).

The language is chosen the first time a message is translated, from the environment in gettext's
order (LANGUAGE, LC_ALL, LC_MESSAGES, LANG), so help text built when a command module is imported
follows the environment; a repository's `language:` setting (dealcli.yaml) takes over when the
repository is opened (Session.repo calls use_repository). Nothing here imports Babel: month names
and other locale data come from it only when the language is not English (month_name).

Machine formats (json, jsonl, csv, tsv, yaml, ids, ics) never pass through here: only words meant
for a person are marked with _() or ngettext()."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

LANGUAGES = ("en", "ru")  # English is the source language: its catalogue is the msgids themselves
DOMAIN = "dealcli"
LOCALE_DIR = Path(__file__).with_name("locale")

_state: dict = {}  # "language" and "catalogue" once chosen; emptied by reset()


def reset() -> None:
    """Forget the choice (each cli.main run chooses again: tests run many in one process)."""
    _state.clear()


def _from_environment() -> str:
    """The language the environment asks for, in gettext's order; English unless it names one
    dealcli has a catalogue for (LANGUAGE may list several, ru_RU.UTF-8:en)."""
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if not value:
            continue
        for item in value.split(":") if var == "LANGUAGE" else [value]:
            code = item.split(".")[0].split("@")[0].split("_")[0].lower()
            if code in LANGUAGES:
                return code
        if var != "LANGUAGE":  # the first locale variable set decides (C, POSIX, de_DE: English)
            return "en"
    return "en"


def language() -> str:
    """The language in use: `en` or `ru`."""
    if "language" not in _state:
        _state["language"] = _from_environment()
    return _state["language"]


def use(code: str | None) -> None:
    """Speak `code` (a language of LANGUAGES) from now on; None keeps the current choice."""
    if code is None:
        return
    code = str(code).split("_")[0].lower()
    if code in LANGUAGES and code != _state.get("language"):
        _state["language"] = code
        _state.pop("catalogue", None)


def use_repository(config: dict) -> None:
    """A repository's `language:` setting (dealcli.yaml), when it has one, wins over the environment."""
    use(config.get("language") if isinstance(config, dict) else None)


def _catalogue():
    found = _state.get("catalogue")
    if found is None:
        import gettext

        if language() == "en":
            found = gettext.NullTranslations()
        else:
            found = gettext.translation(DOMAIN, LOCALE_DIR, languages=[language()], fallback=True)
        _state["catalogue"] = found
    return found


def _(message: str) -> str:
    """`message` in the language in use. Placeholders are named (`{id}`), filled after:
    `_("deal {id} not found").format(id=deal_id)`, so a translator sees the whole sentence."""
    if language() == "en":
        return message
    return _catalogue().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a message for count `n` (Russian has three)."""
    if language() == "en":
        return singular if n == 1 else plural
    return _catalogue().ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """`message` as said in `context` (`event`: a history or timeline event's kind, where `call`
    is one call, not the column of calls)."""
    if language() == "en":
        return message
    return _catalogue().pgettext(context, message)


def N_(message: str) -> str:
    """Marks a message for the catalogue without translating it here (a table of words that
    is translated where it is shown, with _())."""
    return message


class Text(str):
    """A message kept in English where it is data (a Violation's message in `check -f json`, a
    problem saved with a record), worded in the language in use where a person reads it (worded()):
    the English text as a str, with its template (extracted, keyword Text) and values.

        Violation("stage-exists", Text("stage {stage!r} is not in pipeline {pipeline!r}", stage=s, pipeline=p))"""

    template: str
    values: dict

    def __new__(cls, template: str, /, **values) -> Text:
        self = super().__new__(cls, template.format(**{k: english(v) for k, v in values.items()}))
        self.template, self.values = template, values
        return self

    def __format__(self, spec: str) -> str:  # put into another text ("{why}", f"{why}"): worded as that text is
        return format(self.worded(), spec)

    def __getnewargs_ex__(self):  # pickled (check's cache) as its template and values
        return (self.template,), self.values

    def worded(self, label=None) -> str:
        if language() == "en":
            return str.__str__(self)
        return _(self.template).format(**{k: worded(v) for k, v in self.values.items()})


def english(value: Any) -> Any:
    """`value` as data: a Text as its English text, anything else as it is."""
    return str.__str__(value) if isinstance(value, Text) else value


def worded(value: Any) -> Any:
    """`value` in the language in use when it is a Text (or an exception whose text is one), else as it is."""
    if isinstance(value, BaseException):
        text = str(value)
        return text.worded() if isinstance(text, Text) else value
    return value.worded() if isinstance(value, Text) else value


def Nn_(singular: str, plural: str) -> tuple[str, str]:
    """Marks a message with its plural for the catalogue (keyword Nn_), translated later by records()."""
    return singular, plural


# "N records" of each kind (dealcli/kinds.py's folders), as `import --all` and `export` count them.
RECORD_COUNTS = {
    "deals": Nn_("{n} deal", "{n} deals"), "pipelines": Nn_("{n} pipeline", "{n} pipelines"),
    "companies": Nn_("{n} company", "{n} companies"), "contacts": Nn_("{n} contact", "{n} contacts"),
    "leads": Nn_("{n} lead", "{n} leads"), "quotes": Nn_("{n} quote", "{n} quotes"),
    "products": Nn_("{n} product", "{n} products"), "activities": Nn_("{n} activity", "{n} activities"),
    "recurring": Nn_("{n} recurring deal template", "{n} recurring deal templates"),
    "generators": Nn_("{n} generator", "{n} generators"),
    "settings": Nn_("{n} settings record", "{n} settings records"),
}


def records(folder: str, n: int) -> str:
    """`n` records of the kind kept in `folder`, in the plural form the language uses for `n`."""
    singular, plural = RECORD_COUNTS.get(folder, ("{n} " + folder, "{n} " + folder))
    return ngettext(singular, plural, n).format(n=n)


# The names of the record kinds (kinds.py, singular), as messages name them ("deal 'x': not found").
RECORDS = (N_("deal"), N_("pipeline"), N_("company"), N_("contact"), N_("lead"), N_("quote"), N_("product"),
           N_("activity"), N_("recurring deal template"), N_("generator"))

# Words a view shows for a value (a recurring template's state).
WORDS = (N_("active"), N_("paused"), N_("finished"))

# The headings of table columns: the field names (csv, tsv and json keep them in every language).
# tests/test_i18n.py renders the tables in Russian and fails on a heading missing here.
COLUMNS = (
    N_("#"),
    N_("format"),
    N_("created_by"),
    N_("rots after"),
    N_("birthday"),
    N_("notes"),
    N_("website"),
    N_("address"),
    N_("domain"),
    N_("domains"),
    N_("company_id"),
    N_("reached"),
    N_("entered"),
    N_("now"),
    N_("conv"),
    N_("reason"),
    N_("share"),
    N_("win"),
    N_("stays"),
    N_("avg days"),
    N_("cur"),
    N_("month"),
    N_("month closed"),
    N_("product"),
    N_("sales"),
    N_("won amount"),
    N_("person"),
    N_("all"),
    N_("pending"),
    N_("call"),
    N_("meet"),
    N_("task"),
    N_("amount"),
    N_("next_activity"),
    N_("origin_id"),
    N_("modified"),
    N_("creates"),
    N_("from_deal"),
    N_("offsets"),
    N_("occurrences"),
    N_("paused_at"),
    N_("comment"),
    N_("at"),
    N_("begin"),
    N_("by"),
    N_("close_date"),
    N_("closed_at"),
    N_("color"),
    N_("company"),
    N_("company_name"),
    N_("contact"),
    N_("contact_name"),
    N_("contacts"),
    N_("count"),
    N_("created"),
    N_("currency"),
    N_("date"),
    N_("deal"),
    N_("deal_type"),
    N_("deals"),
    N_("default"),
    N_("dept"),
    N_("description"),
    N_("detail"),
    N_("discount"),
    N_("discount%"),
    N_("done"),
    N_("due"),
    N_("duration"),
    N_("email"),
    N_("emails"),
    N_("field"),
    N_("fields"),
    N_("grants"),
    N_("head"),
    N_("id"),
    N_("kind"),
    N_("last"),
    N_("lead"),
    N_("line"),
    N_("login"),
    N_("lost"),
    N_("lost_reason"),
    N_("message"),
    N_("name"),
    N_("next"),
    N_("next activity"),
    N_("open"),
    N_("origin"),
    N_("overdue"),
    N_("parent"),
    N_("path"),
    N_("phone"),
    N_("phones"),
    N_("pipeline"),
    N_("price"),
    N_("probability"),
    N_("products"),
    N_("qty"),
    N_("quantity"),
    N_("quote"),
    N_("reasons"),
    N_("repeat"),
    N_("responsible"),
    N_("roles"),
    N_("rule"),
    N_("scenario"),
    N_("schedule"),
    N_("score"),
    N_("segment"),
    N_("semantics"),
    N_("sku"),
    N_("source"),
    N_("stage"),
    N_("stages"),
    N_("status"),
    N_("subject"),
    N_("sum"),
    N_("tax"),
    N_("tax%"),
    N_("tax_included"),
    N_("tax_rate"),
    N_("template"),
    N_("text"),
    N_("title"),
    N_("total"),
    N_("type"),
    N_("unit"),
    N_("updated"),
    N_("user"),
    N_("valid_until"),
    N_("value"),
    N_("weighted"),
    N_("won"),
)


def header(column: str) -> str:
    """A table column's heading: the field name in English (as in csv/json), else translated."""
    if language() == "en":
        return column
    return _catalogue().gettext(column)


def month_name(when, spec: str) -> str:
    """`when` formatted by the strftime `spec`, its month and weekday names in the language in
    use. Russian says a month alone in the nominative (`%B` -> декабрь) and after a day in the
    genitive (`%d %B` -> 7 декабря), as Babel's stand-alone and format contexts give them."""
    if language() == "en" or not any(d in spec for d in ("%B", "%b", "%A", "%a")):
        return when.strftime(spec)
    from babel import dates  # only for a language other than English

    lang = language()
    day_first = any(d in spec.split("%B")[0].split("%b")[0] for d in ("%d", "%e", "%-d"))
    context: Literal["format", "stand-alone"] = "format" if day_first else "stand-alone"
    parts = {
        "%B": dates.get_month_names("wide", context, locale=lang)[when.month],
        "%b": dates.get_month_names("abbreviated", context, locale=lang)[when.month],
        "%A": dates.get_day_names("wide", "format", locale=lang)[when.weekday()],
        "%a": dates.get_day_names("abbreviated", "format", locale=lang)[when.weekday()],
    }
    out, i = [], 0
    while i < len(spec):
        pair = spec[i:i + 2]
        if pair in parts:
            out.append(parts[pair])
            i += 2
        elif pair.startswith("%") and len(pair) == 2:
            size = 3 if pair == "%-" else 2  # %-d: the day without a leading zero
            out.append(when.strftime(spec[i:i + size]))
            i += size
        else:
            out.append(spec[i])
            i += 1
    return "".join(out)


def _command_texts(command):
    """(object, attribute, text) of every help text of a click command tree: the commands' help
    (Typer takes it from the docstring) and their options' and arguments' help."""
    stack = [command]
    while stack:
        cmd = stack.pop()
        for obj in (cmd, *getattr(cmd, "params", ())):
            for attr in ("help", "short_help"):
                text = getattr(obj, attr, None)
                if isinstance(text, str) and text.strip():
                    yield obj, attr, text
        stack.extend(getattr(cmd, "commands", {}).values())


# The modules of the command-line framework whose own words reach the user through a module-level
# gettext `_`: Typer's (Arguments, Options, Commands, required, default: ...). Typer 0.29 runs its own
# copy of click (typer._click), whose words (Usage:, Error:, Missing option) are not translatable.
FRAMEWORK = ("typer.core",)


def translate_help(command) -> None:
    """The help of `command` (the root click command of a run) in the language in use. Help is
    translated here, at the edge, so the commands keep their help= texts and docstrings as they are;
    click's and Typer's own words are looked up in dealcli's catalogue too (FRAMEWORK)."""
    import importlib

    for obj, attr, text in _command_texts(command):
        setattr(obj, attr, _(text))
    translate_click()
    for name in FRAMEWORK:
        module = importlib.import_module(name)
        if hasattr(module, "_"):  # gettext's, which reads no dealcli catalogue; in English ours is the same
            setattr(module, "_", _)  # noqa: B010 - a module attribute the type checker does not know
        if hasattr(module, "ngettext"):
            setattr(module, "ngettext", ngettext)  # noqa: B010


# The sentences of the click copy inside Typer (typer._click), which builds them with f-strings and no
# gettext: a pattern of its English text -> the message that words it (named groups as placeholders).
CLICK_WORDS = (
    (r"(?P<message>.*) \(Possible options: (?P<options>.+)\)", N_("{message} (Possible options: {options})")),
    (r"No such option: (?P<name>.+)", N_("No such option: {name}")),
    (r"Missing argument (?P<name>.+?)\.", N_("Missing argument {name}.")),
    (r"Missing option (?P<name>.+?)\.", N_("Missing option {name}.")),
    (r"Missing parameter (?P<name>.+?)\.", N_("Missing parameter {name}.")),
    (r"Invalid value for (?P<name>.+?): (?P<message>.+)", N_("Invalid value for {name}: {message}")),
    (r"Invalid value: (?P<message>.+)", N_("Invalid value: {message}")),
    (r"Got unexpected extra argument\(s\) \((?P<args>.*)\)", N_("Got unexpected extra argument(s) ({args})")),
    (r"Option (?P<name>'.+') does not take a value\.", N_("Option {name} does not take a value.")),
    (r"Option (?P<name>'.+') requires an argument\.", N_("Option {name} requires an argument.")),
    (r"Option (?P<name>'.+') requires (?P<n>\d+) arguments\.", N_("Option {name} requires {n} arguments.")),
    # Typer's suggestion after `No such command` (typer.core), and the reasons its value parser
    # (pydantic) gives for the types dealcli declares (int, bounded int, float, bool, Enum)
    (r"(?P<message>.+?)\. Did you mean (?P<names>.+)\?", N_("{message}. Did you mean {names}?")),
    (r"Input should be a valid integer, unable to parse string as an integer",
     N_("Input should be a valid integer, unable to parse string as an integer")),
    (r"Input should be a valid integer", N_("Input should be a valid integer")),
    (r"Input should be a valid number, unable to parse string as a number",
     N_("Input should be a valid number, unable to parse string as a number")),
    (r"Input should be a valid boolean, unable to interpret input", N_("Input should be a valid boolean, unable "
                                                                      "to interpret input")),
    (r"Input should be greater than or equal to (?P<n>\S+)", N_("Input should be greater than or equal to {n}")),
    (r"Input should be less than or equal to (?P<n>\S+)", N_("Input should be less than or equal to {n}")),
    (r"Input should be greater than (?P<n>\S+)", N_("Input should be greater than {n}")),
    (r"Input should be less than (?P<n>\S+)", N_("Input should be less than {n}")),
    (r"Input should be (?P<choices>.+)", N_("Input should be {choices}")),
    (r"Value error, (?P<message>.+)", N_("{message}")),  # pydantic's prefix of the reason Typer gives
    (r"(?P<value>'.*') is not one of (?P<choices>.+)\.", N_("{value} is not one of {choices}.")),
    (r"Value (?P<value>.+) is not a valid (?P<type>.+)\.", N_("Value {value} is not a valid {type}.")),
)
HELP_OPTION = N_("Show this message and exit.")  # the -h option's help, made by the click copy inside Typer


def click_message(text: str) -> str:
    """One of click's English sentences (CLICK_WORDS) in the language in use; English and unknown
    texts as they are. The inner parts (a nested message) are worded the same way."""
    if language() == "en":
        return text
    import re

    for pattern, message in CLICK_WORDS:
        found = re.fullmatch(pattern, text, re.DOTALL)
        if found:
            parts = {k: click_message(v) if k == "message" else f" {_('or')} ".join(v.split(" or "))
                     if k == "choices" else v for k, v in found.groupdict().items()}
            return _(message).format(**parts)
    return text


def translate_click() -> None:
    """The usage-error lines of the click copy inside Typer (`Usage:`, `Try ... for help.`, `Error:
    No such option: --x`) in the language in use, worded here at the edge: its exceptions' show()
    and the usage line's prefix are wrapped once, and speak English, as click does, when the
    language is English (the wrappers stay for the rest of the process: tests run many languages)."""
    from typer._click import core, exceptions, formatting
    from typer._click.utils import echo

    if getattr(exceptions.ClickException, "_dealcli", False):
        return
    click_show, usage_show = exceptions.ClickException.show, exceptions.UsageError.show
    write_usage = formatting.HelpFormatter.write_usage

    def show_error(self, file=None) -> None:
        if language() == "en":
            return click_show(self, file)
        echo(_("Error: {message}").format(message=click_message(self.format_message())),
             file=file, err=file is None, color=self.show_color)

    def show_usage(self, file=None) -> None:
        if language() == "en" or self.ctx is None:
            return usage_show(self, file) if language() == "en" else show_error(self, file)
        hint = ""
        if self.ctx.command.get_help_option(self.ctx) is not None:
            hint = _("Try '{command} {option}' for help.").format(
                command=self.ctx.command_path, option=self.ctx.help_option_names[0]) + "\n"
        echo(f"{self.ctx.get_usage()}\n{hint}", file=file, err=file is None, color=self.ctx.color)
        echo(_("Error: {message}").format(message=click_message(self.format_message())),
             file=file, err=file is None, color=self.ctx.color)

    def usage_line(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        return write_usage(self, prog, args, _("Usage: ") if prefix is None else prefix)

    get_help_option = core.Command.get_help_option

    def help_option(self, ctx):
        option = get_help_option(self, ctx)
        if option is not None and option.help == HELP_OPTION:
            option.help = _(HELP_OPTION)
        return option

    core.Command.get_help_option = help_option  # type: ignore[method-assign]
    exceptions.ClickException.show = show_error  # type: ignore[method-assign]
    exceptions.UsageError.show = show_usage  # type: ignore[method-assign]
    formatting.HelpFormatter.write_usage = usage_line  # type: ignore[method-assign]
    exceptions.ClickException._dealcli = True  # type: ignore[attr-defined]


def extract_help(fileobj, keywords, comment_tags, options):
    """A Babel extraction method (babel.cfg): every help text of the complete command tree, as
    translate_help looks them up, so `pybabel extract` puts them in the catalogue."""
    import importlib

    import typer.main
    from babel.messages.extract import extract_python

    from dealcli import cli

    for _obj, _attr, text in _command_texts(typer.main.get_command(cli.app)):
        yield 0, None, text, []
    for name in FRAMEWORK:
        with open(importlib.import_module(name).__file__, "rb") as source:
            for line, funcname, message, comments in extract_python(source, {"_": None, "ngettext": (1, 2)}, [], {}):
                yield line, funcname, message, comments


def number(text: str) -> str:
    """A decimal's plain text (money.fmt: `-1234.50`) as the language writes numbers in views:
    `-1 234,50` in Russian (CLDR's group and decimal symbols, from Babel); English as it is. The
    digits are never changed, and data (json, csv, the files) never passes through here."""
    if language() == "en" or not text:
        return text
    sign, rest = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, dot, fraction = rest.partition(".")
    if not whole.isdigit() or (dot and not fraction.isdigit()):
        return text
    from babel.numbers import get_decimal_symbol, get_group_symbol

    lang = language()
    groups: list[str] = []
    while len(whole) > 3:
        whole, groups = whole[:-3], [whole[-3:], *groups]
    grouped = get_group_symbol(lang).join([whole, *groups])
    return sign + grouped + (get_decimal_symbol(lang) + fraction if dot else "")
