"""Issue 29 item 4: the report sections that are plain group-bys (win rate, lost reasons, forecast,
repeat sales; the activities beside them) count the settled deals by GROUP BY queries over the
index cache's exact columns, and read only the other deals. Their output must be exactly what
the pure Python path gives (DEALCLI_NO_INDEX=1): generated repositories with odd amounts,
several currencies, missing and null fields, amounts too big or too fine for the SQL path, text
in a money field, deals in unknown pipelines, hand edits (one left unsettled), deletions; and
for a user with restricted rights, who never takes the SQL path."""

from __future__ import annotations

import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import Runner
from dealcli import reports
from dealcli.storage import index

SQL = "win-rate,lost-reasons,forecast,repeat-sales,activities"
PLAIN = "win-rate,lost-reasons,forecast,repeat-sales"
ADMIN = "boss@x.io"
# mostly amounts the SQL path takes (and often the same, so that groups hold several deals); now
# and then one it cannot (too big, too fine: the whole report goes back to Python) or text
COMMON = ["0", "1", "-12.50", "360.00", "0.005", "1E+3", "-0.00", "999999999999", "2940.10", "7", "null"]
AMOUNTS = ["1000000000000", "123456789012.5", "0.1234567", "99999999999999.99", '"12.50"']
CURRENCIES = [None, "USD", "EUR", "JPY", "KWD", "''", "usd"]
LOST = [None, "null", "Price", "price", "' price '", "''", "Timing"]


def _init(root) -> None:
    Runner(root.parent)("init", root, "--timezone", "UTC", check=True)
    (root / "pipelines" / "partners.yaml").write_text(
        (root / "pipelines" / "sales.yaml").read_text().replace("id: sales", "id: partners", 1))
    (root / "deals").mkdir(exist_ok=True)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """Two repositories with two pipelines: one without users (the SQL path), one with users:
    boss (admin), alice and bob (managers in their own departments: a guard on every read)."""
    plain = tmp_path_factory.mktemp("sql") / "plain"
    _init(plain)
    users = tmp_path_factory.mktemp("sql") / "users"
    _init(users)
    cli = Runner(users)
    cli.ok("user", "add", "boss", "--email", ADMIN, "--role", "admin", user=ADMIN)
    cli.ok("dept", "add", "east", "--head", "boss", user=ADMIN)
    cli.ok("dept", "add", "west", "--head", "boss", user=ADMIN)
    cli.ok("user", "add", "alice", "--email", "alice@x.io", "--dept", "east", user=ADMIN)
    cli.ok("user", "add", "bob", "--email", "bob@x.io", "--dept", "west", user=ADMIN)
    return plain, users


deal = st.fixed_dictionaries({
    "pipeline": st.sampled_from(["sales", "partners", "ghost", "Sales"]),
    "stage": st.sampled_from(["new", "new", "executing", "won", "lose", "nowhere"]),
    "status": st.sampled_from([None, "open", "won", "lost"]),
    "amount": st.one_of(st.sampled_from(COMMON), st.none(), st.sampled_from(COMMON),
                        st.decimals(min_value=-10**6, max_value=10**6, places=2).map(str),
                        st.sampled_from(COMMON), st.sampled_from(AMOUNTS)),
    "currency": st.sampled_from(CURRENCIES),
    "probability": st.sampled_from([None, "null", "0", "35", "100"]),
    "close_date": st.sampled_from([None, "2026-03-02", "2026-03-30", "2025-12-31", "2026-13-01", "null"]),
    "lost_reason": st.sampled_from(LOST),
    "repeat": st.sampled_from([None, "true", "false"]),
    "responsible": st.sampled_from(["alice@x.io", "bob@x.io", None]),
})


def _text(i: int, d: dict) -> str:
    lines = ["format: 1", f"id: t{i:04d}", f"title: Deal {i}"]
    for key, value in d.items():
        if value is not None:
            lines.append(f"{key}: {value}")
    return "\n".join(lines) + "\n"


def _outputs(plain: Runner, users: Runner, cache: bool) -> dict:
    env = None if cache else {"DEALCLI_NO_INDEX": "1"}
    out = {}
    for name, run, args, user in (
            ("all", plain, ("report", "-s", SQL), ADMIN),
            ("sales", plain, ("report", "-s", PLAIN, "--pipeline", "sales"), ADMIN),
            ("board", plain, ("board",), ADMIN),
            ("whole", plain, ("report",), ADMIN),
            ("alice", users, ("report", "-s", SQL), "alice@x.io"),
            ("alice sales", users, ("report", "-s", PLAIN, "--pipeline", "sales"), "alice@x.io"),
            ("boss", users, ("report", "-s", SQL), ADMIN)):
        got = run(*args, "-f", "json", user=user, env=env)
        out[name] = (got.returncode, got.stdout, got.stderr)
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(deals=st.lists(deal, min_size=0, max_size=30), edits=st.lists(deal, max_size=4),
       deletes=st.sets(st.integers(0, 29), max_size=3), unsettled=st.booleans())
def test_sql_sections_give_exactly_the_python_output(base, tmp_path_factory, monkeypatch, deals, edits, deletes,
                                                     unsettled):
    import shutil

    monkeypatch.setattr(index, "SETTLE_NS", 0)  # files written before a scan are settled at once
    top = tmp_path_factory.mktemp("gen")
    roots = [top / "plain", top / "users"]
    for src, root in zip(base, roots, strict=True):
        shutil.copytree(src, root)
        for i, d in enumerate(deals):
            (root / "deals" / f"t{i:04d}.yaml").write_text(_text(i, d))
    plain, users = (Runner(root, subprocess=False) for root in roots)
    plain("report", "-f", "json", "-s", SQL)  # fills the caches
    users("report", "-f", "json", "-s", SQL, user=ADMIN)
    for root in roots:
        for i, d in enumerate(edits[:len(deals)]):  # hand edits after the cache was filled
            path = root / "deals" / f"t{i:04d}.yaml"
            path.write_text(_text(i, d))
            if unsettled and i == 0:  # a timestamp in the future: the cache cannot trust its stat
                future = time.time() + 3600
                os.utime(path, (future, future))
        for i in deletes:
            (root / "deals" / f"t{i:04d}.yaml").unlink(missing_ok=True)
    warm = _outputs(plain, users, cache=True)
    assert _outputs(plain, users, cache=True) == warm
    assert _outputs(plain, users, cache=False) == warm


def test_the_sql_path_answers_settled_deals_and_falls_back_when_it_must(base, tmp_path, monkeypatch):
    """The GROUP BY path is really taken (bins, no record read) for settled plain deals; a deal
    whose amount is too big or too fine for it sends the whole report back to Python."""
    import shutil

    from dealcli.session import Session

    monkeypatch.setattr(index, "SETTLE_NS", 0)
    root = tmp_path / "repo"
    shutil.copytree(base[0], root)
    for i, amount in enumerate(["10.50", "3", "10.50", "0.005"]):
        (root / "deals" / f"t{i:04d}.yaml").write_text(_text(i, {"pipeline": "sales", "stage": "new",
                                                                 "amount": amount, "currency": "USD"}))
    run = Runner(root, subprocess=False)
    run.ok("report", "-f", "json")

    def deals_of(section_list):
        s = Session(repo_root=root, as_user=ADMIN, quiet=True)
        return reports._deals(s, section_list, [], None, None, s.all_pipelines([]))

    records, bins = deals_of(["forecast", "win_rate"])
    assert records == [] and sum(n for _, n, _ in bins["deals"]) == 4
    assert [(str(r["amount"]), n, str(a)) for r, n, a in bins["forecast"] if r["amount"] == 10.5] == [
        ("10.50", 2, "21.00")]
    records, bins = deals_of(["forecast", "funnel"])  # the funnel reads the history: every record
    assert len(records) == 4 and not any(bins.values())
    (root / "deals" / "t0003.yaml").write_text(_text(3, {"pipeline": "sales", "stage": "new",
                                                         "amount": "0.1234567"}))
    records, bins = deals_of(["forecast"])
    assert len(records) == 4 and not any(bins.values())  # too fine for SQL: all in Python
    plain = run.ok("report", "-f", "json", "-s", SQL, env={"DEALCLI_NO_INDEX": "1"})
    assert run.ok("report", "-f", "json", "-s", SQL) == plain


def test_groups_refuses_rows_changed_since_the_scan(base, tmp_path, monkeypatch):
    import shutil

    from dealcli.session import Session

    monkeypatch.setattr(index, "SETTLE_NS", 0)
    root = tmp_path / "repo"
    shutil.copytree(base[0], root)
    (root / "deals" / "t0000.yaml").write_text(_text(0, {"pipeline": "sales", "stage": "new", "amount": "5"}))
    s = Session(repo_root=root, as_user=ADMIN, quiet=True)
    answered: dict = {}
    list(s.repo.index.records("deals", [], where=[index.Unanswered()], answered=answered))
    list(s.repo.index.records("deals", [], where=[index.Unanswered()], answered=answered))
    assert list(answered) == ["t0000"]
    q = ["SELECT count(*), sum(x_units) FROM rows"]
    assert s.repo.index.groups("deals", answered, "1", [], q) == [[(1, 5)]]
    assert s.repo.index.groups("deals", {"t0000": b"another stamp"}, "1", [], q) is None
