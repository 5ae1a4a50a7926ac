"""`pipeline edit P` with no operation: the pipeline file in an editor (crontab -e style),
driven by a fake editor script, through --editor and through $EDITOR on a pseudo-terminal."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import textwrap

import pytest

FAKE_EDITOR = textwrap.dedent("""\
    import json, os, sys
    path = sys.argv[-1]
    state = os.environ["FAKE_STATE"]
    n = int(open(state).read()) if os.path.exists(state) else 0
    open(state, "w").write(str(n + 1))
    edits = json.loads(os.environ["FAKE_EDITS"])
    if os.environ.get("FAKE_MEANWHILE"):  # somebody else changes the real file meanwhile
        with open(os.environ["FAKE_MEANWHILE"], "a") as fh:
            fh.write("# touched\\n")
    if n < len(edits):
        old, new = edits[n]
        text = open(path).read()
        assert old in text, old
        open(path, "w").write(text.replace(old, new, 1))
    """)


@pytest.fixture
def editor(tmp_path):
    script = tmp_path / "fake_editor.py"
    script.write_text(FAKE_EDITOR)
    state = tmp_path / "editor-calls"

    def run(cli, edits, input=None, meanwhile=None, args=()):
        if state.exists():
            state.unlink()
        env = {"FAKE_STATE": str(state), "FAKE_EDITS": json.dumps(edits)}
        if meanwhile:
            env["FAKE_MEANWHILE"] = str(meanwhile)
        proc = cli("pipeline", "edit", "sales", "--editor", f"{sys.executable} {script}", *args, input=input,
                   env=env)
        proc.calls = int(state.read_text()) if state.exists() else 0
        return proc

    run.script = script
    run.state = state
    return run


def pipeline_file(repo):
    return repo / "pipelines" / "sales.yaml"


def test_a_valid_edit_is_saved(cli, repo, editor):
    proc = editor(cli, [["name: Preparing documents", "name: Paperwork"]])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "sales\n"
    stages = json.loads(cli.ok("pipeline", "show", "sales", "-f", "json"))["stages"]
    assert stages[1]["name"] == "Paperwork" and stages[1]["id"] == "preparation"


def test_errors_offer_another_edit_and_the_second_try_is_saved(cli, repo, editor):
    proc = editor(cli, [["color: '#2FC6F6'", "color: blue"], ["color: blue", "color: '#0000FF'"]], input="y\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.calls == 2
    assert "colour 'blue' is not #RRGGBB" in proc.stderr and "Edit again?" in proc.stderr
    assert "'#0000FF'" in pipeline_file(repo).read_text()


@pytest.mark.parametrize("edits, needle", [
    ([["color: '#2FC6F6'", "color: blue"]], "colour 'blue'"),
    ([["semantics: success", "semantics: process"]], "exactly one success stage"),
    ([["stages:", "stages: [\n"]], "malformed YAML"),
    ([["id: sales", "id: other"]], "does not match the file name"),
    ([["card: {}", "card: {fields: [{name: x, type: moneyy}]}"]], "unknown type 'moneyy'"),
])
def test_giving_up_leaves_the_file_untouched(cli, repo, editor, edits, needle):
    before = pipeline_file(repo).read_bytes()
    proc = editor(cli, edits, input="n\n")
    assert proc.returncode == 1
    assert needle in proc.stderr
    assert "nothing saved" in proc.stderr.splitlines()[-1]
    assert pipeline_file(repo).read_bytes() == before
    assert proc.calls == 1


def test_a_stage_removed_in_the_editor_must_not_hold_deals(cli, repo, editor):
    cli.ok("deal", "add", "Held", "--stage", "apology")
    before = pipeline_file(repo).read_bytes()
    text = pipeline_file(repo).read_text()
    apology = text[text.index("- id: apology"):]
    proc = editor(cli, [[apology, ""]], input="")  # EOF at the prompt: give up
    assert proc.returncode == 1
    assert "'apology' would be removed but holds 1 deal(s)" in proc.stderr
    assert pipeline_file(repo).read_bytes() == before


def test_no_change_and_editor_failure_save_nothing(cli, repo, editor):
    before = pipeline_file(repo).read_bytes()
    proc = editor(cli, [])
    assert proc.returncode == 0 and "no changes" in proc.stderr and proc.stdout == ""
    proc = cli("pipeline", "edit", "sales", "--editor", "false")
    assert proc.returncode == 1 and "exited with status 1" in proc.stderr
    assert pipeline_file(repo).read_bytes() == before


def test_a_file_changed_while_editing_is_a_conflict_and_the_copy_is_kept(cli, repo, editor):
    proc = editor(cli, [["name: Sales", "name: Sales EU"]], meanwhile=pipeline_file(repo))
    assert proc.returncode == 4
    assert "changed on disk" in proc.stderr and "kept in" in proc.stderr
    kept = proc.stderr.split("kept in ")[1].split(")")[0]
    assert "name: Sales EU" in open(kept).read()
    os.unlink(kept)
    assert "Sales EU" not in pipeline_file(repo).read_text()


def test_no_operation_without_a_terminal_is_a_usage_error(cli, repo):
    proc = cli("pipeline", "edit", "sales", input="")
    assert proc.returncode == 2 and "$EDITOR" in proc.stderr


def test_editor_from_the_environment_on_a_terminal(cli, repo, editor):
    """The real interactive path: stdin and stdout are a pseudo-terminal, $EDITOR is used."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALCLI_")}
    env.update({"DEALCLI_DIR": str(repo), "DEALCLI_NOW": "2026-03-10T12:00:00+00:00", "NO_COLOR": "1",
                "EDITOR": f"{sys.executable} {editor.script}", "FAKE_STATE": str(editor.state),
                "FAKE_EDITS": json.dumps([["name: Sales", "name: Sales (pty)"]])})
    env.pop("VISUAL", None)
    leader, follower = pty.openpty()
    proc = subprocess.Popen([cli.exe, "pipeline", "edit", "sales"], stdin=follower, stdout=follower,
                            stderr=subprocess.PIPE, env=env)
    os.close(follower)
    output = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed: the process is done
            break
        if not chunk:
            break
        output += chunk
    code = proc.wait(timeout=30)
    os.close(leader)
    assert code == 0, proc.stderr.read()
    assert b"sales" in output
    assert "name: Sales (pty)" in pipeline_file(repo).read_text()


def test_the_editor_repairs_a_file_whose_values_are_broken(cli, repo, editor):
    path = pipeline_file(repo)
    path.write_text(path.read_text().replace("probability: 20", "probability: lots"))
    assert cli("pipeline", "show", "sales").returncode == 5
    proc = editor(cli, [["probability: lots", "probability: 25"]])
    assert proc.returncode == 0, proc.stderr
    assert json.loads(cli.ok("pipeline", "show", "sales", "-f", "json"))["stages"][1]["probability"] == 25
