"""Rotting days per stage (issue 26 item 6, in part): `rotting_days` on a stage of the pipeline
file; an open deal in that stage for longer is rotting: marked on the board, found by
`filter rotting=true` / `--preset rotting`, flagged in the agenda."""

from __future__ import annotations

import json

import yaml


def rot(repo, stage="new", days=3):
    path = repo / "pipelines" / "sales.yaml"
    data = yaml.safe_load(path.read_text())
    next(st for st in data["stages"] if st["id"] == stage)["rotting_days"] = days
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_deals_idle_in_a_stage_longer_than_its_rotting_days_are_rotting(cli, repo):
    rot(repo)
    old = cli.ok("deal", "add", "Old", now="2026-03-01T12:00:00+00:00").strip()
    fresh = cli.ok("deal", "add", "Fresh", now="2026-03-09T12:00:00+00:00").strip()
    moved = cli.ok("deal", "add", "Moved on", now="2026-03-01T12:00:00+00:00").strip()
    cli.ok("deal", "move", moved, "preparation", now="2026-03-02T12:00:00+00:00")  # no rotting_days there
    back = cli.ok("deal", "add", "Came back", now="2026-03-01T12:00:00+00:00").strip()
    cli.ok("deal", "move", back, "preparation", now="2026-03-02T12:00:00+00:00")
    cli.ok("deal", "move", back, "new", now="2026-03-09T00:00:00+00:00")  # entered again: the clock restarts
    assert cli.ok("check") == ""
    assert cli.ok("filter", "rotting=true", "-f", "ids") == f"{old}\n"
    assert cli.ok("filter", "--preset", "rotting", "-f", "ids") == f"{old}\n"
    assert set(cli.ok("filter", "rotting=false", "-f", "ids").split()) == {fresh, moved, back}
    board = json.loads(cli.ok("board", "-f", "json"))
    new = next(c for c in board["stages"] if c["id"] == "new")
    assert new["rotting_days"] == 3
    assert {d["id"]: d["rotting"] for d in new["deals"]} == {old: True, fresh: False, back: False}
    assert "rotting_days" not in next(c for c in board["stages"] if c["id"] == "preparation")
    text = cli.ok("board")
    assert "1 rotting (>3d)" in text and f"!{old[:6]} Old" in text
    agenda = {r["id"]: r["rotting"] for r in json.loads(cli.ok("agenda", "-f", "json"))}
    assert agenda[old] is True and agenda[fresh] is False
    assert "! Old" in cli.ok("agenda")
    assert "rots after" in cli.ok("pipeline", "show", "sales")
    # a closed deal never rots
    cli.ok("deal", "close", old, "--won")
    assert cli.ok("filter", "rotting=true", "-f", "ids") == ""


def test_a_bad_rotting_days_is_found_by_check(cli, repo):
    rot(repo, days=0)
    proc = cli("check")
    assert proc.returncode == 1 and "rotting_days" in proc.stdout
