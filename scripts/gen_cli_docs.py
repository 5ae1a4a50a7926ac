#!/usr/bin/env python3
"""Print docs/cli.md: every dealcli command with its --help text, generated from the Typer app
itself (tests/test_docs.py fails when docs/cli.md is stale: regenerate with `make docs`)."""

from __future__ import annotations


def iter_help():
    from typer.main import get_command

    from dealcli.cli import app

    root = get_command(app)

    def walk(cmd, path, parent):
        ctx = cmd.make_context(path[-1], [], parent=parent, resilient_parsing=True, terminal_width=100,
                               max_content_width=100)
        yield path, cmd, cmd.get_help(ctx)
        for name in getattr(cmd, "commands", {}) or {}:
            sub = cmd.commands[name]
            if not getattr(sub, "hidden", False):
                yield from walk(sub, path + [name], ctx)

    yield from walk(root, ["dealcli"], None)


def render() -> str:
    out = ["# dealcli command reference", "",
           "Generated from the program's own `--help` by `scripts/gen_cli_docs.py` (`make docs`);",
           "a test fails when this file is out of date. Exit codes: see [exit-codes.md](exit-codes.md).",
           ""]
    entries = list(iter_help())
    out.append("## Commands")
    out.append("")
    for path, _, _ in entries[1:]:
        if len(path) > 1:
            name = " ".join(path)
            out.append(f"- [`{name}`](#{name.replace(' ', '-')})")
    out.append("")
    for path, _, text in entries:
        name = " ".join(path)
        out.append(f'<a id="{name.replace(" ", "-")}"></a>')
        out.append(f"## `{name}`")
        out.append("")
        out.append("```")
        out.append(text.rstrip())
        out.append("```")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
