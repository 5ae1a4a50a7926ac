"""The import, the filter language, --as-of, predict and reports name no --option in the core
(issue 11, item 3): an error carries the fields it is about, the command line words each as the
option typed (exactly as before), and a caller that is not the command line reads plain names."""

from __future__ import annotations

import pytest

from dealcli import asof, importing, predict, query, reports
from dealcli.errors import UsageError
from dealcli.importing import read as import_read


def write(tmp_path, name: str, text: str, encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def errors(proc) -> list[str]:
    return [line for line in proc.stderr.splitlines() if "error: " in line]


def run_import(session, path, **options):
    with pytest.raises(importing.ImportFailed) as caught:
        importing.run(session, importing.ImportOptions(source=str(path), **options))
    return [str(p) for p in caught.value.problems]


# -- the import's own options -----------------------------------------------------------------------
def test_map_is_the_option_on_the_cli_and_a_field_to_a_core_caller(cli, tmp_path):
    src = write(tmp_path, "a.csv", "title,amount\nA,10\n")
    proc = cli("import", src, "--map", "x=id")
    assert proc.returncode == 2
    assert errors(proc) == ["dealcli: error: --map 'x=id': 'id' is not a usable field name"]
    with pytest.raises(UsageError) as caught:
        importing.parse_maps(["x=id"])
    assert caught.value.fields == ("map",)
    assert caught.value.message == "map 'x=id': 'id' is not a usable field name"
    with pytest.raises(UsageError) as caught:  # the caller names its own field
        importing.parse_stage_maps(["nope"], "pipeline_map", "VALUE=PIPELINE")
    assert caught.value.message == "pipeline-map 'nope': expected VALUE=PIPELINE"


def test_preset_and_format_are_checked_for_every_caller(cli, tmp_path):
    src = write(tmp_path, "a.csv", "title,amount\nA,10\n")
    proc = cli("import", src, "--preset", "nope")
    assert proc.returncode == 2
    assert errors(proc)[0].startswith("dealcli: error: --preset 'nope': expected one of bitrix24")
    for opts, text in ((dict(preset="nope"), "preset 'nope': expected one of bitrix24, "),
                       (dict(format="xml"), "format 'xml': expected one of csv, tsv"),
                       (dict(delimiter=";;"), "delimiter ';;': expected one character"),
                       (dict(columns=[""]), "columns: expected names separated by commas")):
        with pytest.raises(UsageError) as caught:
            importing.check_options(importing.ImportOptions(source=str(src), **opts))
        assert caught.value.message.startswith(text) and "--" not in caught.value.message


def test_a_bad_row_names_pipeline_map_and_map_on_the_cli_only(cli, session, tmp_path):
    src = write(tmp_path, "p.csv", "title,amount,pipeline\nA,10,Nope\nB,5,Nope\n")
    proc = cli("import", src)
    assert proc.returncode == 1
    assert errors(proc)[0] == (
        f"dealcli: error: {src}:2: pipeline: 'Nope': no such pipeline (pipelines: sales); map it with --pipeline-map "
        "'Nope'=PIPELINE, create it, or keep the value as a custom field with --map COLUMN=source_pipeline "
        "(2 rows from here on: lines 2, 3)")
    assert run_import(session, src) == [
        f"{src}:2: pipeline: 'Nope': no such pipeline (pipelines: sales); map it with pipeline-map 'Nope'=PIPELINE, "
        "create it, or keep the value as a custom field with map COLUMN=source_pipeline "
        "(2 rows from here on: lines 2, 3)"]


def test_stage_map_and_key_in_row_problems(cli, session, tmp_path):
    src = write(tmp_path, "s.csv", "title,amount,stage\nA,10,Weird\nB,,new\n")
    proc = cli("import", src, "--key", "origin_id")
    assert proc.returncode == 1
    lines = errors(proc)
    assert any(line.endswith("map it with --stage-map 'Weird'=STAGE") for line in lines), lines
    assert f"dealcli: error: {src}:3: origin_id: the --key field 'origin_id' is empty" in lines
    plain = run_import(session, src, key="origin_id")
    assert any(line.endswith("map it with stage-map 'Weird'=STAGE") for line in plain), plain
    assert f"{src}:3: origin_id: the key field 'origin_id' is empty" in plain
    assert not any("--" in line for line in plain)


def test_encoding_hint(cli, tmp_path):
    src = write(tmp_path, "b.csv", b"title,amount\n\xff\xfeA,10\n")
    proc = cli("import", src)
    assert proc.returncode == 1
    assert errors(proc)[0].endswith(": cannot decode byte 13 (0xff) as utf-8: pass --encoding (cp1251, latin-1, "
                                    "utf-16 ...)")
    source = import_read.Source(str(src))
    try:
        with pytest.raises(import_read.InputError) as caught:
            list(source.lines())
    finally:
        source.close()
    assert caught.value.message.endswith("as utf-8: pass encoding (cp1251, latin-1, utf-16 ...)")


def test_report_file_in_a_missing_folder(cli, tmp_path):
    src = write(tmp_path, "a.csv", "title,amount\nA,10\n")
    target = tmp_path / "missing" / "r.json"
    proc = cli("import", src, "--report", target)
    assert errors(proc) == [f"dealcli: error: --report {target}: the folder '{target.parent}' does not exist"]
    with pytest.raises(UsageError) as caught:
        importing.write_report(importing.Result(), "a.csv", str(target))
    assert caught.value.message == f"report-file {target}: the folder '{target.parent}' does not exist"


# -- filter, --as-of, predict, report -----------------------------------------------------------------
def test_sort_limit_and_preset_of_the_filter_language(cli, session):
    assert errors(cli("filter", "--sort", "-")) == [
        "dealcli: error: --sort '-': '-' is not a field (use FIELD or -FIELD)"]
    assert errors(cli("export", "--sort", "nosuch")) == ["dealcli: error: --sort: unknown field 'nosuch'"]
    assert errors(cli("filter", "--preset", "nope"))[0].startswith("dealcli: error: --preset 'nope': no such preset")
    with pytest.raises(UsageError) as caught:
        query.compile_query(session, [], sort="-")
    assert caught.value.message == "sort '-': '-' is not a field (use FIELD or -FIELD)"
    with pytest.raises(UsageError) as caught:
        query.select(session, [], sort="nosuch")
    assert caught.value.message == "sort: unknown field 'nosuch'"
    with pytest.raises(UsageError) as caught:
        query.compile_query(session, [], limit=-1)
    assert caught.value.message == "limit -1: must be 0 or more"
    with pytest.raises(UsageError) as caught:
        query.save_filter(session, "x", [])
    assert caught.value.message == "save 'x': nothing to save (give expressions or preset)"


def test_as_of(cli, session):
    proc = cli("board", "--as-of", "tomorrow")
    assert errors(proc) == ["dealcli: error: --as-of 'tomorrow': 2026-03-11T23:59:59+00:00 is after now "
                            "(2026-03-10T12:00:00+00:00); the past only"]
    with pytest.raises(UsageError) as caught:
        asof.parse_as_of(session, "tomorrow")
    assert caught.value.fields == ("as_of",)
    assert caught.value.message.startswith("as-of 'tomorrow': 2026-03-11T23:59:59+00:00 is after now")


def test_horizon_section_and_html(cli, tmp_path):
    assert errors(cli("predict", "repeat", "--horizon", "soon")) == [
        "dealcli: error: --horizon 'soon': expected a number of days such as 90d, 12w, 3m or 1y"]
    assert errors(cli("report", "--section", "nope"))[0].startswith("dealcli: error: --section 'nope': not one of")
    page = tmp_path / "missing" / "x.html"
    assert errors(cli("board", "--html", page)) == [
        f"dealcli: error: --html {page}: the folder '{page.parent}' does not exist"]
    with pytest.raises(UsageError) as caught:
        predict.parse_horizon("soon")
    assert caught.value.message == "horizon 'soon': expected a number of days such as 90d, 12w, 3m or 1y"
    with pytest.raises(UsageError) as caught:
        reports.sections_of(["nope"])
    assert caught.value.message.startswith("section 'nope': not one of funnel, ")


def test_mixed_date_orders_keep_their_fields_in_the_failed_import(cli, session, tmp_path):
    src = write(tmp_path, "d.csv", "title,created\nA,13/02/2026\nB,02/13/2026\n")
    proc = cli("import", src)
    assert proc.returncode == 1
    assert "fix the file or pass --dayfirst/--monthfirst to read all of them one way" in errors(proc)[0]
    plain = run_import(session, src)
    assert plain[0].startswith(f"{src}: dates: the file has day-first dates")
    assert plain[0].endswith("fix the file or pass dayfirst/monthfirst to read all of them one way")
