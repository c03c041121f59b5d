"""Text QA per agent: contacts, mean automatic score and per-item pass rates counted by hand."""

from __future__ import annotations

import pytest

from callops.quality.service import textqa_by_agent


def test_per_agent_summary_by_hand() -> None:
    contacts = [
        {"contact_id": "c1", "score": 100.0, "items": {"greet": {"passed": True}, "verify": {"passed": True}}},
        {"contact_id": "c2", "score": 50.0, "items": {"greet": {"passed": False}, "verify": {"passed": True}}},
        {"contact_id": "c3", "score": None, "items": {"greet": {"passed": True}, "verify": {"passed": None}}},
        {"contact_id": "c4", "score": 0.0, "items": {"greet": {"passed": False}, "verify": {"passed": False}}},
        {"contact_id": "c5", "score": 0.0, "items": {"greet": {"passed": False}}},  # no agent known: left out
    ]
    got = textqa_by_agent(contacts, {"c1": "A", "c2": "A", "c3": "A", "c4": "B"})
    assert got == [
        {"agent_id": "A", "contacts": 3, "score": pytest.approx(75.0),
         "pass_rate": {"greet": pytest.approx(2 / 3), "verify": 1.0}},
        {"agent_id": "B", "contacts": 1, "score": 0.0, "pass_rate": {"greet": 0.0, "verify": 0.0}},
    ]  # fmt: skip
    assert [c["agent_id"] for c in contacts] == ["A", "A", "A", "B", None]
