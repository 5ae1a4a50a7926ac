"""The import reader refuses an unclosed quote wherever it is, naming the line where it opened
(issue 28): on the last line it imported with exit 0 and the amount inside the title; in the
middle it swallowed the lines up to the next quote (pandas and csvkit refuse: EOF inside string)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(("text", "line", "swallowed"), [
    ("title,amount\nA,1\n\"B,2\n", 3, None),  # on the last line
    ("title,amount\nA,1\n\"B,2\nC,3\n", 3, "3-4"),  # swallows to the end
    ("title,amount\nA,1\n\"B,2\nC,3\nD,\"x\",4\nE,5\n", 3, "3-5"),  # closed by another cell's quote
    ("title,amount\nA,1\nB,\"2\nC,3\n", 3, "3-4"),  # opened in a later cell
])
def test_an_unclosed_quote_is_refused_naming_its_line(cli, tmp_path, text, line, swallowed):
    src = tmp_path / "in.csv"
    src.write_text(text)
    r = cli("import", src)
    assert r.returncode == 1, r.stderr
    assert f"in.csv:{line}: (row): a quote opens on this line and is never closed" in r.stderr
    assert (f"swallow lines {swallowed}" in r.stderr) == (swallowed is not None)
    assert cli.ok("filter", "-f", "ids") == ""  # nothing imported


def test_quoted_values_over_several_lines_still_import(cli, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text('title,amount\n"two\nlines",1\n"say ""hi""",2\n')
    cli.ok("import", src)
    import json

    titles = sorted(d["title"] for d in json.loads(cli.ok("filter", "-f", "json")))
    assert titles == ["say \"hi\"", "two\nlines"]
