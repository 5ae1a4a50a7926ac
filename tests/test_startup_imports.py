"""Start-up stays light (issue 29, docs/performance.md "Start-up"): the modules a fresh
`dealcli deal show ID -f json` and `dealcli filter ... -f ids` import are listed, and the test
fails when one of them pulls in a heavy module: a third-party package beyond the Typer floor
and the storage stack, or a heavy part of the standard library. No timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Third-party packages these commands may import: Typer and what it imports itself (shellingham,
# annotated_doc), the YAML codec and the time zones of the session, and the site hooks.
ALLOWED_THIRD_PARTY = {"dealcli", "typer", "shellingham", "annotated_doc", "yaml", "_yaml", "dateutil", "six",
                       "_distutils_hack", "cython_runtime", "__main__"}
# Named by issue 29 (pydantic: Typer converts option values with it, cli._light_coercion avoids
# that), and standard-library packages no read command needs.
HEAVY = {"pydantic", "pydantic_core", "rich", "jsonschema", "tabulate", "dateutil.parser", "dateutil.relativedelta",
         "email", "http", "ssl", "asyncio", "multiprocessing", "concurrent", "xml", "logging", "unittest",
         "pydoc", "smtplib", "sklearn", "numpy", "pandas"}

PROBE = """
import json, sys
sys.argv = ["dealcli", *json.loads(sys.argv[1])]
from dealcli.cli import main
try:
    main()
finally:
    sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n")
"""


def _modules(repo, *args) -> tuple[set[str], str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(["--dir", str(repo), *args])],
                          capture_output=True, text=True, timeout=120,
                          env={"DEALCLI_USER": "tester@example.com", "TZ": "UTC", "PATH": "/usr/bin:/bin",
                               "PYTHONPATH": ":".join(p for p in sys.path if p)})
    assert proc.returncode == 0, proc.stderr
    line = [x for x in proc.stderr.splitlines() if x.startswith("MODULES ")][-1]
    return set(json.loads(line[len("MODULES "):])), proc.stdout


def _third_party(mods: set[str]) -> set[str]:
    tops = {m.split(".")[0] for m in mods}
    return {t for t in tops if t not in sys.stdlib_module_names and not t.startswith(("_cython", "_sysconfigdata"))}


def _heavy(mods: set[str]) -> set[str]:
    return {h for h in HEAVY if h in mods}


@pytest.fixture
def deal_repo(cli):
    deal = cli.ok("deal", "add", "Probe deal", "--amount", "1200").strip()
    cli.ok("filter", "-f", "ids")  # the index cache is built, as in the warm runs measured
    return cli.root, deal


@pytest.mark.parametrize("args", [("deal", "show", "{id}", "-f", "json"),
                                  ("filter", "amount>1000", "-f", "ids")], ids=["deal-show-json", "filter-ids"])
def test_read_commands_import_only_what_they_use(deal_repo, args):
    root, deal = deal_repo
    mods, out = _modules(root, *(a.format(id=deal[:6]) for a in args))
    assert deal in out  # the command ran and answered
    assert _third_party(mods) <= ALLOWED_THIRD_PARTY, sorted(_third_party(mods) - ALLOWED_THIRD_PARTY)
    assert not _heavy(mods), sorted(_heavy(mods))


def test_option_values_still_converted_and_refused_like_typer(cli):
    """The light conversion gives what Typer's own gives, and a refused value is still worded
    by Typer (the fall-back path imports pydantic only then)."""
    cli.ok("deal", "add", "One", "--amount", "10")
    cli.ok("deal", "add", "Two", "--amount", "20")
    assert len(cli.ok("filter", "--limit", "1", "-f", "ids").split()) == 1
    assert len(cli.ok("filter", "-f", "IDS").split()) == 2  # choices: case as Typer allows
    bad = cli("filter", "--limit", "x")
    assert bad.returncode == 2 and "Invalid value for '--limit'" in bad.stderr and "integer" in bad.stderr
    bad = cli("filter", "-f", "nope")
    assert bad.returncode == 2 and "'nope' is not one of" in bad.stderr
