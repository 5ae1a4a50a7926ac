"""Storage owns the conversion of every record kind: a model handed to create/update is written by
its one converter; plain data is read through its kind's model first, so no record is written that
its model cannot read back (issue 11, item 5)."""

from __future__ import annotations

import pytest

from dealcli.errors import CorruptData
from dealcli.model import Deal


def test_a_model_is_written_by_its_converter(session, repo):
    deal = Deal(id="d1", title="T", pipeline="sales", stage="new")
    with session.repo.transaction():
        doc = session.repo.create("deals", "d1", deal)
    assert doc.data == deal.to_dict()
    assert Deal.from_dict(session.repo.load("deals", "d1").data) == Deal.from_dict(deal.to_dict())


def test_plain_data_its_model_cannot_read_is_refused_and_nothing_is_written(session, repo):
    with pytest.raises(CorruptData) as caught:
        with session.repo.transaction():
            session.repo.create("companies", "c1", {"id": "c1", "name": "Ok"})  # fine for its model
            session.repo.create("contacts", "p1", {"id": "p1", "name": "Eve", "birthday": "1990-13-45"})
    assert caught.value.message == ("contacts/p1.yaml: birthday: '1990-13-45' is not an ISO date (YYYY-MM-DD) "
                                    "(not written)")
    assert not (repo / "companies" / "c1.yaml").exists() and not (repo / "contacts" / "p1.yaml").exists()


def test_an_update_names_the_line_of_the_value_in_the_file_it_read(cli, repo, session):
    quote_company = cli.ok("company", "add", "Acme").strip()
    quote = cli.ok("quote", "add", "Offer", "--company", quote_company).strip()
    path = repo / "quotes" / f"{quote}.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("valid_until: null", "valid_until: someday"), encoding="utf-8")
    line = next(i for i, t in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if "valid_until" in t)
    proc = cli("company", "delete", quote_company, "--unlink")
    assert proc.returncode == 5
    assert f"quotes/{quote}.yaml:{line}: valid_until: " in proc.stderr and "(not written)" in proc.stderr
    assert (repo / "companies" / f"{quote_company}.yaml").exists()  # all or nothing: the company stays


@pytest.mark.parametrize("key", ["quantity", "discount", "tax_rate", "price"])
def test_an_explicit_null_in_a_product_row_is_a_field_error_not_a_crash(key):
    from dealcli.model import FieldError, ProductRow

    row = {"name": "Licence", "price": "10", "quantity": "1", key: None}
    with pytest.raises(FieldError) as err:
        ProductRow.from_dict(row)
    assert key in err.value.path
