"""Generate a realistic synthetic dealcli repository for benchmarks.

    python benchmarks/generate.py OUT_DIR --deals 100000 [--seed 8] [--jobs 2]

Every second deal has an activity (activities/, about 0.3 KB each; half of them done), so that
the nudge after a deal write has many activity files around it. Deals are about 1.5 KB each: 1-4
product rows, comments, a history of 3-8 events, custom fields, spread over three pipelines
(sales, partners, renewals) with statuses that agree with their stages, so `dealcli check` finds
nothing wrong. Companies and contacts are real records that deals point at. Output is
deterministic for a given seed and count.

The files are written directly (no dealcli command per deal, no fsync) with the same YAML
dumper dealcli uses, so they are byte-for-byte what dealcli would write; several processes
share the work. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from decimal import Decimal
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dealcli import FORMAT_VERSION, money  # noqa: E402
from dealcli.ids import ALPHABET  # noqa: E402
from dealcli.model import Pipeline, Stage, default_pipeline  # noqa: E402
from dealcli.storage import yamlcodec  # noqa: E402

USERS = [f"{n}@example.com" for n in ("anna", "boris", "chen", "dana", "emil", "fatima", "gus", "hana")]
WORDS = ("Website", "CRM", "Cloud", "Support", "Migration", "Audit", "Training", "Network", "Laptop",
         "Licence", "Backup", "Analytics", "Mobile", "Security", "ERP", "Helpdesk", "SEO", "Printer",
         "Storefront", "Dashboard", "Integration", "Consulting", "Renewal", "Upgrade", "Rollout")
SUFFIX = ("project", "phase 2", "renewal", "pilot", "expansion", "retainer", "package", "refresh")
PRODUCTS = [("Design sprint", "4800"), ("Hosting (year)", "360"), ("Maintenance hours", "90"),
            ("Licence (seat/year)", "240"), ("Onboarding", "1500"), ("Migration package", "3200"),
            ("Switch 48p", "1290"), ("Installation", "800"), ("Audit", "5600"), ("Support plan", "12000"),
            ("Workshop day", "1200"), ("Backup TB/month", "25"), ("Integration", "9900"),
            ("Helpdesk seat/month", "45"), ("Laptop", "1150"), ("SEO month", "950"), ("Mailbox", "12")]
COMMENTS = ("Called, they want a revised quote with the onboarding included.",
            "Sent the proposal; decision expected after their board meeting next week.",
            "Pilot went well, rolling out to the support team next.",
            "Waiting for the brand guide from their marketing team.",
            "Procurement asked for a 10% discount on the licences.",
            "Signed the NDA, technical call scheduled.")
SOURCES = ("web", "referral", "cold call", "partner", "event", "email campaign")
TYPES = ("sale", "service", "goods", "complex")
LOST = ("chose a competitor", "budget cut", "no decision", "price too high")
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.timezone.utc)


def pipelines() -> list[Pipeline]:
    sales = default_pipeline()
    sales.rules = {"require": [{"field": "close_date", "from_stage": "executing"}], "lost_reason_required": False}
    partners = Pipeline(id="partners", name="Partners", stages=[
        Stage("lead", "Lead", "process", "#39A8EF", 10), Stage("qualified", "Qualified", "process", "#2FC6F6", 30),
        Stage("contract", "Contract", "process", "#FFA900", 70), Stage("signed", "Signed", "success", "#7BD500", 100),
        Stage("dropped", "Dropped", "failure", "#FF5752", 0)], rules={"require": [], "lost_reason_required": True},
        card={})
    renewals = Pipeline(id="renewals", name="Renewals", stages=[
        Stage("due", "Due", "process", "#39A8EF", 50), Stage("quoted", "Quoted", "process", "#55D0E0", 70),
        Stage("renewed", "Renewed", "success", "#7BD500", 100), Stage("churned", "Churned", "failure", "#FF5752", 0)],
        rules={"require": [], "lost_reason_required": False}, card={})
    return [sales, partners, renewals]


def rid(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(10))


def iso(t: dt.datetime) -> str:
    return t.isoformat()


def client(rng: random.Random, i: int, which: str, companies: list[str]) -> dict:
    name = f"{rng.choice(WORDS)} {rng.choice(('Ltd', 'Inc', 'GmbH', 'Traders', 'Group'))} {i}" if which == "company" \
        else f"{rng.choice(('Laura', 'Michael', 'Nancy', 'Andrew', 'Janet', 'Robert'))} " \
             f"{rng.choice(('Callahan', 'Suyama', 'Davolio', 'Fuller', 'King', 'Wright'))} {i}"
    data = {"format": FORMAT_VERSION, "id": "", "name": name,
            "emails": [f"{which}{i}@example.org"], "phones": [f"+1 555 {i:07d}"]}
    if which == "contact":
        data["company"] = rng.choice(companies) if companies else None
        data["birthday"] = None
    data.update({"responsible": rng.choice(USERS), "fields": {}, "created": iso(NOW - dt.timedelta(days=400)),
                 "created_by": rng.choice(USERS)})
    return data


def deal(rng: random.Random, deal_id: str, pipes: list[Pipeline], companies: list[str], contacts: list[str]) -> dict:
    pipe = pipes[0] if rng.random() < 0.6 else rng.choice(pipes[1:])
    stage = rng.choice(pipe.stages)
    status = {"process": "open", "success": "won", "failure": "lost"}[stage.semantics]
    created = NOW - dt.timedelta(days=rng.randint(1, 900), minutes=rng.randint(0, 1440))
    user = rng.choice(USERS)
    products = []
    for _ in range(rng.randint(1, 4)):
        name, price = rng.choice(PRODUCTS)
        products.append({"name": name, "product": None, "price": Decimal(price),
                         "quantity": Decimal(rng.choice((1, 1, 2, 3, 5, 12, 24))),
                         "discount": Decimal(rng.choice((0, 0, 5, 10, 15))),
                         "tax_rate": Decimal(rng.choice((0, 0, 20))), "tax_included": False})
    amount = sum((money.row_total(p["price"], p["quantity"], p["discount"], p["tax_rate"], False)
                  for p in products), Decimal(0))
    history = [{"at": iso(created), "by": user, "kind": "created", "stage": pipe.first.id, "pipeline": pipe.id}]
    comments = []
    t = created
    for _ in range(rng.randint(0, 3)):
        t += dt.timedelta(hours=rng.randint(2, 200))
        text = rng.choice(COMMENTS)
        comments.append({"at": iso(t), "by": user, "text": text})
        history.append({"at": iso(t), "by": user, "kind": "commented", "text": text})
    if stage.id != pipe.first.id:
        t += dt.timedelta(hours=rng.randint(2, 200))
        history.append({"at": iso(t), "by": user, "kind": "moved", "from": pipe.first.id,
                        "to": stage.id if stage.semantics == "process" else pipe.stages[1].id})
    closed_at = None
    lost_reason = None
    if status != "open":
        t += dt.timedelta(hours=rng.randint(2, 200))
        closed_at = iso(t)
        lost_reason = rng.choice(LOST) if status == "lost" else None
        ev = {"at": closed_at, "by": user, "kind": "closed", "status": status, "stage": stage.id}
        if lost_reason:
            ev["reason"] = lost_reason
        history.append(ev)
    contact_ids = rng.sample(contacts, k=min(len(contacts), rng.choice((0, 1, 1, 2))))
    return {
        "format": FORMAT_VERSION, "id": deal_id,
        "title": f"{rng.choice(WORDS)} {rng.choice(WORDS).lower()} {rng.choice(SUFFIX)}",
        "pipeline": pipe.id, "stage": stage.id, "status": status, "amount": amount,
        "currency": rng.choice(("USD", "USD", "EUR")), "manual_amount": False,
        "company": rng.choice(companies) if companies else None, "contacts": contact_ids, "products": products,
        "type": rng.choice(TYPES), "source": rng.choice(SOURCES), "responsible": user, "created_by": user,
        "created": iso(created), "modified": iso(t), "begin": created.date().isoformat(),
        "close_date": (created + dt.timedelta(days=rng.randint(10, 120))).date().isoformat(),
        "closed_at": closed_at, "probability": stage.probability, "repeat": rng.random() < 0.2,
        "lost_reason": lost_reason, "origin_id": None,
        "fields": {"segment": rng.choice(("smb", "mid", "enterprise")), "region": rng.choice(("emea", "amer", "apac"))},
        "comments": comments, "history": history,
    }


def _write(path: Path, data: dict) -> None:
    path.write_bytes(yamlcodec.dumps(data).encode())


def _work(args) -> int:
    root, seed, start, stop, companies, contacts = args
    pipes = pipelines()
    folder = Path(root) / "deals"
    for i in range(start, stop):
        rng = random.Random(f"{seed}-deal-{i}")
        deal_id = rid(rng)
        _write(folder / f"{deal_id}.yaml", deal(rng, deal_id, pipes, companies, contacts))
    return stop - start


def add_activities(root: Path, seed: int = 8) -> int:
    """One activity for every second deal (sorted by id), half of them done; returns how many.
    Also used by run.py to give a repository made before activities were generated its share."""
    root = Path(root)
    folder = root / "activities"
    folder.mkdir(exist_ok=True)
    deal_ids = sorted(p[:-5] for p in os.listdir(root / "deals") if p.endswith(".yaml"))
    made = 0
    for i, deal_id in enumerate(deal_ids[::2]):
        rng = random.Random(f"{seed}-activity-{i}")
        done = rng.random() < 0.5
        due = NOW + dt.timedelta(days=rng.randint(-30, 60), hours=rng.randint(0, 23))
        data = {"format": FORMAT_VERSION, "id": rid(rng), "deal": deal_id,
                "type": rng.choice(("call", "meeting", "task", "email")), "subject": "Follow up",
                "due": iso(due), "responsible": rng.choice(USERS), "done": done,
                "done_at": iso(due) if done else None, "created": iso(due - dt.timedelta(days=3)),
                "created_by": rng.choice(USERS)}
        _write(folder / f"{data['id']}.yaml", data)
        made += 1
    return made


def generate(root: Path, deals: int, seed: int = 8, jobs: int | None = None, companies: int | None = None) -> None:
    root = Path(root)
    if (root / "dealcli.yaml").exists():
        raise SystemExit(f"{root}: already a repository; remove it first")
    from dealcli.repo_init import init

    init(root, currency="USD", timezone="UTC")
    for pipe in pipelines():
        _write(root / "pipelines" / f"{pipe.id}.yaml", pipe.to_dict())
    rng = random.Random(f"{seed}-clients")
    n_companies = companies if companies is not None else max(3, deals // 20)
    company_ids: list[str] = []
    for which, count, kind in (("company", n_companies, "companies"), ("contact", n_companies * 2, "contacts")):
        (root / kind).mkdir(exist_ok=True)
        for i in range(count):
            data = client(rng, i, which, company_ids)
            data["id"] = rid(rng)
            _write(root / kind / f"{data['id']}.yaml", data)
            if which == "company":
                company_ids.append(data["id"])
    contact_ids = sorted(p.stem for p in (root / "contacts").glob("*.yaml"))
    (root / "deals").mkdir(exist_ok=True)
    jobs = jobs or os.cpu_count() or 1
    step = 2000
    tasks = [(str(root), seed, i, min(i + step, deals), company_ids, contact_ids) for i in range(0, deals, step)]
    if jobs > 1 and len(tasks) > 1:
        with get_context("fork").Pool(jobs) as pool:
            for _ in pool.imap_unordered(_work, tasks):
                pass
    else:
        for task in tasks:
            _work(task)
    add_activities(root, seed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--deals", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--companies", type=int, default=None, help="default: one per 20 deals")
    args = ap.parse_args()
    start = time.perf_counter()
    generate(args.out, args.deals, args.seed, args.jobs, args.companies)
    size = sum(e.stat().st_size for e in os.scandir(args.out / "deals"))
    print(f"{args.out}: {args.deals} deals, {size / max(args.deals, 1) / 1024:.2f} KB/deal, "
          f"{time.perf_counter() - start:.1f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
