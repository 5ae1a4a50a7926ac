"""Property tests: whatever text or amount a user types comes back from the file unchanged."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from dealcli.model import Deal
from dealcli.storage import yamlcodec

texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\ufeff"), max_size=60)
amounts = st.decimals(min_value=Decimal("-999999999999999"), max_value=Decimal("999999999999999"),
                      places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(title=texts.filter(lambda t: t.strip() != ""), source=texts, amount=amounts, custom=texts)
def test_deal_roundtrip_through_yaml(title, source, amount, custom):
    deal = Deal(id="abc", title=title, pipeline="sales", stage="new", amount=amount, source=source or None,
                fields={"note": custom})
    text = yamlcodec.dumps(deal.to_dict())
    back = Deal.from_dict(yamlcodec.loads(text))
    assert back.title == title
    assert back.source == (source or None)
    assert back.amount == amount
    assert back.fields["note"] == custom
    assert yamlcodec.dumps(back.to_dict()) == text  # a rewrite is byte-identical
