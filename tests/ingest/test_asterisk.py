"""Tests of the Asterisk queue_log adapter: hand-written fixtures, real samples, end-to-end load.

Expected values below were worked out by hand from the fixture lines (epoch 1700000000 is
2023-11-14T22:13:20Z), not copied from the adapter's output.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from callops.errors import CallopsError
from callops.ingest.adapters import AdapterOutput
from callops.ingest.adapters.asterisk import (
    MERGED,
    OPEN_CALL,
    SUPERSEDED,
    normalize_agent,
    read_queue_log,
    transfer_times,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "queue_log"
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
FREEPBX = "asterisk-queue-log-freepbx-2010/Testdaten.txt"
PBXWARE = "pbxware-queue-log-table-2018/queue_log.csv"
ISSABEL = "issabel-lab-queue-log-2022"
RING = "agent rung without answer, counted only (RINGNOANSWER)"
BLANK = "blank line (only NUL bytes or whitespace)"


def _check_accounting(out: AdapterOutput) -> None:
    """Every line read is exactly one of: a row, a reject, a skip; _line unique per file."""
    assert out.rows.num_rows + len(out.rejects) + sum(out.skipped.values()) == out.records_read
    assert all(n > 0 for n in out.skipped.values())
    pairs = list(zip(out.rows.column("_file").to_pylist(), out.rows.column("_line").to_pylist(), strict=True))
    assert len(pairs) == len(set(pairs))
    assert out.rows.column_names[:2] == ["_file", "_line"]
    assert set(out.rows.column_names[2:]) == set(out.columns)


def _by(out: AdapterOutput, key: str) -> dict[str, dict]:
    return {r[key]: r for r in out.rows.to_pylist()}


def _shared(relative: str) -> Path:
    """A real sample under ../shared/data; skip when absent unless CALLOPS_REQUIRE_DATA=1."""
    path = SHARED / relative
    if not path.exists():
        message = f"real sample {path} not available (shared data directory missing)"
        if os.environ.get("CALLOPS_REQUIRE_DATA") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


# ------------------------------------------------------------------------------------------- hand-written fixtures


def test_interleaved_calls_transfer_and_accounting() -> None:
    path = FIXTURES / "calls.log"
    out = read_queue_log([path], "contacts", "UTC")
    _check_accounting(out)
    rows = _by(out, "contact_id")
    assert set(rows) == {"1700000005.1", "1700000008.2", "1700000195.5", "1700000195.5#2"}
    # Call A: entered 10, rung twice, CONNECT at 15 (holdtime 5), COMPLETECALLER at 75 (calltime 60).
    assert rows["1700000005.1"] == {
        "_file": 0, "_line": 9, "contact_id": "1700000005.1", "queue": "sales", "channel": "voice",
        "direction": "inbound", "customer_id": "13800000001", "offered_at": "2023-11-14T22:13:30+00:00",
        "answered_at": "2023-11-14T22:13:35+00:00", "ended_at": "2023-11-14T22:14:35+00:00", "wait_s": "5",
        "talk_s": "60", "outcome": "answered", "agent_id": "2003", "transfers": "0",
    }
    # Call B, interleaved with A: anonymous caller, ABANDON at 30 with waittime 18.
    assert rows["1700000008.2"] == {
        "_file": 0, "_line": 8, "contact_id": "1700000008.2", "queue": "sales", "channel": "voice",
        "direction": "inbound", "customer_id": None, "offered_at": "2023-11-14T22:13:32+00:00",
        "answered_at": None, "ended_at": "2023-11-14T22:13:50+00:00", "wait_s": "18", "talk_s": None,
        "outcome": "abandoned", "agent_id": None, "transfers": "0",
    }
    # Call C (line 13 starts with a NUL run): CONNECT at 204, BLINDTRANSFER ext|ctx|hold 4|call 60|pos at 264.
    assert rows["1700000195.5"] == {
        "_file": 0, "_line": 15, "contact_id": "1700000195.5", "queue": "support", "channel": "voice",
        "direction": "inbound", "customer_id": "13800000003", "offered_at": "2023-11-14T22:16:40+00:00",
        "answered_at": "2023-11-14T22:16:44+00:00", "ended_at": "2023-11-14T22:17:44+00:00", "wait_s": "4",
        "talk_s": "60", "outcome": "transferred", "agent_id": "2002", "transfers": "1",
    }
    # The same callid enters queue billing at 265 and times out at 300 (no waittime logged: 300 - 265).
    assert rows["1700000195.5#2"] == {
        "_file": 0, "_line": 17, "contact_id": "1700000195.5#2", "queue": "billing", "channel": "voice",
        "direction": "inbound", "customer_id": "13800000003", "offered_at": "2023-11-14T22:17:45+00:00",
        "answered_at": None, "ended_at": "2023-11-14T22:18:20+00:00", "wait_s": "35", "talk_s": None,
        "outcome": "abandoned", "agent_id": None, "transfers": "0",
    }
    # 23 physical lines, line 10 is empty (not a record): 22 read.
    assert out.records_read == 22
    assert [(r.line, r.column) for r in out.rejects] == [(11, "time"), (12, None)]
    assert all(r.file == str(path) for r in out.rejects)
    assert out.rejects[0].raw.startswith("not-a-time|")
    assert out.skipped == {
        "not a contact event (QUEUESTART)": 1,
        RING: 3,
        MERGED: 7,  # A: 2, B: 1, C: 2, C#2: 1, open call E: its CONNECT
        OPEN_CALL: 1,  # E: ENTERQUEUE + CONNECT, never completed
        "not a contact event (DID)": 1,
        "call event without an open ENTERQUEUE (COMPLETEAGENT)": 1,
        BLANK: 1,
        "not a contact event (CONFIGRELOAD)": 1,
    }
    assert out.columns == [
        "contact_id", "queue", "channel", "direction", "customer_id", "offered_at", "answered_at",
        "ended_at", "wait_s", "talk_s", "outcome", "agent_id", "transfers",
    ]


def test_calls_fixture_as_agent_states_has_no_members() -> None:
    out = read_queue_log([FIXTURES / "calls.log"], "agent_states", "UTC")
    _check_accounting(out)
    assert out.rows.num_rows == 0
    assert out.skipped["not an agent state event (RINGNOANSWER)"] == 3
    assert len(out.rejects) == 2


def test_agent_login_pause_unpause_logoff() -> None:
    out = read_queue_log([FIXTURES / "agents.log"], "agent_states", "UTC")
    _check_accounting(out)
    got = [
        (r["agent_id"], r["state"], r["reason"], r["queue"], r["started_at"], r["ended_at"], r["_line"])
        for r in out.rows.to_pylist()
    ]
    t = "2023-11-15T01:"
    assert sorted(got, key=str) == sorted([
        ("1109", "ready", None, None, f"{t}00:10+00:00", f"{t}05:00+00:00", 2),
        ("1109", "aux", None, "sales", f"{t}05:00+00:00", f"{t}06:40+00:00", 9),
        ("1109", "ready", None, "sales", f"{t}06:40+00:00", f"{t}15:00+00:00", 10),
        ("1109", "offline", None, None, f"{t}15:00+00:00", None, 12),
        # Two ADDMEMBERs in the same second: the last (queue support) is kept.
        ("2001", "ready", None, "support", f"{t}00:10+00:00", f"{t}01:40+00:00", 4),
        ("2001", "aux", "Lunch", "sales", f"{t}01:40+00:00", f"{t}03:20+00:00", 5),
        ("2001", "aux", "Training", "sales", f"{t}03:20+00:00", f"{t}05:00+00:00", 7),
        ("2001", "ready", None, None, f"{t}05:00+00:00", f"{t}16:40+00:00", 8),
        ("2001", "offline", None, "support", f"{t}16:40+00:00", None, 13),
    ], key=str)
    assert out.records_read == 15
    assert [(r.line, r.column) for r in out.rejects] == [(15, None)]
    assert out.skipped == {
        "not an agent state event (QUEUESTART)": 1,
        SUPERSEDED: 1,
        "no state change (agent already aux)": 1,
        "not an agent state event (ENTERQUEUE)": 1,
        "agent state event without an agent (PAUSEALL)": 1,
    }
    assert out.columns == ["agent_id", "state", "reason", "queue", "started_at", "ended_at"]


def test_table_layout_text_times_in_tenant_zone() -> None:
    out = read_queue_log([FIXTURES / "realtime.csv"], "contacts", "Europe/Berlin")
    _check_accounting(out)
    rows = _by(out, "contact_id")
    # 09:00 Berlin in January is 08:00 UTC.
    assert rows["1705305595.1"] == {
        "_file": 0, "_line": 5, "contact_id": "1705305595.1", "queue": "sales", "channel": "voice",
        "direction": "inbound", "customer_id": "13800000001", "offered_at": "2024-01-15T08:00:00+00:00",
        "answered_at": "2024-01-15T08:00:10+00:00", "ended_at": "2024-01-15T08:02:10+00:00", "wait_s": "10",
        "talk_s": "120", "outcome": "answered", "agent_id": "3002", "transfers": "0",
    }
    # Epoch in the time column; EXITWITHKEY key|pos|origpos|waittime 25.
    assert rows["1705305890.7"] == {
        "_file": 0, "_line": 7, "contact_id": "1705305890.7", "queue": "sales", "channel": "voice",
        "direction": "inbound", "customer_id": None, "offered_at": "2024-01-15T08:05:00+00:00",
        "answered_at": None, "ended_at": "2024-01-15T08:05:25+00:00", "wait_s": "25", "talk_s": None,
        "outcome": "abandoned", "agent_id": None, "transfers": "0",
    }
    assert len(rows) == 2
    # Header is line 1 (not a record); line 8 is empty: 10 records.
    assert out.records_read == 10
    assert [(r.line, r.column) for r in out.rejects] == [(9, "time")]
    assert out.skipped == {
        RING: 1, MERGED: 3, "not a contact event (QUEUESTART)": 1,
        "not a contact event (PAUSE)": 1, "not a contact event (UNPAUSE)": 1,
    }


def test_table_layout_agent_states() -> None:
    out = read_queue_log([FIXTURES / "realtime.csv"], "agent_states", "Europe/Berlin")
    _check_accounting(out)
    assert out.rows.to_pylist() == [
        {"_file": 0, "_line": 11, "agent_id": "3001", "state": "aux", "reason": "Coffee break", "queue": "sales",
         "started_at": "2024-01-15T08:20:00+00:00", "ended_at": "2024-01-15T08:35:00+00:00"},
        {"_file": 0, "_line": 12, "agent_id": "3001", "state": "ready", "reason": None, "queue": "sales",
         "started_at": "2024-01-15T08:35:00+00:00", "ended_at": None},
    ]


def test_table_layout_single_data_column() -> None:
    out = read_queue_log([FIXTURES / "realtime_data.csv"], "contacts", "UTC")
    _check_accounting(out)
    assert out.rows.to_pylist() == [{
        "_file": 0, "_line": 4, "contact_id": "1705305598.3", "queue": "support", "channel": "voice",
        "direction": "inbound", "customer_id": "13800000009", "offered_at": "2024-01-15T08:00:00+00:00",
        "answered_at": "2024-01-15T08:00:03+00:00", "ended_at": "2024-01-15T08:00:48+00:00", "wait_s": "3",
        "talk_s": "45", "outcome": "answered", "agent_id": "4001", "transfers": "0",
    }]


def test_pbxware_layout_prefers_epoch_and_uses_htime_ttime() -> None:
    # The text `time` column is US Eastern local time; the epoch column must win whatever the tenant zone.
    out = read_queue_log([FIXTURES / "pbxware.csv"], "contacts", "Asia/Shanghai")
    _check_accounting(out)
    rows = _by(out, "contact_id")
    assert rows["1543602660.197"] == {
        "_file": 0, "_line": 6, "contact_id": "1543602660.197", "queue": "IT", "channel": "voice",
        "direction": "inbound", "customer_id": "13800000021", "offered_at": "2018-11-30T18:31:17+00:00",
        "answered_at": "2018-11-30T18:32:33+00:00", "ended_at": "2018-11-30T18:46:40+00:00", "wait_s": "76",
        "talk_s": "847", "outcome": "answered", "agent_id": "1127", "transfers": "0",
    }
    # Its row sits after the COMPLETECALLER in the file but happened before it: time order decides.
    assert rows["1543602788.300"] == {
        "_file": 0, "_line": 7, "contact_id": "1543602788.300", "queue": "IT", "channel": "voice",
        "direction": "inbound", "customer_id": "13800000022", "offered_at": "2018-11-30T18:33:10+00:00",
        "answered_at": None, "ended_at": "2018-11-30T18:36:40+00:00", "wait_s": "210", "talk_s": None,
        "outcome": "abandoned", "agent_id": None, "transfers": "0",
    }
    assert out.records_read == 7
    assert out.skipped == {RING: 1, MERGED: 3, "not a contact event (OUTDIAL)": 1}


def test_rotated_files_in_any_order(tmp_path: Path) -> None:
    """A call that starts in one file and ends in the next belongs to the file of its final event."""
    lines = (FIXTURES / "calls.log").read_bytes().split(b"\n")
    old, new = tmp_path / "queue_log-1", tmp_path / "queue_log"
    old.write_bytes(b"\n".join(lines[:6]) + b"\n")  # up to A's CONNECT
    new.write_bytes(b"\n".join(lines[6:]))
    whole = read_queue_log([FIXTURES / "calls.log"], "contacts", "UTC")
    for paths in ([old, new], [new, old]):
        out = read_queue_log(paths, "contacts", "UTC")
        _check_accounting(out)
        assert out.records_read == whole.records_read
        assert out.skipped == whole.skipped
        rows = _by(out, "contact_id")
        a = rows["1700000005.1"]
        assert (paths[a["_file"]], a["_line"]) == (new, 3)
        strip = {k for k in a if k.startswith("_")}
        assert {k: {c: v for c, v in r.items() if c not in strip} for k, r in rows.items()} == {
            k: {c: v for c, v in r.items() if c not in strip} for k, r in _by(whole, "contact_id").items()
        }


def test_other_tables_and_zones_are_refused() -> None:
    with pytest.raises(CallopsError, match="contacts"):
        read_queue_log([FIXTURES / "calls.log"], "agents", "UTC")
    with pytest.raises(CallopsError, match="time zone"):
        read_queue_log([FIXTURES / "calls.log"], "contacts", "Mars/Olympus")


def test_helpers() -> None:
    assert normalize_agent("Local/2004@from-internal/n") == "2004"
    assert normalize_agent("Agent/1109") == "1109"
    assert normalize_agent("SIP/1001") == "1001"
    assert normalize_agent("Local/1109@callback-agent") == "1109"
    assert normalize_agent("Sathish") == "Sathish"
    assert normalize_agent("NONE") is None
    assert transfer_times(("2001", "from-internal", "4", "60", "1")) == ("4", "60")  # 1.8+: ...|origpos
    assert transfer_times(("2001", "from-internal", "4", "60")) == ("4", "60")  # 1.4: no origpos
    assert transfer_times(("BRIDGE", "abc-123", "7", "90", "2")) == ("7", "90")  # ATTENDEDTRANSFER
    assert transfer_times(("2001",)) == (None, None)


# ------------------------------------------------------------------------------------------- real samples


def test_freepbx_2010_sample() -> None:
    out = read_queue_log([_shared(FREEPBX)], "contacts", "Europe/Berlin")
    _check_accounting(out)
    assert out.records_read == 278
    assert out.rejects == []
    assert Counter(out.rows.column("outcome").to_pylist()) == {"abandoned": 12, "answered": 7}
    assert out.skipped[OPEN_CALL] == 2
    assert out.skipped[RING] == 221
    # Lines 21, 50, 51 read by hand: ENTERQUEUE 1266834002 (anonymous), CONNECT 1266834038 holdtime 36,
    # COMPLETEAGENT 1266834046 holdtime 36 calltime 8.
    row = _by(out, "contact_id")["1266833996.30"]
    assert (row["_line"], row["wait_s"], row["talk_s"], row["agent_id"], row["customer_id"]) == (51, "36", "8", "2004",
                                                                                                  None)
    assert (row["offered_at"], row["answered_at"], row["ended_at"]) == (
        "2010-02-22T10:20:02+00:00", "2010-02-22T10:20:38+00:00", "2010-02-22T10:20:46+00:00"
    )
    # Lines 82 and 110: ABANDON 2|2|17.
    row = _by(out, "contact_id")["1266834395.133"]
    assert (row["_line"], row["outcome"], row["wait_s"]) == (110, "abandoned", "17")


def test_pbxware_2018_table_export() -> None:
    path = _shared(PBXWARE)
    out = read_queue_log([path], "contacts", "America/New_York")
    _check_accounting(out)
    assert out.records_read == 1000
    assert out.rejects == []
    # 108 ENTERQUEUE: 104 closed (51 COMPLETEAGENT + 38 COMPLETECALLER, 12 ABANDON + 1 EXITWITHTIMEOUT,
    # 1 ATTENDEDTRANSFER + 1 BLINDTRANSFER) and 4 cut off by the 1000-row export.
    assert Counter(out.rows.column("outcome").to_pylist()) == {"answered": 89, "abandoned": 13, "transferred": 2}
    assert out.skipped[OPEN_CALL] == 4
    rows = _by(out, "contact_id")
    # uid 174/175/177 (lines 175, 176, 178): CONNECT htime 6, ATTENDEDTRANSFER htime 6 ttime 30.
    row = rows["1543833609.335"]
    assert (row["_line"], row["outcome"], row["wait_s"], row["talk_s"], row["agent_id"]) == (
        178, "transferred", "6", "30", "1128"
    )
    assert rows["1543860451.3324"]["wait_s"] == "300"  # EXITWITHTIMEOUT after maxwait 300 s
    states = read_queue_log([path], "agent_states", "America/New_York")
    _check_accounting(states)
    keys = [(r["agent_id"], r["started_at"]) for r in states.rows.to_pylist()]
    assert len(keys) == len(set(keys))
    assert set(states.rows.column("agent_id").to_pylist()) == {"1109", "1126", "1127", "1128", "1141", "1144"}


def test_issabel_rotated_files_with_nul_runs() -> None:
    folder = _shared(ISSABEL)
    paths = sorted(folder.glob("queue_log*"))
    assert len(paths) == 5
    out = read_queue_log(paths, "contacts", "Asia/Kolkata")
    _check_accounting(out)
    assert out.records_read == 923
    assert out.rejects == []
    assert Counter(out.rows.column("outcome").to_pylist()) == {"abandoned": 30, "answered": 3}
    assert out.skipped["not a contact event (DID)"] == 33
    assert out.skipped["not a contact event (QUEUESTART)"] == 98  # includes the 3 lines behind NUL runs
    states = read_queue_log(list(reversed(paths)), "agent_states", "Asia/Kolkata")
    _check_accounting(states)
    keys = [(r["agent_id"], r["started_at"]) for r in states.rows.to_pylist()]
    assert len(keys) == len(set(keys))
    agents = set(states.rows.column("agent_id").to_pylist())
    assert {"1000", "1001", "Sathish"} <= agents  # member names stay separate agents (documented limitation)


# ------------------------------------------------------------------------------------------- end to end


def _load(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, table: str, paths: list[Path]):
    from callops.ingest.loader import load_files
    from callops.ingest.mapping import load_mapping
    from callops.tenancy import create_tenant
    from callops.warehouse import Warehouse

    monkeypatch.setenv("CALLOPS_HOME", str(tmp_path))
    wh = Warehouse()
    tenant = create_tenant(wh, "t1")
    return load_files(wh, tenant, table, paths, load_mapping("asterisk_queue_log", table))


def test_load_freepbx_contacts_end_to_end(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    s = _load(monkeypatch, tmp_path, "contacts", [_shared(FREEPBX)])
    assert s.rejected == 0
    assert s.loaded == 19
    assert s.balanced
    assert s.read == 278
    assert s.skip_reasons[OPEN_CALL] == 2


def test_load_fixture_agent_states_end_to_end(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    s = _load(monkeypatch, tmp_path, "agent_states", [FIXTURES / "agents.log"])
    assert s.loaded == 9
    assert s.rejected == 1
    assert s.balanced
    assert s.read == 15
