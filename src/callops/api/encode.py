"""JSON-safe answers: NaN and infinities become null, dates ISO text, numpy scalars plain numbers.

FastAPI refuses NaN when it serialises (a 500); library results that may hold one go through :func:`clean`.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time
from typing import Any


def clean(value: Any) -> Any:
    """``value`` with every nested float made finite-or-None and every date/time as ISO text."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [clean(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if hasattr(value, "item") and callable(value.item):  # numpy / pandas scalars
        try:
            return clean(value.item())
        except (ValueError, TypeError):
            pass
    if hasattr(value, "tolist"):
        return clean(value.tolist())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
