"""The kind registry (dealcli/kinds.py) is the one declaration of every record kind: every table
that used to repeat it is derived from it, and docs/format.md shows it."""

from __future__ import annotations

import re
from pathlib import Path

from dealcli import access, clients, dedupe, kinds, lifecycle, model
from dealcli.storage import layout
from dealcli.validation import links, schemas

ROOT = Path(__file__).resolve().parent.parent


def test_every_table_is_derived_from_the_registry():
    assert layout.KINDS == tuple(k.folder for k in kinds.KINDS)
    assert layout.SINGULAR == {k.folder: k.singular for k in kinds.KINDS}
    assert model.MODEL_OF_KIND == {k.folder: k.model for k in kinds.KINDS}
    assert {f: schemas.SCHEMA_OF_KIND[f] for f in layout.KINDS} == {k.folder: k.schema for k in kinds.KINDS}
    for k in kinds.KINDS:
        assert access.KIND_OF_FOLDER[k.folder] == k.access
        assert access.KIND_OF_FOLDER[k.folder] in access.RECORD_KINDS
        assert links.LINKS.get(k.folder, []) == [(link.path, link.target) for link in k.links]
    assert clients.KIND_OF == {"company": "companies", "contact": "contacts"}


def test_every_declared_thing_exists():
    for k in kinds.KINDS:
        assert model.model_of(k.folder).__name__ == k.model.split(":")[1]
        assert (ROOT / "schemas" / f"{k.schema}.schema.json").is_file()
        for link in k.links:
            assert link.target in kinds.BY_FOLDER
            assert link.on_delete in (kinds.CLEAR, kinds.CASCADE)


def test_recurring_templates_link_clients_like_deals():
    """The drift issue 23 found: `check` missed a template's dangling company while `recurring run`
    failed on it, and a client merge did not re-point templates."""
    assert (("deal", "company"), "companies") in links.LINKS["recurring"]
    assert lifecycle.LINKS["company"][1]["recurring"] == "company"
    data = {"deal": {"company": "old", "contacts": ["x", "old"]}}
    assert dedupe._repoint(data, "recurring", "company", "old", "new") == ["deal"]
    assert data["deal"]["company"] == "new"
    assert dedupe._repoint(data, "recurring", "contact", "old", "new") == ["deal"]
    assert data["deal"]["contacts"] == ["x", "new"]


def test_docs_show_the_registry():
    text = (ROOT / "docs" / "format.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- kinds table:[^\n]*-->\n(.*?)<!-- end kinds table -->", text, re.S)
    assert block, "docs/format.md lost its kinds table"
    assert block.group(1) == kinds.table()


def test_check_reports_a_recurring_templates_dangling_company(cli, repo):
    """Reproduced from issue 23: `check` exited 0 while `recurring run` failed on the missing company."""
    cli("recurring", "add", "Rent", "--every", "month", "--start", "2026-04-01", "--amount", "450",
        "--company", "Acme", check=True)
    (company,) = (repo / "companies").glob("*.yaml")
    company.unlink()
    out = cli("check")
    assert out.returncode == 1
    assert "dangling-link" in out.stdout + out.stderr
    assert f"company {company.stem!r} does not exist" in out.stdout + out.stderr
