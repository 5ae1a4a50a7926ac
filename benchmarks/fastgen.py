"""A fast generator for very large benchmark repositories (issue 29, item 6: a million deals).

    python benchmarks/fastgen.py OUT_DIR --deals 1000000 [--seed 8] [--history 3] [--shards 2]

generate.py builds a dict per record and writes it with dealcli's codec (about 165 deals a
second on two loaded cores: a million took longer than a session). This writer draws the same
kind of records (generate.py's vocabularies, pipelines and ratios: one activity per second deal,
a company per 20 deals, two contacts per company) and writes their YAML text from templates, one
scalar at a time through the codec's own scalar writer (`yamlcodec._text`); a record with a
string the direct writer would not write plain or single-quoted goes whole through
`yamlcodec.dumps`. The bytes are what dealcli itself writes for the same record (the models'
field order and money written as `money.canonical`): tests/test_generate_fast.py asserts it for
generated records with odd values, and that `dealcli check` passes on a generated repository.

Git: the files are streamed to `git fast-import` as they are written (one pack, no loose
objects, no `git add` stat-ing a million files), as one commit of everything and then
--history commits that rename a hundred deals each; the index is then read from HEAD and
refreshed against the files. With --shards N a second branch `sharded` holds the same blobs
with deals under deals/<first N characters of the id>/, so the tree objects of both layouts
can be compared with plain git.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterator

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import generate as g  # noqa: E402  the vocabularies, pipelines and ratios
from dealcli import FORMAT_VERSION, money  # noqa: E402
from dealcli.storage import yamlcodec  # noqa: E402

_text = yamlcodec._text  # the codec's own writer of one string scalar (None: not written directly)
EPOCH = 1_773_144_000  # the commits' time (2026-03-10 12:00 UTC, generate.NOW)
STAMP = "+00:00"


class Fallback(Exception):
    """A value the template does not write: the record goes through yamlcodec.dumps."""


def s(v: str | None) -> str:
    if v is None:
        return "null"
    out = _text(v)
    if out is None:
        raise Fallback(v)
    return out


def phone(v: str) -> str:
    """A phone number: `+` and then plain text is written plain by the emitter (the direct writer
    leaves a leading `+` to it) unless the resolver reads it as a number (`+12`)."""
    if v[:1] == "+" and _text(v[1:]) == v[1:] and yamlcodec._resolves(v, "tag:yaml.org,2002:str"):
        return v
    return s(v)


def iso(t: dt.datetime) -> str:
    return t.isoformat()


# -- one deal: the random draws (a tuple-like dict), then its dict or its text ----------------------
_ROWS: dict[tuple, tuple[str, Decimal]] = {}


def _row(name: str, price: str, qty: int, disc: int, tax: int) -> tuple[str, Decimal]:
    key = (name, price, qty, disc, tax)
    found = _ROWS.get(key)
    if found is None:
        total = money.row_total(Decimal(price), Decimal(qty), Decimal(disc), Decimal(tax), False)
        text = (f"- name: {s(name)}\n  product: null\n  price: {money.canonical(Decimal(price))}\n"
                f"  quantity: {qty}\n  discount: {disc}\n  tax_rate: {tax}\n  tax_included: false\n")
        found = _ROWS[key] = (text, total)
    return found


def draw(rng: random.Random, deal_id: str, pipes: list, companies: list[str], contacts: list[str],
         titles: Callable[[random.Random], str] | None = None) -> dict[str, Any]:
    """Every random choice of one deal (generate.deal's distribution)."""
    pipe = pipes[0] if rng.random() < 0.6 else pipes[1 + (rng.random() < 0.5)]
    stage = rng.choice(pipe.stages)
    created = g.NOW - dt.timedelta(days=rng.randint(1, 900), minutes=rng.randint(0, 1440))
    products = [(*rng.choice(g.PRODUCTS), rng.choice((1, 1, 2, 3, 5, 12, 24)), rng.choice((0, 0, 5, 10, 15)),
                 rng.choice((0, 0, 20))) for _ in range(rng.randint(1, 4))]
    t = created
    comments = []
    for _ in range(rng.randint(0, 3)):
        t += dt.timedelta(hours=rng.randint(2, 200))
        comments.append((t, rng.choice(g.COMMENTS)))
    moved = None
    if stage.id != pipe.first.id:
        t += dt.timedelta(hours=rng.randint(2, 200))
        moved = (t, stage.id if stage.semantics == "process" else pipe.stages[1].id)
    closed = None
    if stage.semantics != "process":
        t += dt.timedelta(hours=rng.randint(2, 200))
        closed = (t, rng.choice(g.LOST) if stage.semantics == "failure" else None)
    n_contacts = min(len(contacts), rng.choice((0, 1, 1, 2)))
    title = titles(rng) if titles else f"{rng.choice(g.WORDS)} {rng.choice(g.WORDS).lower()} {rng.choice(g.SUFFIX)}"
    return {
        "id": deal_id, "title": title, "pipe": pipe, "stage": stage, "created": created, "modified": t,
        "user": rng.choice(g.USERS), "products": products, "comments": comments, "moved": moved, "closed": closed,
        "currency": rng.choice(("USD", "USD", "EUR")), "company": rng.choice(companies) if companies else None,
        "contacts": rng.sample(contacts, k=n_contacts), "type": rng.choice(g.TYPES), "source": rng.choice(g.SOURCES),
        "close_date": (created + dt.timedelta(days=rng.randint(10, 120))).date(), "repeat": rng.random() < 0.2,
        "segment": rng.choice(("smb", "mid", "enterprise")), "region": rng.choice(("emea", "amer", "apac")),
    }


STATUS = {"process": "open", "success": "won", "failure": "lost"}


def _events(d: dict[str, Any]) -> list[dict[str, Any]]:
    user, pipe = d["user"], d["pipe"]
    out: list[dict[str, Any]] = [{"at": iso(d["created"]), "by": user, "kind": "created", "stage": pipe.first.id,
                                  "pipeline": pipe.id}]
    out += [{"at": iso(t), "by": user, "kind": "commented", "text": text} for t, text in d["comments"]]
    if d["moved"]:
        out.append({"at": iso(d["moved"][0]), "by": user, "kind": "moved", "from": pipe.first.id, "to": d["moved"][1]})
    if d["closed"]:
        ev = {"at": iso(d["closed"][0]), "by": user, "kind": "closed", "status": STATUS[d["stage"].semantics],
              "stage": d["stage"].id}
        if d["closed"][1]:
            ev["reason"] = d["closed"][1]
        out.append(ev)
    return out


def deal_dict(d: dict[str, Any]) -> dict[str, Any]:
    """The record as a dict, in generate.deal's shape (the test passes it through the model)."""
    amount = sum((_row(*p)[1] for p in d["products"]), Decimal(0))
    user = d["user"]
    return {
        "format": FORMAT_VERSION, "id": d["id"], "title": d["title"], "pipeline": d["pipe"].id,
        "stage": d["stage"].id, "status": STATUS[d["stage"].semantics], "amount": amount, "currency": d["currency"],
        "manual_amount": False, "company": d["company"], "contacts": list(d["contacts"]),
        "products": [{"name": n, "product": None, "price": Decimal(p), "quantity": Decimal(q), "discount": Decimal(di),
                      "tax_rate": Decimal(tx), "tax_included": False} for n, p, q, di, tx in d["products"]],
        "type": d["type"], "source": d["source"], "responsible": user, "created_by": user,
        "created": iso(d["created"]), "modified": iso(d["modified"]), "begin": d["created"].date().isoformat(),
        "close_date": d["close_date"].isoformat(), "closed_at": iso(d["closed"][0]) if d["closed"] else None,
        "probability": d["stage"].probability, "repeat": d["repeat"],
        "lost_reason": d["closed"][1] if d["closed"] else None, "origin_id": None,
        "fields": {"segment": d["segment"], "region": d["region"]},
        "comments": [{"at": iso(t), "by": user, "text": text} for t, text in d["comments"]],
        "history": _events(d),
    }


def _model_text(data: dict[str, Any], kind: str) -> str:
    """What dealcli writes for a record: its model's to_dict through yamlcodec.dumps."""
    from dealcli.model import Deal
    from dealcli.model.activity import Activity
    from dealcli.model.client import Company, Contact

    model = {"deal": Deal, "activity": Activity, "company": Company, "contact": Contact}[kind]
    return yamlcodec.dumps(model.from_dict(dict(data)).to_dict())


def deal_text(d: dict[str, Any]) -> str:
    try:
        return _deal_text(d)
    except Fallback:
        return _model_text(deal_dict(d), "deal")


def _deal_text(d: dict[str, Any]) -> str:
    user = s(d["user"])
    stage, pipe = d["stage"], d["pipe"]
    rows = [_row(*p) for p in d["products"]]
    amount = sum((r[1] for r in rows), Decimal(0))
    contacts = "".join(f"\n- {s(c)}" for c in d["contacts"]) if d["contacts"] else " []"
    comments = "".join(f"\n- at: {iso(t)}\n  by: {user}\n  text: {s(text)}" for t, text in d["comments"])
    hist = [f"- at: {iso(d['created'])}\n  by: {user}\n  kind: created\n  stage: {pipe.first.id}\n"
            f"  pipeline: {pipe.id}\n"]
    hist += [f"- at: {iso(t)}\n  by: {user}\n  kind: commented\n  text: {s(text)}\n" for t, text in d["comments"]]
    if d["moved"]:
        hist.append(f"- at: {iso(d['moved'][0])}\n  by: {user}\n  kind: moved\n  from: {pipe.first.id}\n"
                    f"  to: {d['moved'][1]}\n")
    closed_at = lost = "null"
    if d["closed"]:
        closed_at = iso(d["closed"][0])
        reason = d["closed"][1]
        hist.append(f"- at: {closed_at}\n  by: {user}\n  kind: closed\n  status: {STATUS[stage.semantics]}\n"
                    f"  stage: {stage.id}\n" + (f"  reason: {s(reason)}\n" if reason else ""))
        lost = s(reason)
    created = d["created"]
    return (
        f"format: {FORMAT_VERSION}\nid: {s(d['id'])}\ntitle: {s(d['title'])}\npipeline: {pipe.id}\n"
        f"stage: {stage.id}\nstatus: {STATUS[stage.semantics]}\namount: {amount}\ncurrency: {d['currency']}\n"
        f"manual_amount: false\ncompany: {s(d['company'])}\ncontacts:{contacts}\nproducts:\n"
        f"{''.join(r[0] for r in rows)}"
        f"type: {s(d['type'])}\nsource: {s(d['source'])}\nresponsible: {user}\ncreated_by: {user}\n"
        f"created: {iso(created)}\nmodified: {iso(d['modified'])}\nbegin: {created.date().isoformat()}\n"
        f"close_date: {d['close_date'].isoformat()}\nclosed_at: {closed_at}\nprobability: {stage.probability}\n"
        f"repeat: {'true' if d['repeat'] else 'false'}\nlost_reason: {lost}\norigin_id: null\n"
        f"fields:\n  segment: {s(d['segment'])}\n  region: {s(d['region'])}\n"
        f"comments:{comments if comments else ' []'}\nhistory:\n{''.join(hist)}"
    )


# -- activities, companies, contacts --------------------------------------------------------------
def activity_dict(rng: random.Random, deal_id: str) -> dict[str, Any]:
    done = rng.random() < 0.5
    due = g.NOW + dt.timedelta(days=rng.randint(-30, 60), hours=rng.randint(0, 23))
    return {"format": FORMAT_VERSION, "id": g.rid(rng), "deal": deal_id,
            "type": rng.choice(("call", "meeting", "task", "email")), "subject": "Follow up",
            "due": iso(due), "responsible": rng.choice(g.USERS), "done": done,
            "done_at": iso(due) if done else None, "created": iso(due - dt.timedelta(days=3)),
            "created_by": rng.choice(g.USERS)}


def activity_text(a: dict[str, Any]) -> str:
    try:
        return (f"format: {FORMAT_VERSION}\nid: {s(a['id'])}\ndeal: {s(a['deal'])}\ntype: {a['type']}\n"
                f"subject: {s(a['subject'])}\ndue: {a['due']}\nresponsible: {s(a['responsible'])}\n"
                f"done: {'true' if a['done'] else 'false'}\ndone_at: {a['done_at'] or 'null'}\n"
                f"created: {a['created']}\ncreated_by: {s(a['created_by'])}\n")
    except Fallback:
        return _model_text(a, "activity")


def client_text(c: dict[str, Any], which: str) -> str:
    try:
        lists = "".join(f"{k}:" + ("".join(f"\n- {write(v)}" for v in c[k]) if c[k] else " []") + "\n"
                        for k, write in (("emails", s), ("phones", phone)))
        middle = f"company: {s(c['company'])}\nbirthday: null\n" if which == "contact" else ""
        return (f"format: {FORMAT_VERSION}\nid: {s(c['id'])}\nname: {s(c['name'])}\n{lists}{middle}"
                f"responsible: {s(c['responsible'])}\nfields: {{}}\ncreated: {c['created']}\n"
                f"created_by: {s(c['created_by'])}\n")
    except Fallback:
        return _model_text(c, which)


def renamed(text: str) -> str:
    """A history commit's edit of a deal (million.py's): its title gets a prefix."""
    return text.replace("\ntitle: ", "\ntitle: Renamed ", 1)


# -- the repository --------------------------------------------------------------------------------
def records(deals: int, seed: int, companies: int | None = None) -> Iterator[tuple[str, str]]:
    """(path, text) of every generated record: companies, contacts, deals (each second one followed
    by its activity), in a deterministic order."""
    rng = random.Random(f"{seed}-clients")
    n_companies = companies if companies is not None else max(3, deals // 20)
    company_ids: list[str] = []
    contact_ids: list[str] = []
    for which, count, folder, ids in (("company", n_companies, "companies", company_ids),
                                       ("contact", n_companies * 2, "contacts", contact_ids)):
        for i in range(count):
            c = g.client(rng, i, which, company_ids)
            c["id"] = g.rid(rng)
            ids.append(c["id"])
            yield f"{folder}/{c['id']}.yaml", client_text(c, which)
    pipes = g.pipelines()
    for start in range(0, deals, 10_000):
        rng = random.Random(f"{seed}-deals-{start}")
        for _ in range(start, min(start + 10_000, deals)):
            deal_id = g.rid(rng)
            yield f"deals/{deal_id}.yaml", deal_text(draw(rng, deal_id, pipes, company_ids, contact_ids))
            if rng.random() < 0.5:
                a = activity_dict(rng, deal_id)
                yield f"activities/{a['id']}.yaml", activity_text(a)


def _git(root: Path, *args: str, **kw: Any) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
    return subprocess.run(["git", "-C", str(root), *args], env=env, check=True, **kw)


def generate(root: Path, deals: int, seed: int = 8, history: int = 3, shards: int = 0,
             companies: int | None = None, log: Callable[[str], None] = lambda m: None) -> dict[str, float]:
    """Write the repository and its git history; returns seconds per step and counts."""
    root = Path(root)
    if (root / "dealcli.yaml").exists():
        raise SystemExit(f"{root}: already a repository; remove it first")
    from dealcli.repo_init import init

    started = time.perf_counter()
    init(root, currency="USD", timezone="UTC")
    for pipe in g.pipelines():
        (root / "pipelines" / f"{pipe.id}.yaml").write_text(yamlcodec.dumps(pipe.to_dict()))
    for folder in ("companies", "contacts", "deals", "activities"):
        (root / folder).mkdir(exist_ok=True)
    _git(root, "init", "-q")
    branch = _git(root, "symbolic-ref", "--short", "HEAD", capture_output=True, text=True).stdout.strip()
    fi = subprocess.Popen(["git", "-C", str(root), "fast-import", "--quiet", "--done"], stdin=subprocess.PIPE,
                          bufsize=1 << 20)
    out = fi.stdin
    assert out is not None
    commit_no = [0]

    def commit(ref: str, message: str) -> None:  # on top of the ref's tip (fast-import's own)
        commit_no[0] += 1
        msg = message.encode()
        out.write(f"commit refs/heads/{ref}\n"
                  f"committer bench <bench@example.com> {EPOCH + commit_no[0]} +0000\n".encode())
        out.write(b"data %d\n%s\n" % (len(msg), msg))

    # every file is a marked blob written as it is made; the commits name the marks (the sharded
    # branch reuses them)
    tracked = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and ".git" not in p.parts]
    counts = {"deals": 0, "activities": 0, "companies": 0, "contacts": 0}
    first_deals: list[tuple[str, str, int]] = []  # the deals the history commits rename
    marks: list[tuple[str, int]] = []  # every file of the first commit
    mark = 0

    def blob(data: bytes) -> int:
        nonlocal mark
        mark += 1
        out.write(b"blob\nmark :%d\ndata %d\n%s\n" % (mark, len(data), data))
        return mark

    for rel in tracked:
        marks.append((rel, blob((root / rel).read_bytes())))
    t0 = time.perf_counter()
    n = 0
    for rel, text in records(deals, seed, companies):
        data = text.encode()
        fd = os.open(root / rel, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, data)
        os.close(fd)
        m = blob(data)
        marks.append((rel, m))
        kind = rel.split("/", 1)[0]
        counts[kind] += 1
        if kind == "deals":
            if len(first_deals) < 100 * history:
                first_deals.append((rel, text, m))
        n += 1
        if n % 100_000 == 0:
            log(f"  {n} files, {counts['deals']} deals, {n / (time.perf_counter() - t0):.0f} files/s")
    written = time.perf_counter() - t0
    commit(branch, "deals")
    out.writelines(b"M 100644 :%d %s\n" % (m, rel.encode()) for rel, m in marks)
    for h in range(history):
        commit(branch, f"rename 100 deals ({h + 1})")
        for rel, text, _m in first_deals[h * 100:(h + 1) * 100]:
            data = renamed(text).encode()
            (root / rel).write_bytes(data)
            out.write(b"M 100644 inline %s\ndata %d\n%s\n" % (rel.encode(), len(data), data))
    if shards:  # the same first commit's blobs, deals under deals/<prefix>/
        commit("sharded", f"deals sharded by the first {shards} characters of the id")
        for rel, m in marks:
            if rel.startswith("deals/"):
                name = rel[len("deals/"):]
                rel = f"deals/{name[:shards]}/{name}"
            out.write(b"M 100644 :%d %s\n" % (m, rel.encode()))
    out.write(b"done\n")
    out.close()
    if fi.wait():
        raise SystemExit("git fast-import failed")
    streamed = time.perf_counter() - t0
    log("reading the index from HEAD and refreshing it against the files ...")
    t1 = time.perf_counter()
    _git(root, "read-tree", "HEAD")
    _git(root, "update-index", "-q", "--refresh", stdout=subprocess.DEVNULL)
    indexed = time.perf_counter() - t1
    total = time.perf_counter() - started
    return {"files": n, **counts, "write_s": written, "write_and_fast_import_s": streamed,
            "files_per_s": n / written, "deals_per_s": counts["deals"] / written, "index_s": indexed, "total_s": total}


def main() -> None:
    import argparse
    import json

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--deals", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--history", type=int, default=3, help="commits after the first, a hundred deals renamed each")
    ap.add_argument("--shards", type=int, default=2, help="also a branch `sharded` with deals/<prefix>/ (0: none)")
    ap.add_argument("--companies", type=int, default=None, help="default: one per 20 deals")
    args = ap.parse_args()
    made = generate(args.out, args.deals, args.seed, args.history, args.shards, args.companies,
                    log=lambda m: print(m, file=sys.stderr, flush=True))
    print(json.dumps(made))


if __name__ == "__main__":
    main()
