"""`dealcli check --since REV`: only what changed since a git revision and the records linking to
it (found through the index cache's link keys), with the same validators as the whole check."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git binary")


def git(root: Path, *args: str) -> str:
    out = subprocess.run(["git", "-C", str(root), "-c", "user.email=t@x.io", "-c", "user.name=t", *args],
                         capture_output=True, text=True, check=True)
    return out.stdout


def rules(r) -> list[tuple[str, str]]:
    return sorted((p["rule"], p["path"]) for p in json.loads(r.stdout or "[]"))


@pytest.fixture
def history(cli, repo):
    """A committed repository holding an old problem (a deal in a stage that does not exist) and a
    company with a deal and an activity linking to it."""
    git(repo, "init", "-q")
    old = cli.ok("deal", "add", "Old problem").strip()
    path = repo / "deals" / f"{old}.yaml"
    path.write_text(path.read_text().replace("stage: new", "stage: nowhere"))
    linked = cli.ok("deal", "add", "Linked", "--company", "Acme").strip()
    company = next((repo / "companies").glob("*.yaml")).stem
    cli.ok("activity", "add", linked, "--type", "call", "--subject", "Call", "--due", "tomorrow")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "start")
    return {"old": old, "linked": linked, "company": company}


def test_only_what_changed_is_checked(cli, repo, history):
    assert cli("check").returncode == 1  # the whole repository holds the old problem
    r = cli("check", "--since", "HEAD", "-f", "json")
    assert r.returncode == 0 and rules(r) == [], r.stdout
    fresh = cli.ok("deal", "add", "Fresh").strip()
    path = repo / "deals" / f"{fresh}.yaml"
    path.write_text(path.read_text().replace("stage: new", "stage: elsewhere"))
    r = cli("check", "--since", "HEAD", "-f", "json")
    assert r.returncode == 1 and rules(r) == [("stage-exists", f"deals/{fresh}.yaml")], r.stdout


def test_a_deleted_record_checks_the_records_linking_to_it(cli, repo, history):
    (repo / "companies" / f"{history['company']}.yaml").unlink()
    r = cli("check", "--since", "HEAD", "-f", "json")
    assert r.returncode == 1
    assert rules(r) == [("dangling-link", f"deals/{history['linked']}.yaml")], r.stdout
    (repo / "companies" / f"{history['company']}.yaml").write_text(
        git(repo, "show", f"HEAD:companies/{history['company']}.yaml"))
    (repo / "deals" / f"{history['linked']}.yaml").unlink()
    r = cli("check", "--since", "HEAD", "-f", "json")
    activity = next((repo / "activities").glob("*.yaml")).stem
    assert ("dangling-link", f"activities/{activity}.yaml") in rules(r), r.stdout


def test_a_settings_or_pipeline_change_checks_everything(cli, repo, history):
    cli.ok("pipeline", "edit", "sales", "--rename-stage", "new", "Fresh")
    r = cli("check", "--since", "HEAD", "-f", "json")
    assert r.returncode == 1 and ("stage-exists", f"deals/{history['old']}.yaml") in rules(r)


def test_an_unknown_revision_is_a_usage_error(cli, repo, history):
    r = cli("check", "--since", "no-such-rev")
    assert r.returncode == 2 and "--since no-such-rev: not a git revision" in r.stderr, r.stderr
