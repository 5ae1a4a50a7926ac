"""Issue 29 item 6: the fast generator of benchmarks/fastgen.py writes records from templates;
its bytes must be exactly what dealcli writes for the same record (the model's to_dict through
yamlcodec.dumps), and a repository it makes (with its git history) must pass `dealcli check`."""

import random
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Runner
from dealcli.model import Deal
from dealcli.model.activity import STANDARD, Activity
from dealcli.model.client import Company, Contact
from dealcli.storage import yamlcodec

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import fastgen  # noqa: E402
import generate  # noqa: E402

# titles the template must write as dealcli does: plain, single-quoted (the resolver would read
# them as something else), Unicode, and ones only the emitter writes (the record falls back)
ODD_TITLES = ("yes", "No", "null", "~", "1000", "0x1f", "3.14", "1e3", "2026-03-10", "12:30",
              "O'Brien's deal", "Café Ünïcode сделка 取引", "a: b", "#hash", "- dash", "tail ", "@at",
              "x" * 1200, "percent 100%", "line\nbreak", "tab\there", "'quoted'", "\"dq\"", "[list]", "{map}")


def _dealcli_writes(data: dict, model) -> str:
    return yamlcodec.dumps(model.from_dict(dict(data)).to_dict())


@pytest.mark.parametrize("seed", range(4))
def test_deal_text_is_what_dealcli_writes(seed):
    rng = random.Random(seed)
    pipes = generate.pipelines()
    companies = [generate.rid(rng) for _ in range(5)] + ["1000000000", "0x12345ab"]  # ids read as numbers
    contacts = [generate.rid(rng) for _ in range(5)]
    seen = set()
    for i in range(600):
        titles = (lambda r: r.choice(ODD_TITLES)) if i % 2 else None
        deal_id = generate.rid(rng)
        d = fastgen.draw(rng, deal_id, pipes, companies, contacts, titles=titles)
        text = fastgen.deal_text(d)
        assert text == _dealcli_writes(fastgen.deal_dict(d), Deal), d["title"]
        seen.add((d["stage"].semantics, bool(d["comments"]), d["closed"] is not None and bool(d["closed"][1])))
    assert len(seen) >= 5  # open, won and lost deals, with and without comments, lost with a reason


def test_the_template_itself_answers_for_ordinary_records():
    """The speed comes from the template: ordinary records never fall back to the codec."""
    rng = random.Random(3)
    pipes = generate.pipelines()
    for _ in range(200):
        d = fastgen.draw(rng, generate.rid(rng), pipes, ["c1aaaaaaaa"], ["k1aaaaaaaa", "k2aaaaaaaa"])
        assert fastgen._deal_text(d) == _dealcli_writes(fastgen.deal_dict(d), Deal)


def test_activity_and_client_texts_are_what_dealcli_writes():
    rng = random.Random(7)
    for _ in range(300):
        a = fastgen.activity_dict(rng, generate.rid(rng))
        assert fastgen.activity_text(a) == _dealcli_writes(a, Activity)
        assert tuple(a) == tuple(k for k in STANDARD if k in a)  # a new activity's own key order
    odd = {"company": ["Ünïcode GmbH", "yes", "O'Hara & Sons", "a: b"], "contact": ["Ann Lee", "null"]}
    companies: list[str] = []
    for which, model in (("company", Company), ("contact", Contact)):
        for i in range(40):
            c = generate.client(rng, i, which, companies)
            c["id"] = generate.rid(rng)
            if i < len(odd[which]):
                c["name"] = odd[which][i]
                c["phones"] = [["+12", "+1 (555) 0101"], ["+", "+ 1"], ["+1e3", "+yes"], ["+0x1f"]][i % 4]
            if which == "company":
                companies.append(c["id"])
            assert fastgen.client_text(c, which) == _dealcli_writes(c, model)


def test_a_generated_repository_passes_check_with_its_history(tmp_path):
    root = tmp_path / "repo"
    made = fastgen.generate(root, 300, seed=5, history=2, shards=2)
    assert made["deals"] == 300 and made["activities"] > 100 and made["companies"] == 15
    git = lambda *a: subprocess.run(["git", "-C", str(root), *a], capture_output=True, text=True, check=True).stdout  # noqa: E731
    assert git("status", "--porcelain") == ""  # the files on disk are the last commit, the index is fresh
    assert git("log", "--format=%s").splitlines() == ["rename 100 deals (2)", "rename 100 deals (1)", "deals"]
    assert git("diff", "--name-only", "HEAD~1").count("deals/") == 100
    renamed = git("diff", "HEAD~2", "--", "deals").count("\n+title: Renamed ")
    assert renamed == 200
    # the sharded branch: the same blobs, deals under deals/<two characters>/
    flat = dict(line.split("\t")[::-1] for line in git("ls-tree", "-r", "HEAD~2", "deals").splitlines())
    sharded = dict(line.split("\t")[::-1] for line in git("ls-tree", "-r", "sharded", "deals").splitlines())
    assert {f"deals/{p[6:8]}/{p[6:]}": blob for p, blob in flat.items()} == sharded
    run = Runner(root, subprocess=False)
    res = run("check")
    assert res.returncode == 0, res.stdout + res.stderr
    res = run("check", "--since", "HEAD~1")
    assert res.returncode == 0, res.stdout + res.stderr
    assert subprocess.run(["git", "-C", str(root), "fsck", "--strict"], capture_output=True).returncode == 0


def test_a_generated_repository_is_committed_again_from_its_files(tmp_path):
    """A run stopped before its commits: commit_existing commits the files as generated (the
    renamed deals without their prefix first), then the same history."""
    import shutil

    root = tmp_path / "repo"
    fastgen.generate(root, 120, seed=6, history=1)
    git = lambda *a: subprocess.run(["git", "-C", str(root), *a], capture_output=True, text=True, check=True).stdout  # noqa: E731
    trees = git("log", "--format=%T")
    shutil.rmtree(root / ".git")
    made = fastgen.commit_existing(root, history=1)
    assert made["deals"] == 120
    assert git("log", "--format=%T") == trees  # the same trees, commit for commit
    assert git("status", "--porcelain") == ""
