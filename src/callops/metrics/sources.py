"""Source relations that measures aggregate, each built from :func:`callops.tenancy.scoped` tables.

Besides the canonical tables, two derived sources exist because their metrics
need more than one row at a time:

* ``contact_repeats``: contacts with ``repeated`` = the same customer made another
  contact (any channel) within ``repeat_window_days`` after this one's
  ``offered_at``; null when the customer is unknown. Computed over the tenant's
  whole history before any period filter, so a repeat just after the period counts.
* ``schedule_state_overlap``: every (schedule block, agent state) pair of one agent
  that overlap in time, with ``overlap_s`` and ``compliant`` = the state fits the
  activity (work → ready/busy/acw; break, lunch, training, meeting → aux/offline).

Every source exposes the dimensions it supports under the dimension's name
(``agent`` for ``agent_id``, ``team`` and a roster ``center`` via the ``agents``
table, joined only when asked for).
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from callops import schema, tenancy
from callops.tenancy import Tenant
from callops.warehouse import Warehouse

DIMENSIONS = ("center", "queue", "channel", "direction", "business_type", "team", "agent")


@dataclass(frozen=True)
class Source:
    """What a source offers: its columns, timestamp columns and dimensions."""

    name: str
    columns: tuple[str, ...]
    timestamps: tuple[str, ...]
    dimensions: tuple[str, ...]
    description: str


def _cols(table: str) -> tuple[str, ...]:
    return schema.get_table(table).column_names


def _ts(table: str) -> tuple[str, ...]:
    return tuple(c.name for c in schema.get_table(table).columns if c.type == schema.ColumnType.TIMESTAMP)


_CONTACT_DIMS = ("center", "queue", "channel", "direction", "business_type", "agent", "team")
_AGENT_DIMS = ("center", "queue", "agent", "team")

SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source("contacts", _cols("contacts"), _ts("contacts"), _CONTACT_DIMS, "One row per contact."),
        Source(
            "contact_repeats",
            (*_cols("contacts"), "repeated"),
            _ts("contacts"),
            _CONTACT_DIMS,
            "Contacts with `repeated`: the customer came back within the repeat window.",
        ),
        Source(
            "agent_states",
            (*_cols("agent_states"), "duration_s"),
            _ts("agent_states"),
            _AGENT_DIMS,
            "Agent state intervals with `duration_s` (open intervals have no duration).",
        ),
        Source(
            "schedules",
            (*_cols("schedules"), "duration_s"),
            _ts("schedules"),
            _AGENT_DIMS,
            "Scheduled activities with `duration_s`.",
        ),
        Source(
            "schedule_state_overlap",
            ("agent_id", "activity", "start_at", "end_at", "queue", "state", "overlap_s", "compliant"),
            ("start_at", "end_at"),
            _AGENT_DIMS,
            "Overlaps of schedule blocks with the same agent's states, with `overlap_s` and `compliant`.",
        ),
        Source(
            "qa_evaluations",
            _cols("qa_evaluations"),
            _ts("qa_evaluations"),
            ("center", "agent", "team"),
            "Quality evaluation items (agent dimensions via the roster).",
        ),
    )
}


def _seconds(start: ir.TimestampValue, end: ir.TimestampValue) -> ir.NumericValue:
    return (end.epoch_seconds() - start.epoch_seconds()).cast("float64")


@ibis.udf.scalar.builtin(name="epoch")
def _duckdb_epoch(ts: dt.Timestamp(timezone="UTC")) -> dt.Float64():  # type: ignore[valid-type]
    """DuckDB's ``epoch(timestamptz)``: seconds since 1970-01-01 UTC, with the fraction."""


def _repeat_gap_seconds(start: ir.TimestampValue, end: ir.TimestampValue, backend: str) -> ir.NumericValue:
    """Seconds from a contact to the customer's next one, for the repeat window (a double).

    On DuckDB ``epoch()`` reads the TIMESTAMPTZ as it is, where Ibis's ``epoch_seconds`` first casts it to
    a plain TIMESTAMP: an ICU time-zone conversion per value, two per contact (issue 18). Same values (the
    session zone is UTC). Only here: a UDF is opaque to Ibis, which then stops merging the SELECT around it,
    and the repeat window's SELECT is never merged anyway (it holds a window function).
    """
    if backend == "duckdb":
        return _duckdb_epoch(end) - _duckdb_epoch(start)
    return _seconds(start, end)


def _with_roster(wh: Warehouse, tenant: Tenant, rel: ir.Table, needs: set[str], own_center: bool) -> ir.Table:
    """Add ``team`` (and the roster ``center`` when the table has none) from the agents table."""
    wanted = {"team"} | (set() if own_center else {"center"})
    if not (needs & wanted):
        return rel
    agents = tenancy.scoped(wh, tenant, "agents")
    roster = agents.select(
        _roster_agent=agents.agent_id,
        team=agents.team,
        **({} if own_center else {"center": agents.center}),
    )
    joined = rel.left_join(roster, rel.agent_id == roster._roster_agent)
    return joined.drop("_roster_agent")


def _with_agent(rel: ir.Table, needs: set[str]) -> ir.Table:
    """The ``agent`` dimension is the ``agent_id`` column (added only when used, to keep the SQL short)."""
    return rel.mutate(agent=rel.agent_id) if "agent" in needs else rel


def build_source(
    wh: Warehouse, tenant: Tenant, name: str, needs: set[str], repeat_window_days: float
) -> ir.Table:
    """The relation of source ``name`` for ``tenant``, with the dimension columns in ``needs``."""
    if name in ("contacts", "contact_repeats"):
        rel = tenancy.scoped(wh, tenant, "contacts")
        if name == "contact_repeats":
            window = ibis.window(group_by=rel.customer_id, order_by=[rel.offered_at, rel.contact_id])
            following = rel.offered_at.lead().over(window)
            gap = _repeat_gap_seconds(rel.offered_at, following, wh.backend.name)
            rel = rel.mutate(
                repeated=ibis.cases(
                    (rel.customer_id.isnull(), ibis.null("boolean")),
                    (following.isnull(), False),
                    else_=gap <= repeat_window_days * 86400.0,
                )
            )
        rel = _with_agent(rel, needs)
        return _with_roster(wh, tenant, rel, needs, own_center=True)
    if name in ("agent_states", "schedules"):
        rel = tenancy.scoped(wh, tenant, name)
        start, end = ("started_at", "ended_at") if name == "agent_states" else ("start_at", "end_at")
        rel = _with_agent(rel.mutate(duration_s=_seconds(rel[start], rel[end])), needs)
        return _with_roster(wh, tenant, rel, needs, own_center=False)
    if name == "schedule_state_overlap":
        s = tenancy.scoped(wh, tenant, "schedules")
        a = tenancy.scoped(wh, tenant, "agent_states")
        a = a.select(_a_agent=a.agent_id, state=a.state, _a_start=a.started_at, _a_end=a.ended_at)
        j = s.inner_join(
            a, [s.agent_id == a._a_agent, a._a_start < s.end_at, a._a_end.notnull(), a._a_end > s.start_at]
        )
        overlap = _seconds(ibis.greatest(j.start_at, j._a_start), ibis.least(j.end_at, j._a_end))
        compliant = ibis.ifelse(
            j.activity == "work", j.state.isin(["ready", "busy", "acw"]), j.state.isin(["aux", "offline"])
        )
        rel = j.select(
            "agent_id", "activity", "start_at", "end_at", "queue", "state", overlap_s=overlap, compliant=compliant
        )
        rel = _with_agent(rel, needs)
        return _with_roster(wh, tenant, rel, needs, own_center=False)
    if name == "qa_evaluations":
        rel = _with_agent(tenancy.scoped(wh, tenant, "qa_evaluations"), needs)
        return _with_roster(wh, tenant, rel, needs, own_center=False)
    raise KeyError(name)
