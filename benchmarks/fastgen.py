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

Git: each file's blob goes into one pack as the file is written (`Pack`: whole objects, indexed
by `git index-pack`; no loose objects, no `git add` stat-ing and hashing a million files), then
git's index is written by `write_index` with each file's stat as it was written (so git need
not read the files again), `write-tree` and `commit-tree` make one commit of everything and
--history commits that rename a hundred deals each (`update-index` of those files only). With
--shards N a second branch `sharded` holds the same blobs
with deals under deals/<first N characters of the id>/, so the tree objects of both layouts
can be compared with plain git.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import random
import struct
import subprocess
import sys
import tempfile
import time
import zlib
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
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
           "GIT_AUTHOR_DATE": f"{EPOCH} +0000", "GIT_COMMITTER_DATE": f"{EPOCH} +0000", **kw.pop("env", {})}
    return subprocess.run(["git", "-C", str(root), *args], env=env, check=kw.pop("check", True), capture_output=True,
                          **kw)


class Pack:
    """Blobs written as they come into one pack of whole (undeltified) objects, indexed by `git
    index-pack` at the end: no loose objects, and no per-path work in git (fast-import keeps a
    tree's entries in a list it scans for every path: quadratic in a folder of a million files)."""

    def __init__(self, root: Path) -> None:
        self.folder = root / ".git" / "objects" / "pack"
        self.tmp = self.folder / "tmp-fastgen.pack"
        self.fh = open(self.tmp, "wb")  # noqa: SIM115 - closed by close()
        self.fh.write(b"PACK" + struct.pack(">II", 2, 0))  # the count is written at the end
        self.seen: set[bytes] = set()

    def add(self, data: bytes) -> str:
        """Store a blob; returns its object id."""
        digest = hashlib.sha1(b"blob %d\0" % len(data) + data).digest()
        if digest not in self.seen:
            self.seen.add(digest)
            n = len(data)
            byte, n = (3 << 4) | (n & 15), n >> 4  # type 3 (blob) and the size, 7 bits a byte after 4
            head = bytearray()
            while n:
                head.append(byte | 0x80)
                byte, n = n & 0x7F, n >> 7
            head.append(byte)
            self.fh.write(bytes(head) + zlib.compress(data, 1))
        return digest.hex()

    def close(self) -> None:
        self.fh.seek(8)
        self.fh.write(struct.pack(">I", len(self.seen)))
        self.fh.close()
        whole = hashlib.sha1()
        with open(self.tmp, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                whole.update(chunk)
        with open(self.tmp, "ab") as fh:
            fh.write(whole.digest())
        final = self.folder / f"pack-{whole.hexdigest()}.pack"
        os.rename(self.tmp, final)
        subprocess.run(["git", "index-pack", str(final)], check=True, capture_output=True)


def write_index(path: Path, entries: list[tuple[str, str]], stats: list[os.stat_result | None]) -> None:
    """git's index (version 2) of `entries` (path, blob id) with each file's stat, in path order:
    what `git add` would write, without git reading a million files again to learn their stat."""
    order = sorted(range(len(entries)), key=lambda i: entries[i][0].encode())
    out = bytearray(b"DIRC" + struct.pack(">II", 2, len(entries)))
    mask = 0xFFFFFFFF
    for i in order:
        rel, sha = entries[i]
        st = stats[i]
        name = rel.encode()
        if st is None:  # no stat: git hashes the file to know whether it changed
            out += struct.pack(">10I", 0, 0, 0, 0, 0, 0, 0o100644, 0, 0, 0)
        else:
            out += struct.pack(">10I", int(st.st_ctime) & mask, st.st_ctime_ns % 10**9, int(st.st_mtime) & mask,
                               st.st_mtime_ns % 10**9, st.st_dev & mask, st.st_ino & mask, 0o100644, st.st_uid,
                               st.st_gid, st.st_size & mask)
        out += bytes.fromhex(sha) + struct.pack(">H", min(len(name), 0xFFF)) + name
        out += b"\0" * (8 - (62 + len(name)) % 8)  # NUL-padded to a multiple of 8, at least one NUL
    out += hashlib.sha1(out).digest()
    path.write_bytes(bytes(out))


def commit(root: Path, entries: list[tuple[str, str]], message: str, parent: str | None, ref: str | None,
           index: str | None = None) -> str:
    """Put `entries` (path, blob id) into git's index (all of them sorted, as the index keeps
    them, so each one is appended; or a few to replace), write its tree and commit it."""
    env = {"GIT_INDEX_FILE": index} if index else {}
    lines = "".join(f"100644 {sha}\t{path}\n" for path, sha in sorted(entries, key=lambda e: e[0].encode()))
    _git(root, "update-index", "--index-info", input=lines.encode(), env=env)
    tree = _git(root, "write-tree", env=env).stdout.decode().strip()
    made = _git(root, "commit-tree", tree, *(["-p", parent] if parent else []), "-m", message).stdout.decode().strip()
    if ref:
        _git(root, "update-ref", ref, made)
    return made


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
    made = _commit_all(root, _written(root, records(deals, seed, companies)), history, shards, log)
    return {**made, "total_s": time.perf_counter() - started}


def _written(root: Path, source: Iterator[tuple[str, str]]) -> Iterator[tuple[str, bytes, Any, bool | None]]:
    """The repository's own files (dealcli.yaml, pipelines, .gitignore), then each generated
    record, written to its file as it passes (None: the history renames the first deals)."""
    for rel, data, st in _on_disk(root):
        yield rel, data, st, None
    for rel, text in source:
        data = text.encode()
        fd = os.open(root / rel, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, data)
        st = os.fstat(fd)
        os.close(fd)
        yield rel, data, st, None


def _on_disk(root: Path) -> Iterator[tuple[str, bytes, os.stat_result]]:
    """(path, bytes, stat) of every file of the work tree but .git and .dealcli (the index cache)."""
    for base, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not (base == str(root) and d in (".git", ".dealcli")))
        for name in sorted(files):
            path = os.path.join(base, name)
            with open(path, "rb") as fh:
                yield os.path.relpath(path, root), fh.read(), os.fstat(fh.fileno())


def commit_existing(root: Path, history: int = 3, shards: int = 0,
                    log: Callable[[str], None] = lambda m: None) -> dict[str, float]:
    """Commit a repository generated without its commits (a run stopped after writing the files):
    the deals the history renamed are committed first without their prefix, then renamed again
    (a hundred a commit, in path order: the last tree is the generated one)."""
    _git(root, "init", "-q")
    (root / ".git" / "index").unlink(missing_ok=True)

    def originals() -> Iterator[tuple[str, bytes, os.stat_result, bool | None]]:
        for rel, data, st in _on_disk(root):
            was = rel.startswith("deals/") and b"\ntitle: Renamed " in data
            yield rel, data.replace(b"\ntitle: Renamed ", b"\ntitle: ", 1) if was else data, st, was

    return _commit_all(root, originals(), history, shards, log, rename_on_disk=False)


def _commit_all(root: Path, files: Iterator[tuple[str, bytes, Any, bool | None]], history: int, shards: int,
                log: Callable[[str], None], rename_on_disk: bool = True) -> dict[str, float]:
    """Pack `files` (path, bytes, the file's stat, whether the history renames it; None: the first
    deals), write git's index with their stat (so git need not read them again), commit them,
    then `history` commits renaming a hundred deals each (written to disk when `rename_on_disk`,
    else already there), a `sharded` branch with --shards, and git's index refreshed."""
    t0 = time.perf_counter()
    pack = Pack(root)
    entries: list[tuple[str, str]] = []
    stats: list[os.stat_result | None] = []
    counts = {"deals": 0, "activities": 0, "companies": 0, "contacts": 0}
    first_deals: list[tuple[str, bytes]] = []  # the deals the history commits rename
    for n, (rel, data, st, pick) in enumerate(files, 1):
        entries.append((rel, pack.add(data)))
        stats.append(None if pick else st)  # a file that differs on disk: no stat, so git reads it
        kind = rel.split("/", 1)[0]
        if kind in counts:
            counts[kind] += 1
        if kind == "deals" and (len(first_deals) < 100 * history if pick is None else pick):
            first_deals.append((rel, data))
        if n % 100_000 == 0:
            log(f"  {n} files, {counts['deals']} deals, {n / (time.perf_counter() - t0):.0f} files/s")
    written = time.perf_counter() - t0
    log("indexing the pack and committing ...")
    pack.close()
    branch = "refs/heads/" + _git(root, "symbolic-ref", "--short", "HEAD").stdout.decode().strip()
    write_index(root / ".git" / "index", entries, stats)
    stats.clear()
    head = _git(root, "commit-tree", _git(root, "write-tree").stdout.decode().strip(), "-m", "deals").stdout
    for h in range(history):
        paths = [rel for rel, _data in first_deals[h * 100:(h + 1) * 100]]
        if rename_on_disk:
            for rel, data in first_deals[h * 100:(h + 1) * 100]:
                (root / rel).write_bytes(renamed(data.decode()).encode())
        _git(root, "update-index", "--", *paths)  # hashed from the files (renamed on disk), stat kept
        tree = _git(root, "write-tree").stdout.decode().strip()
        head = _git(root, "commit-tree", tree, "-p", head.decode().strip(), "-m",
                    f"rename 100 deals ({h + 1})").stdout
    head = head.decode().strip()
    _git(root, "update-ref", branch, head)
    if shards:  # the first commit's blobs, deals under deals/<prefix>/
        with tempfile.TemporaryDirectory() as tmp:
            moved = [(f"deals/{rel[6:6 + shards]}/{rel[6:]}" if rel.startswith("deals/") else rel, sha)
                     for rel, sha in entries]
            commit(root, moved, f"deals sharded by the first {shards} characters of the id", None,
                   ref="refs/heads/sharded", index=f"{tmp}/index")
    committed = time.perf_counter() - t0
    log("refreshing git's index against the files (their stat is in it: no file is read) ...")
    _git(root, "update-index", "-q", "--refresh", check=False)
    n = len(entries)
    return {"files": n, **counts, "write_s": written, "commit_s": committed - written,
            "files_per_s": n / written, "deals_per_s": counts["deals"] / written,
            "index_refresh_s": time.perf_counter() - t0 - committed}


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
    ap.add_argument("--commit-existing", action="store_true",
                    help="only commit OUT, generated by a run stopped before its commits")
    args = ap.parse_args()
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    if args.commit_existing:
        made = commit_existing(args.out, args.history, args.shards, log=log)
    else:
        made = generate(args.out, args.deals, args.seed, args.history, args.shards, args.companies, log=log)
    print(json.dumps(made))


if __name__ == "__main__":
    main()
