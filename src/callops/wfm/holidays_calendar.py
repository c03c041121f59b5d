"""Public holidays for forecasting, from the ``holidays`` package (China by default).

How the forecaster uses them (see :mod:`callops.wfm.forecast`):

* past holidays are taken *out* of model fitting: their intervals are replaced by the
  normal profile of that weekday, so a Spring Festival dip does not leak into the
  following weeks' seasonal pattern;
* each past holiday gives a ratio ``actual day volume / normal day volume``; their mean
  (per holiday name when that name was seen before, pooled otherwise) scales the
  normal forecast of future holidays;
* with no past holiday in the history there is nothing to learn from: future holidays
  keep the normal forecast and the forecast says so in its notes.

China's make-up working days on weekends (调休) are listed by :func:`weekend_workdays`; a
forecaster whose open weekdays exclude weekends simply leaves them out of its grid.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import holidays

from callops.errors import CallopsError

DEFAULT_COUNTRY = "CN"


def holiday_dates(country: str | None, years: Iterable[int], subdiv: str | None = None) -> dict[date, str]:
    """Public holidays of ``country`` (ISO code such as CN, US, DE) in ``years``; empty when ``country`` is None."""
    if not country or country.lower() == "none":
        return {}
    try:
        cal = holidays.country_holidays(country.upper(), subdiv=subdiv, years=sorted(set(years)))
    except NotImplementedError:
        raise CallopsError(
            f"unknown holiday country {country!r}; use an ISO code such as CN, US or DE, or none"
        ) from None
    return {d: str(name) for d, name in cal.items()}


def weekend_workdays(country: str | None, years: Iterable[int]) -> set[date]:
    """Weekend dates that are official working days (China's make-up days), where the calendar knows them."""
    if not country or country.lower() == "none":
        return set()
    cal = holidays.country_holidays(country.upper(), years=sorted(set(years)))
    return set(getattr(cal, "weekend_workdays", set()) or set())
