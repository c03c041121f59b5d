"""The event contract: valid events parse, malformed ones are rejected with a reason and never crash the engine."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callops.realtime.engine import LiveEngine
from callops.realtime.events import EventError, decode_batch, parse_event
from callops.realtime.state import LiveConfig

GOOD = {"type": "contact.offered", "ts": "2024-03-04T09:00:00+08:00", "tenant": "demo", "contact_id": "c1",
        "queue": "billing", "channel": "voice", "center": "north-1"}


def test_valid_event_parses_with_zone() -> None:
    ev = parse_event(json.dumps(GOOD))
    assert ev.type == "contact.offered" and ev.channel == "voice"
    assert ev.ts.timestamp() == 1709514000.0  # 2024-03-04 01:00 UTC


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"ts": "2024-03-04T09:00:00"}, "timezone"),  # naive time
        ({"type": "contact.flew"}, "type"),
        ({"channel": "pigeon"}, "channel"),
        ({"contact_id": None}, "contact_id"),
        ({"queue": None}, "queue"),
        ({"channel": None}, "channel"),
        ({"tenant": "Not A Tenant"}, "tenant"),
        ({"ts": "yesterday"}, "ts"),
    ],
)
def test_malformed_events_have_reasons(change: dict, reason: str) -> None:
    raw = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    with pytest.raises(EventError) as exc:
        parse_event(json.dumps(raw))
    assert reason in exc.value.reason.lower()


def test_agent_state_needs_agent_and_state() -> None:
    with pytest.raises(EventError, match="agent_id"):
        parse_event({"type": "agent.state", "ts": GOOD["ts"], "tenant": "demo", "state": "ready"})
    with pytest.raises(EventError, match="state"):
        parse_event({"type": "agent.state", "ts": GOOD["ts"], "tenant": "demo", "agent_id": "a1", "state": "asleep"})


def test_not_json_and_not_object() -> None:
    with pytest.raises(EventError, match="not valid JSON"):
        parse_event('{"type": ')
    with pytest.raises(EventError, match="object"):
        parse_event("[1, 2]")


def test_batches_as_array_or_lines() -> None:
    assert len(decode_batch(json.dumps([GOOD, GOOD]))) == 2
    assert len(decode_batch(json.dumps(GOOD) + "\n\n" + json.dumps(GOOD) + "\n")) == 2
    odd = json.dumps({**GOOD, "agent_id": "a\u2028b"}, ensure_ascii=False)  # a line separator inside a string
    assert decode_batch(odd + "\r\n" + odd) == [odd + "\r", odd]  # JSON lines end at newlines only
    with pytest.raises(EventError, match="agent_id"):  # judged as the event it is, not as broken JSON
        parse_event(decode_batch(odd)[0])
    with pytest.raises(EventError):
        decode_batch("[{")


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200),
                 st.dictionaries(st.sampled_from([*GOOD, "state", "agent_id", "x"]),
                                 st.one_of(st.none(), st.text(max_size=20), st.integers(), st.floats()), max_size=8)))
def test_engine_never_crashes_on_garbage(raw: object) -> None:
    eng = LiveEngine(LiveConfig("demo"))
    payload = raw if not isinstance(raw, dict) else json.dumps(raw)
    used = eng.submit(payload, "fuzz")
    assert used == (eng.stats.accepted == 1)
    assert eng.stats.accepted + eng.stats.rejected + eng.stats.duplicates == 1
    if not used and eng.stats.rejected:
        assert eng.stats.samples[0].reason


def test_duplicates_ignored_and_counted() -> None:
    eng = LiveEngine(LiveConfig("demo"))
    line = json.dumps(GOOD)
    assert eng.submit(line) is True
    assert eng.submit(line) is False
    same_instant_other_zone = json.dumps({**GOOD, "ts": "2024-03-04T01:00:00+00:00"})
    assert eng.submit(same_instant_other_zone) is False  # the same instant is the same event
    assert eng.stats.duplicates == 2 and eng.stats.accepted == 1
    assert eng.state.scope("queue", "billing").waiting == 1


def test_wrong_tenant_rejected() -> None:
    eng = LiveEngine(LiveConfig("other"))
    assert eng.submit(json.dumps(GOOD), "line 1") is False
    assert eng.stats.rejected == 1 and "tenant" in eng.stats.samples[0].reason
