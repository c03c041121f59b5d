"""Cost view (C3): cost per contact per channel, e-channel share, true containment and diversion over time.

Costs are the tenant's metric parameters (``$CALLOPS_HOME/tenants/<tenant>/metrics.yaml``), the same numbers the
catalog's ``contact_cost`` and ``cost_per_contact`` metrics use::

    parameters:
      agent_cost_per_hour: 60          # fully loaded cost of an agent hour
      channel_cost_per_contact: {voice: 0.8, chat: 0.3, app: 0.05}   # fixed cost per contact (licences, telecom)

The journey parameters live in ``$CALLOPS_HOME/tenants/<tenant>/journeys.yaml`` (defaults below)::

    e_channels: [app, web, sms, social]  # self-service electronic channels
    containment_hours: 24              # N of "true containment"

* cost of a contact = its agent time (talk + hold + after-contact work) x agent cost per hour + its channel's
  fixed cost; cost per contact per channel = the channel's total / its contacts;
* e-channel share = contacts on an e-channel / all contacts;
* **true containment**: a session with no ``agent`` step is contained when its customer has no answered contact
  (on any channel) within N hours after the session's last step; the share is over such self-service sessions;
* diversion over time: per local week of the tenant, the e-channel share, true containment and cost per contact.
"""

from __future__ import annotations

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from callops.errors import CallopsError
from callops.journey.events import Selection, events, run_sql
from callops.metrics.parameters import load_parameters as metric_parameters
from callops.metrics.parameters import tenant_parameters_path
from callops.metrics.spec import DEFAULT_CHANNEL_COSTS
from callops.settings import tenant_file
from callops.tenancy import Tenant, scoped
from callops.warehouse import Warehouse


class Costs(BaseModel):
    """Agent and channel costs (from the tenant's metric parameters)."""

    model_config = ConfigDict(extra="forbid")
    agent_cost_per_hour: float = Field(60.0, ge=0)
    channel_cost_per_contact: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_CHANNEL_COSTS))


class JourneyParameters(BaseModel):
    """A tenant's journey parameters, with its costs."""

    model_config = ConfigDict(extra="forbid")
    costs: Costs = Field(default_factory=Costs)
    e_channels: list[str] = Field(default_factory=lambda: ["app", "web", "sms", "social"])
    containment_hours: float = Field(24.0, gt=0)


def load_parameters(tenant_id: str) -> JourneyParameters:
    """The tenant's journey parameters (defaults where the file is absent or silent) and metric cost parameters."""
    metric = metric_parameters(tenant_id)
    costs = {"agent_cost_per_hour": metric.agent_cost_per_hour,
             "channel_cost_per_contact": metric.channel_cost_per_contact}
    path = tenant_file(tenant_id, "journeys.yaml")
    if not path.is_file():
        return JourneyParameters(costs=Costs(**costs))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if isinstance(data, dict) and "costs" in data:
            raise CallopsError(
                f"{path}: costs are metric parameters now: move agent_cost_per_hour and channel_cost_per_contact "
                f"under parameters: in {tenant_parameters_path(tenant_id)}")
        return JourneyParameters.model_validate({**(data if isinstance(data, dict) else {}), "costs": costs})
    except yaml.YAMLError as exc:
        raise CallopsError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        raise CallopsError(f"{path}: at {'.'.join(map(str, err['loc']))}: {err['msg']}") from None


def _channel_cost_sql(p: JourneyParameters) -> str:
    whens = " ".join(f"WHEN '{c.replace(chr(39), '')}' THEN {float(v)!r}"
                     for c, v in p.costs.channel_cost_per_contact.items())
    return f"CASE channel {whens} ELSE 0.0 END" if whens else "0.0"


def _e_list(p: JourneyParameters) -> str:
    return ", ".join("'" + c.replace("'", "") + "'" for c in p.e_channels) or "NULL"


def channel_costs(wh: Warehouse, tenant: Tenant, params: JourneyParameters | None = None) -> dict:
    """Contacts, agent hours, total cost and cost per contact per channel, and the e-channel share."""
    p = params or load_parameters(tenant.tenant_id)
    rows = run_sql(
        wh, {"co": scoped(wh, tenant, "contacts")},
        f"""SELECT channel, count(*) AS contacts,
                   sum(coalesce(talk_s, 0) + coalesce(hold_s, 0) + coalesce(acw_s, 0)) / 3600.0 AS agent_hours,
                   sum({_channel_cost_sql(p)}) AS fixed_cost
            FROM co GROUP BY channel ORDER BY contacts DESC, channel""",
    )
    total = sum(r["contacts"] for r in rows)
    e = set(p.e_channels)
    for r in rows:
        r["agent_hours"] = float(r["agent_hours"] or 0.0)
        r["agent_cost"] = r["agent_hours"] * p.costs.agent_cost_per_hour
        r["fixed_cost"] = float(r["fixed_cost"] or 0.0)
        r["cost"] = r["agent_cost"] + r["fixed_cost"]
        r["cost_per_contact"] = r["cost"] / r["contacts"] if r["contacts"] else None
        r["e_channel"] = r["channel"] in e
    cost = sum(r["cost"] for r in rows)
    return {"channels": rows, "contacts": total, "cost": cost, "cost_per_contact": cost / total if total else None,
            "e_channel_share": sum(r["contacts"] for r in rows if r["e_channel"]) / total if total else None,
            "parameters": p.model_dump()}


def containment(wh: Warehouse, tenant: Tenant, sel: Selection | None = None,
                params: JourneyParameters | None = None) -> dict:
    """True containment of self-service sessions within the tenant's N hours, overall and per entry channel."""
    p = params or load_parameters(tenant.tenant_id)
    rows = run_sql(
        wh, {"ev": events(wh, tenant, sel), "co": scoped(wh, tenant, "contacts")},
        """, s AS (SELECT session_id, any_value(customer_id) AS customer_id, arg_min(channel, seq) AS channel,
                         max(ts) AS last_ts, bool_or(step = 'agent') AS agent FROM ev GROUP BY session_id),
        ss AS (SELECT * FROM s WHERE NOT agent),
        leaked AS (SELECT DISTINCT ss.session_id FROM ss JOIN co ON co.customer_id = ss.customer_id
                   AND co.outcome = 'answered' AND co.offered_at > ss.last_ts
                   AND co.offered_at <= ss.last_ts + to_microseconds(CAST(? * 3600e6 AS BIGINT)))
        SELECT coalesce(channel, '(none)') AS channel, count(*) AS self_service_sessions,
               count(*) FILTER (WHERE session_id NOT IN (SELECT session_id FROM leaked)) AS contained
        FROM ss GROUP BY ALL ORDER BY self_service_sessions DESC, channel""",
        [p.containment_hours],
    )
    n = sum(r["self_service_sessions"] for r in rows)
    c = sum(r["contained"] for r in rows)
    for r in rows:
        r["containment"] = r["contained"] / r["self_service_sessions"]
    return {"hours": p.containment_hours, "self_service_sessions": n, "contained": c,
            "containment": c / n if n else None, "channels": rows}


def diversion(wh: Warehouse, tenant: Tenant, params: JourneyParameters | None = None) -> list[dict]:
    """Per local week: contacts, e-channel share and cost per contact (the shift from agents to self-service)."""
    p = params or load_parameters(tenant.tenant_id)
    zone = tenant.timezone.replace("'", "")
    rows = run_sql(
        wh, {"co": scoped(wh, tenant, "contacts")},
        f"""SELECT CAST(date_trunc('week', timezone('{zone}', offered_at)) AS DATE) AS week, count(*) AS contacts,
                   avg(CASE WHEN channel IN ({_e_list(p)}) THEN 1.0 ELSE 0.0 END) AS e_channel_share,
                   (sum(coalesce(talk_s, 0) + coalesce(hold_s, 0) + coalesce(acw_s, 0)) / 3600.0
                      * {p.costs.agent_cost_per_hour!r} + sum({_channel_cost_sql(p)})) / count(*) AS cost_per_contact
            FROM co GROUP BY ALL ORDER BY week""",
    )
    for r in rows:
        r["week"] = r["week"].isoformat()
        r["e_channel_share"] = float(r["e_channel_share"])
        r["cost_per_contact"] = float(r["cost_per_contact"])
    return rows
