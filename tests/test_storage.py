"""Storage layer on a temporary folder: atomic writes, etag conflicts, the YAML codec, ids,
the lock."""

import multiprocessing
from decimal import Decimal

import pytest

from dealcli.errors import Conflict, CorruptData, NotFound, UsageError
from dealcli.storage import atomic, yamlcodec
from dealcli.storage.repository import Repository


def test_decimal_roundtrip_is_exact():
    text = yamlcodec.dumps({"amount": Decimal("0.30"), "big": Decimal("123456789012345.123456"), "n": 3})
    assert "amount: 0.30\n" in text
    back = yamlcodec.loads(text)
    assert back["amount"] == Decimal("0.30") and isinstance(back["amount"], Decimal)
    assert back["big"] == Decimal("123456789012345.123456")


def test_dates_stay_text_and_are_not_quoted():
    text = yamlcodec.dumps({"created": "2026-03-10T12:00:00+00:00", "begin": "2026-03-10", "title": "2026"})
    assert "created: 2026-03-10T12:00:00+00:00" in text
    assert "title: '2026'" in text
    back = yamlcodec.loads(text)
    assert back == {"created": "2026-03-10T12:00:00+00:00", "begin": "2026-03-10", "title": "2026"}


def test_malformed_yaml_names_line():
    with pytest.raises(CorruptData) as exc:
        yamlcodec.loads("id: a\ntitle: [unclosed\nstage: x\n", "deals/a.yaml")
    assert exc.value.path == "deals/a.yaml" and exc.value.line in (2, 3, 4)
    assert exc.value.exit_code == 5


def test_line_of_nested_paths():
    text = "id: a\nproducts:\n- name: x\n  price: 1\n- name: y\n  price: oops\n"
    assert yamlcodec.line_of(text, ("products", 1, "price")) == 6
    assert yamlcodec.line_of(text, ("id",)) == 1
    assert yamlcodec.line_of(text, ("missing",)) == 1


def test_write_atomic_refuses_changed_file(tmp_path):
    p = tmp_path / "f.yaml"
    atomic.write_atomic(p, b"one\n", expect=atomic.MISSING)
    with pytest.raises(Conflict):
        atomic.write_atomic(p, b"two\n", expect=atomic.MISSING)
    original = p.read_bytes()
    p.write_bytes(b"hand edit\n")
    with pytest.raises(Conflict):
        atomic.write_atomic(p, b"three\n", expect=original)
    assert p.read_bytes() == b"hand edit\n"
    assert [x.name for x in tmp_path.iterdir()] == ["f.yaml"]  # no temp file left behind


def test_prefix_resolution(tmp_path):
    (tmp_path / "dealcli.yaml").write_text("format: 1\n")
    repo = Repository(tmp_path)
    for rid in ("abc123", "abd456", "xyz789"):
        repo.save("deals", rid, {"id": rid, "title": "T", "pipeline": "sales", "stage": "new"})
    assert repo.resolve("deals", "x") == "xyz789"
    assert repo.resolve("deals", "abc") == "abc123"
    with pytest.raises(NotFound) as exc:
        repo.resolve("deals", "ab")
    assert "abc123" in exc.value.message and "abd456" in exc.value.message and exc.value.exit_code == 3
    with pytest.raises(NotFound):
        repo.resolve("deals", "nope")
    with pytest.raises(UsageError) as exc:  # a reference is a name or an id, never a path (exit 2)
        repo.resolve("deals", "../dealcli")
    assert exc.value.exit_code == 2


def test_corrupt_file_is_skipped_by_scans_with_errors(tmp_path):
    (tmp_path / "dealcli.yaml").write_text("format: 1\n")
    repo = Repository(tmp_path)
    repo.save("deals", "good", {"id": "good", "title": "T", "pipeline": "sales", "stage": "new"})
    (tmp_path / "deals" / "bad.yaml").write_text("id: [\n")
    errors = []
    assert [d.id for d in repo.iter_docs("deals", errors)] == ["good"]
    assert len(errors) == 1 and "bad.yaml" in errors[0].message
    with pytest.raises(CorruptData):
        list(repo.iter_docs("deals"))


def _hold_lock(root, release, ready):
    repo = Repository(root)
    with repo.lock():
        ready.set()
        release.wait(30)  # held until the test has seen the timeout (not a fixed sleep)


def test_lock_timeout_is_a_conflict(tmp_path, monkeypatch):
    (tmp_path / "dealcli.yaml").write_text("format: 1\n")
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    proc = multiprocessing.Process(target=_hold_lock, args=(tmp_path, release, ready))
    proc.start()
    try:
        assert ready.wait(10)
        monkeypatch.setenv("DEALCLI_LOCK_TIMEOUT", "0.2")
        with pytest.raises(Conflict) as exc:
            with Repository(tmp_path).lock():
                pass
        assert exc.value.exit_code == 4
    finally:
        release.set()
        proc.join()
    with Repository(tmp_path).lock():  # released when the holder ends
        pass
