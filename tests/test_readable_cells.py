"""CLI table cells people read (issue 16): thousands separators, never scientific notation, "—" for missing,
instants in the tenant's zone."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from callops.cli import _cell


def test_examples() -> None:
    assert _cell(None) == "—" and _cell(float("nan")) == "—"
    assert _cell(357396) == "357,396" and _cell(1234567.0) == "1,234,567"
    assert _cell(0.8123) == "0.8123" and _cell(12.345) == "12.35" and _cell(123456.78) == "123,456.8"
    assert _cell(1.5e-7) == "0.0000" and "e" not in _cell(3.2e12)
    # 2026-03-05 16:30 UTC is half past midnight the next day in Shanghai
    assert _cell(datetime(2026, 3, 5, 16, 30, tzinfo=UTC), "Asia/Shanghai") == "2026-03-06 00:30:00"


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e14, max_value=1e14) | st.integers(-10**15, 10**15))
def test_numbers_read_back(value: float | int) -> None:
    text = _cell(value)
    assert "e" not in text.lower() and "nan" not in text
    back = float(text.replace(",", ""))
    # the text is the value rounded to the digits it shows: off by at most half a unit of its last place
    shown = len(text.split(".")[1]) if "." in text else 0
    assert abs(back - value) <= 0.5 * 10**-shown * (1 + 1e-9) + 1e-9 * abs(value), (value, text)
    assert math.isclose(back, value, rel_tol=5e-3, abs_tol=5e-5), (value, text)  # and never coarser than this
    if abs(value) >= 1000:
        assert "," in text
