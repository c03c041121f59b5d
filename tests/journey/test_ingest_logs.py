"""Event logs into journey_events through ingest: derived seq, odd column names, byte-order marks, bad input."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from journey_testlib import LOGS

from callops.errors import CallopsError
from callops.ingest.loader import load_files
from callops.ingest.mapping import load_mapping, parse_mapping
from callops.tenancy import create_tenant, scoped
from callops.warehouse import Warehouse

MAPPING = """
name: odd
table: journey_events
timezone: UTC
parse:
  "Change Date+Time": {type: timestamp, format: "%d/%m/%Y %H:%M:%S"}
fields:
  session_id: '"Case #"'
  step: "\\"Status\\" || '-' || \\"Sub Status\\""
  ts: '"Change Date+Time"'
attributes: ["Owner (country)"]
"""


def _write(path: Path, rows: list[list[str]], bom: bool = True) -> Path:
    text = "\r\n".join(",".join(r) for r in rows) + "\r\n"
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode())
    return path


def _events(wh: Warehouse, tenant: str) -> list[dict]:
    t = scoped(wh, tenant, "journey_events")
    return t.order_by(["session_id", "seq"]).to_pyarrow().to_pylist()


HEADER = ["Case #", "Change Date+Time", "Status", "Sub Status", "Owner (country)"]


def test_bom_symbols_and_ties_by_file_order(home: Warehouse, tmp_path: Path) -> None:
    t = create_tenant(home, "t1", "UTC")
    rows = [
        HEADER,
        ["A", "01/02/2024 10:00:05", "Queued", "Wait", "fr"],
        ["B", "01/02/2024 09:00:00", "Accepted", "In Progress", "be"],
        ["A", "01/02/2024 10:00:00", "Accepted", "In Progress", "fr"],
        ["A", "01/02/2024 10:00:05", "Completed", "Closed", "fr"],  # same second as the first A row: after it
    ]
    path = _write(tmp_path / "log.csv", rows)
    summary = load_files(home, t, "journey_events", [path], parse_mapping(MAPPING))
    assert (summary.loaded, summary.rejected) == (4, 0)
    got = [(e["session_id"], e["seq"], e["step"]) for e in _events(home, "t1")]
    assert got == [("A", 0, "Accepted-In Progress"), ("A", 1, "Queued-Wait"), ("A", 2, "Completed-Closed"),
                   ("B", 0, "Accepted-In Progress")]
    assert _events(home, "t1")[0]["attributes"] == '{"Owner (country)":"fr"}'
    again = load_files(home, t, "journey_events", [path], parse_mapping(MAPPING))
    assert (again.loaded, again.unchanged) == (0, 4)  # derived numbers are stable: a reload changes nothing


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from("xyz"), st.integers(0, 4), st.sampled_from(["a", "b", "c"])),
                min_size=1, max_size=30))
def test_seq_is_a_stable_sort_by_time(tmp_path_factory: pytest.TempPathFactory, log: list) -> None:
    """Brute force: per session, rank by (time, line in file) equals Python's stable sort."""
    d = tmp_path_factory.mktemp("seq")
    wh = Warehouse(f"duckdb://{d / 'w.duckdb'}")
    try:
        t = create_tenant(wh, "t1", "UTC")
        rows = [HEADER] + [[s, f"01/02/2024 10:00:0{sec}", step, "s", "be"] for s, sec, step in log]
        summary = load_files(wh, t, "journey_events", [_write(d / "f.csv", rows, bom=False)], parse_mapping(MAPPING))
        assert summary.loaded == len(log)
        expected = []
        for s in sorted({r[0] for r in log}):
            mine = [(sec, i, step) for i, (ss, sec, step) in enumerate(log) if ss == s]
            expected += [(s, k, step + "-s") for k, (_, _, step) in enumerate(sorted(mine, key=lambda r: r[0]))]
        assert [(e["session_id"], e["seq"], e["step"]) for e in _events(wh, "t1")] == expected
    finally:
        wh.close()


def test_unparsable_times_are_rejects_with_their_line(home: Warehouse, tmp_path: Path) -> None:
    t = create_tenant(home, "t1", "UTC")
    rows = [HEADER, ["A", "01/02/2024 10:00:00", "S", "s", "fr"], ["A", "yesterday", "S", "t", "fr"]]
    summary = load_files(home, t, "journey_events", [_write(tmp_path / "bad.csv", rows)], parse_mapping(MAPPING))
    assert (summary.loaded, summary.rejected) == (1, 1)
    rej = scoped(home, t, "rejects").to_pyarrow().to_pylist()
    assert (rej[0]["line"], rej[0]["column_name"]) == (3, "Change Date+Time")
    assert "cannot parse" in rej[0]["reason"]


def test_a_log_without_a_timestamp_is_refused() -> None:
    with pytest.raises(CallopsError, match="required columns of journey_events not mapped: ts"):
        parse_mapping("name: x\ntable: journey_events\nfields: {session_id: a, step: b}\n")


def test_a_mapping_naming_a_missing_column_is_refused(home: Warehouse, tmp_path: Path) -> None:
    t = create_tenant(home, "t1", "UTC")
    path = _write(tmp_path / "log.csv", [["case_no", "act", "time"], ["A", "x", "2024-01-01T00:00:00Z"]])
    m = parse_mapping("name: x\ntable: journey_events\nfields: {session_id: case_no, step: activity, ts: time}\n")
    with pytest.raises(CallopsError, match="unknown column 'activity'"):
        load_files(home, t, "journey_events", [path], m)
    m = parse_mapping("name: x\ntable: journey_events\nfields: {session_id: case_no, step: act, ts: time}\n"
                      "attributes: [colour]\n")
    with pytest.raises(CallopsError, match=r"attribute column.*colour"):
        load_files(home, t, "journey_events", [path], m)


def test_a_source_seq_is_kept(home: Warehouse, tmp_path: Path) -> None:
    t = create_tenant(home, "t1", "UTC")
    path = _write(tmp_path / "c.csv", [["session_id", "seq", "ts", "step", "channel"],
                                       ["S", "7", "2024-01-01T00:00:00Z", "login", "app"]])
    load_files(home, t, "journey_events", [path], load_mapping("canonical", "journey_events"))
    assert _events(home, "t1")[0]["seq"] == 7


@pytest.mark.parametrize("name,events,sessions", [
    ("helpdesk", 21348, 4580), ("bpic2013", 65533, 7554), ("servicenow", 119998, 20769)])
def test_real_logs_load_without_rejects(real_logs: dict, name: str, events: int, sessions: int) -> None:
    """The published sizes (SOURCE.txt of each folder): every event loads, one session per case."""
    s = real_logs[name]
    assert (s.read, s.loaded, s.rejected) == (events, events, 0)
    ev = scoped(real_logs["wh"], name, "journey_events")
    assert ev.session_id.nunique().to_pyarrow().as_py() == sessions
    first = ev.filter(ev.seq == 0).count().to_pyarrow().as_py()
    assert first == sessions


def test_bpic_byte_order_mark_and_symbol_columns(real_logs: dict) -> None:
    with gzip.open(Path(__file__).parents[2] / ".." / "shared" / "data" / LOGS["bpic2013"][0], "rb") as fh:
        assert fh.read(3) == b"\xef\xbb\xbf"  # the file really starts with a BOM
    ev = scoped(real_logs["wh"], "bpic2013", "journey_events")
    row = ev.filter(ev.session_id == "1-364285768").order_by("seq").limit(1).to_pyarrow().to_pylist()[0]
    assert (row["step"], row["resource"]) == ("Accepted-In Progress", "fr-Frederic")
