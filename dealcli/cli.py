"""The root command. main() is the ONLY place that turns an error into a line on stderr and an
exit code (see docs/exit-codes.md)."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Optional

import typer

from dealcli import __version__, i18n
from dealcli import env as environment

HELP = """A scriptable command-line CRM for deals, kept as one YAML file per record.

The repository is --dir, else $DEALCLI_DIR, else the nearest folder upwards holding
dealcli.yaml. The global options (--dir, --as, --now, -q) may also follow the command
(`dealcli deal add X -q`). Exit codes: 0 ok, 1 refused by a rule or validation failed, 2 usage error,
3 not found, 4 conflict, 5 unreadable or corrupt data, 6 not allowed by the acting user's access
rights (docs/access.md), 65 malformed input (intake)."""

_app = typer.Typer(
    name="dealcli",
    help=HELP,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)

_current: list = []  # the Session of this run, for the notices printed at exit


def _plain_metavars() -> None:
    """Help without Python types: Typer labels values `<str>`, `<int>`, `<list[str]>`; dealcli
    shows TEXT / N for option values, [a|b|c] for choices, nothing after an argument's name,
    and argument names in upper case (DEAL_ID). Applied once, to Typer's parameter classes."""
    from typer import core

    if getattr(core._TyperParameter, "_dealcli_plain", False):
        return
    original = core._TyperParameter.display_type

    def display_type(self, ctx) -> str:
        label = original(self, ctx)
        inner = label[1:-1] if label.startswith("<") and label.endswith(">") else label
        if inner.startswith("list[") and inner.endswith("]"):
            inner = inner[5:-1]
        if "|" in inner:
            return f"[{inner}]"
        if self.param_type_name == "argument":
            return ""
        return {"int": "N", "float": "NUMBER"}.get(inner, "TEXT")

    core._TyperParameter.display_type = display_type  # type: ignore[method-assign]  # Typer's help patched, see above
    core.TyperArgument.display_name_raw = property(  # type: ignore[method-assign,assignment]  # Typer patched
        lambda self: self.metavar or self.name.upper())

    def usage_name(self) -> str:
        name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
        return name + ("..." if self.nargs != 1 else "")

    core.TyperArgument._usage_display_name = usage_name  # type: ignore[method-assign]  # Typer's help patched, see above
    core._TyperParameter._dealcli_plain = True  # type: ignore[attr-defined]  # our mark: patched once


_plain_metavars()


def _light_coercion() -> None:
    """Typer (0.29) converts every option value through a pydantic TypeAdapter, and importing
    pydantic costs about 80 ms, 40% of a warm `filter -f ids`. For the plain types dealcli
    declares (str, bool, a list of str, an Enum of choices, an int without bounds) the conversion is
    done here without pydantic, giving what Typer's adapter gives; a value it would refuse, and
    every other type, still goes through Typer's own adapter, so its messages are unchanged."""
    import re
    from dataclasses import dataclass
    from enum import Enum
    from typing import Any, Callable, get_args, get_origin

    from typer import _coercion, core
    from typer._param_types import coerce_cli_choice

    if getattr(core._TyperParameter, "_dealcli_light", False):
        return
    plain_int = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")

    @dataclass(frozen=True)
    class Light(_coercion.RuntimeParam):
        convert: Callable
        descriptor: Any

        def _coerce_value(self, value, param, ctx):
            try:
                return self.convert(value, ctx)
            except Exception:  # refused or unusual: Typer's adapter decides and words it
                return _coercion.build_runtime_param(self.descriptor)._coerce_value(value, param=param, ctx=ctx)

    def text(value, ctx):
        if type(value) is not str:
            raise TypeError(value)
        return value

    def flag(value, ctx):
        if type(value) is not bool:
            raise TypeError(value)
        return value

    def integer(value, ctx):
        if type(value) is int or (type(value) is str and plain_int.fullmatch(value)):
            return int(value)
        raise ValueError(value)

    def leaf(annotation, info) -> Callable | None:
        if annotation is str:
            return text
        if annotation is bool:
            return flag
        if annotation is int and not info.clamp:
            low, high = info.min, info.max
            if low is None and high is None:
                return integer

            def bounded(value, ctx):  # out of bounds: raised, so Typer's adapter words the refusal
                n = integer(value, ctx)
                if (low is not None and n < low) or (high is not None and n > high):
                    raise ValueError(value)
                return n

            return bounded
        if isinstance(annotation, type) and issubclass(annotation, Enum):
            choices, sensitive = tuple(annotation), info.case_sensitive
            return lambda value, ctx: coerce_cli_choice(value, choices=choices, case_sensitive=sensitive, ctx=ctx)
        return None

    def light(d) -> Light | None:
        info = d.parameter_info
        if info.parser is not None or d.file_annotation is not None or d.is_path:
            return None
        convert = leaf(d.annotation, info)
        if convert is None and get_origin(d.annotation) is list and len(get_args(d.annotation)) == 1:
            item = leaf(get_args(d.annotation)[0], info)
            if item is not None:
                def convert(value, ctx, item=item):
                    return [item(v, ctx) for v in (value if isinstance(value, (list, tuple)) else [value])]
        return None if convert is None else Light(info, d.annotation, convert, d)

    def get_runtime_param(self):
        if self._runtime_param is None:
            self._runtime_param = light(self.type_descriptor) or _coercion.build_runtime_param(self.type_descriptor)
        return self._runtime_param

    core._TyperParameter.get_runtime_param = get_runtime_param  # type: ignore[method-assign]  # Typer's help patched, see above
    core._TyperParameter._dealcli_light = True  # type: ignore[attr-defined]  # our mark: patched once


_light_coercion()


def _complete_users(ctx: typer.Context, incomplete: str) -> list[str]:
    from dealcli.commands.complete import users

    return users(ctx, incomplete)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dealcli {__version__}")
        raise typer.Exit()


@_app.callback()
def root(
    ctx: typer.Context,
    dir: Annotated[Optional[str], typer.Option("--dir", metavar="PATH", help="The repository folder "
                                               "(else $DEALCLI_DIR, else the nearest folder upwards holding "
                                               "dealcli.yaml).",
                                               show_default=False)] = None,
    as_user: Annotated[Optional[str], typer.Option("--as", metavar="USER", help="Acting user (else $DEALCLI_USER, the "
                                                   "repository default, git user.email, $USER). With users, "
                                                   "acting as another user needs the right to.",
                                                   autocompletion=_complete_users)] = None,
    now: Annotated[Optional[str], typer.Option("--now", metavar="DATETIME", help="The clock every command uses (else "
                                               "$DEALCLI_NOW, else the real time): makes runs "
                                               "reproducible. Like the real clock it counts in the "
                                               "repository's time zone (an offset given is converted).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No notices or hints on stderr.")] = False,
    wide: Annotated[bool, typer.Option("--wide", "-w", help="Tables at full width: every column, no cell "
                                       "cut (else they fit the terminal or $COLUMNS: low-priority "
                                       "columns dropped, long text cut with …; docs/views.md).")] = False,
    version: Annotated[bool, typer.Option("--version", "-V", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    from dealcli.session import Session
    from dealcli.views import fit

    fit.configure(wide)  # every table of this run (one fact for every table command)
    ctx.obj = Session(dir=dir, as_user=as_user, now_text=now, quiet=quiet)
    _current[:] = [ctx.obj]


# Which module of dealcli.commands registers each command, and how (in --help order). main()
# registers only the module of the command being run: Typer builds every registered command's
# parser on each run, so a full registration would make `dealcli --version` pay for them all.
REGISTRY = {
    "init": lambda m, app: m.register(app),
    "check": lambda m, app: m.register(app),
    "deal": lambda m, app: app.add_typer(m.app, name="deal"),
    "pipeline": lambda m, app: app.add_typer(m.app, name="pipeline"),
    "views": lambda m, app: m.register(app),
    "import_": lambda m, app: m.register(app),
    "clients": lambda m, app: (app.add_typer(m.company_app, name="company"),
                               app.add_typer(m.contact_app, name="contact")),
    "product": lambda m, app: app.add_typer(m.app, name="product"),
    "lead": lambda m, app: app.add_typer(m.app, name="lead"),
    "quote": lambda m, app: app.add_typer(m.app, name="quote"),
    "activity": lambda m, app: (app.add_typer(m.app, name="activity"), m.register(app)),
    "recurring": lambda m, app: app.add_typer(m.app, name="recurring"),
    "report": lambda m, app: m.register(app),
    "intake": lambda m, app: app.add_typer(m.app, name="intake"),
    "generator": lambda m, app: app.add_typer(m.app, name="generator"),
    "predict": lambda m, app: app.add_typer(m.app, name="predict"),
    "git": lambda m, app: m.register(app),
    "team": lambda m, app: m.register(app),
    "githook": lambda m, app: app.add_typer(m.app, name="git-hook"),
    "recover": lambda m, app: m.register(app),
    "reply": lambda m, app: m.register(app),
    "layout": lambda m, app: app.add_typer(m.app, name="layout"),
}
MODULE_OF = {  # command word -> module (commands a module registers itself, like views, listed)
    "init": "init", "check": "check", "deal": "deal", "pipeline": "pipeline", "filter": "views",
    "board": "views", "agenda": "activity", "remind": "activity", "calendar": "views", "export": "views",
    "import": "import_",
    "company": "clients", "contact": "clients", "product": "product", "lead": "lead", "quote": "quote",
    "activity": "activity", "recurring": "recurring", "report": "report", "intake": "intake",
    "generator": "generator", "predict": "predict", "git": "git", "merge-file": "git", "sync": "git",
    "user": "team", "dept": "team", "role": "team", "whoami": "team", "can": "team", "git-hook": "githook",
    "recover": "recover",
    "reply": "reply",
    "layout": "layout",
}
_registered: set[str] = set()
_VALUE_OPTIONS = ("--dir", "--as", "--now")
_FLAG_OPTIONS = ("-q", "--quiet", "-w", "--wide", "-V", "--version")


def hoist_globals(argv: list[str]) -> list[str]:
    """Global options given after the command words (`deal add X -q`, `filter --dir R`) move to
    the front, each with its value, so the root parses them. The walk knows the options of the
    command being run: the value of one of its options is never taken for a global option
    (`--subject -q`), nor is anything after `--`. A command's own option of the same name wins."""
    if not any(a in _VALUE_OPTIONS or a in _FLAG_OPTIONS or a.split("=", 1)[0] in _VALUE_OPTIONS
               for a in argv):
        return argv
    import typer.main

    cmd = typer.main.get_command(_app)
    front: list[str] = []
    rest: list[str] = []
    i, seen_command = 0, False
    while i < len(argv):
        word = argv[i]
        if word == "--":
            rest += argv[i:]
            break
        group = getattr(cmd, "commands", None)
        if not seen_command or group is not None:
            sub = group.get(word) if group is not None and not word.startswith("-") else None
            if sub is not None:
                cmd, seen_command = sub, True
                rest.append(word)
                i += 1
                continue
        if not seen_command:  # before the first command word: the root parses it as it is
            front.append(word)
            if word in _VALUE_OPTIONS and i + 1 < len(argv):
                front.append(argv[i + 1])
                i += 1
            i += 1
            continue
        own = {name: not (getattr(p, "is_flag", False) or getattr(p, "count", False)) for p in cmd.params
               if getattr(p, "param_type_name", "") == "option" for name in p.opts + p.secondary_opts}
        name = word.split("=", 1)[0]
        if name in own:
            rest.append(word)
            if own[name] and "=" not in word and i + 1 < len(argv):
                rest.append(argv[i + 1])
                i += 1
        elif name in _VALUE_OPTIONS:
            front.append(word)
            if "=" not in word and i + 1 < len(argv):
                front.append(argv[i + 1])
                i += 1
        elif word in _FLAG_OPTIONS:
            front.append(word)
        else:
            rest.append(word)
        i += 1
    return front + rest


def _register(only: set[str] | None = None) -> None:
    """Attach command modules to the app: every one, or only those in `only`."""
    import importlib

    for name, attach in REGISTRY.items():
        if name in _registered or (only is not None and name not in only):
            continue
        attach(importlib.import_module(f"dealcli.commands.{name}"), _app)
        _registered.add(name)


def modules_for(argv: list[str]) -> set[str] | None:
    """The command modules a run needs: the one of its command word; none for a bare
    --version; all (None) for help, no command or an unknown word (so errors list them)."""
    i = 0
    while i < len(argv):
        word = argv[i]
        if word in _VALUE_OPTIONS:
            i += 2
            continue
        if word in ("-h", "--help"):
            return None
        if word.startswith("-"):
            i += 1
            continue
        module = MODULE_OF.get(word)
        return {module} if module else None
    return set() if "--version" in argv or "-V" in argv else None


def __getattr__(name: str):
    if name == "app":  # dealcli.cli.app: the complete app (docs generator, in-process tests)
        _register()
        return _app
    raise AttributeError(name)


def _err(line: str) -> None:
    from dealcli.views.render import printable  # a value quoted from data never drives the terminal

    try:
        stderr = environment.current().stderr
        stderr.write(f"dealcli: {printable(line, keep_newlines=True)}\n")
        stderr.flush()
    except (BrokenPipeError, OSError):
        pass


def _flush_notices(label=None) -> None:
    """Print the Session's notices (views/messages.py words those left as data; `label` words the
    fields of errors.Words as options). A notice about a write (session.Written) is said only
    when the command committed something: a refused command wrote none of its records."""
    if not _current:
        return
    s = _current[0]
    repo = s.__dict__.get("repo")
    if not (repo is not None and repo.committed):
        from dealcli.session import Written

        s.notices[:] = [n for n in s.notices if not isinstance(n, Written)]
    for alert in s.alerts:  # never silenced by --quiet
        _err(i18n._("warning: {message}").format(message=alert))
    s.alerts.clear()
    if not s.quiet and s.notices:
        from dealcli.views.messages import text

        for note in s.notices:
            _err(text(note, label))
    s.notices.clear()


def labeller(argv: list[str]):
    """The edge's wording of a field an error is about (errors.DealcliError.about): the option or
    argument of the command being run that sets it (`move_deals_to` -> `--move-deals-to`,
    `deal_id` -> `DEAL_ID`); a field no parameter of this command sets keeps its plain name."""
    import typer.main

    from dealcli.errors import plain_label

    cmd = typer.main.get_command(_app)
    path = [cmd]
    for word in argv:
        group = getattr(cmd, "commands", None)
        if group is None:
            break
        if word in group:
            cmd = group[word]
            path.append(cmd)
    # the command's own parameters first, then its groups' (the root's --dir and --now)
    levels = [[p for p in getattr(c, "params", []) if p.name not in ("help",)] for c in reversed(path)]

    def label(field: str) -> str:
        dashed = "--" + field.replace("_", "-")
        for params in levels:
            if any(dashed in getattr(p, "opts", ()) for p in params):
                return dashed
            for p in params:
                if p.name == field:
                    if p.param_type_name == "argument":
                        return p.metavar or p.name.upper()
                    return max((o for o in p.opts if o.startswith("--")), key=len, default=p.opts[0])
        return plain_label(field)

    return label


def _after_success(s) -> None:
    """The hook after a command succeeded: the commands stage automation named (defined locally,
    dealcli/automation.py). auto_commit runs earlier, under the repository lock (session.py)."""
    if s.__dict__.get("_after_commit"):
        from dealcli import automation

        automation.run_after_commit(s)


def _main(argv: list[str] | None = None) -> None:
    from dealcli.errors import DealcliError, PipeClosed

    code, args = 0, list[str]()
    words: list = []  # the labeller, built only when a message is about fields

    def label(field: str) -> str:
        if not words:
            words.append(labeller(args))
        return words[0](field)

    try:
        i18n.reset()  # the language is chosen again for each run (docs/i18n.md)
        args = sys.argv[1:] if argv is None else list(argv)
        _register(modules_for(args))
        args = hoist_globals(args)
        if i18n.language() == "en":
            _app(args=args, prog_name="dealcli")
        else:  # the help of the commands and options in the language asked for (docs/i18n.md)
            import typer.main

            command = typer.main.get_command(_app)
            i18n.translate_help(command)
            command(args=args, prog_name="dealcli")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if code == 0 and _current:
            _after_success(_current[0])
        if code == 0 or code == 1:
            _flush_notices(label)
    except PipeClosed:
        code = 0
    except DealcliError as exc:
        _flush_notices(label)
        for line in exc.lines(label):
            _err(i18n._("error: {message}").format(message=i18n.worded(line)))
        code = exc.exit_code
    except KeyboardInterrupt:
        _err(i18n._("interrupted"))
        code = 130
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        _err(i18n._("error: {message}").format(message=f"{where}{exc.strerror or exc}"))
        code = 5
    except Exception as exc:  # a bug, not something the user caused
        if os.environ.get("DEALCLI_DEBUG"):
            raise
        _err(i18n._("internal error: {error} (set DEALCLI_DEBUG=1 for a traceback)").format(
            error=f"{type(exc).__name__}: {exc}"))
        code = 70
    sys.exit(code)


def main(argv: list[str] | None = None, env: environment.Environment | None = None) -> None:
    """The console script: one run of dealcli with `argv` (else sys.argv) and `env`, the streams,
    terminal and variables it talks to (else the process's: dealcli/env.py)."""
    with environment.using(env or environment.Environment.of_process()):
        _main(argv)


if __name__ == "__main__":
    main()
