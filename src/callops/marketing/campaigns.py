"""Campaign benefit evaluation (issue 12, V4): what each campaign costs and returns, and whether to pause it.

Per campaign and period (local dates of the tenant):

* **Agent time on the offer, measured from the contacts.** The warehouse has no "marketing seconds" column, so
  the time an offer adds is the excess handle time of the contacts that carried it over the handled contacts
  without an offer *of the same queue and channel* (strata, so a campaign offered mostly in a slow queue is not
  charged for that queue's slowness). Three kinds of contact: ``popup`` (an offer popped up, ``offer_result``
  empty: the agent did not pitch), ``presented`` (pitched: accepted or declined). Pitch = excess talk + hold of a
  presented contact; after-contact work = its excess ``acw_s``; pop-up = the excess handle of a popup contact.
  Each stratum's excess is weighted by the campaign's contacts in it; a negative excess (noise) counts as 0.
  Below ``agent_time.min_presented`` presentations, or when the measured excess per presentation is not above
  twice its standard error (the data cannot tell it from 0), the declared seconds of the cost file are used
  instead; the evidence says which, and shows the measured figure and its standard error either way.
* **Cost** = agent seconds / 3600 × ``agent_cost_per_hour`` + Σ accepted × ``offers.commission`` + the
  campaign's declared ``other_costs`` prorated by the days of the period within its run.
* **Return** = Σ accepted × ``offers.unit_price``.
* **Benefit score** (0–100) = 100 × Σ weight × part over economics (return / (return + cost)), importance,
  ease (1 − difficulty), channel fit and acceptance (rate / target, at most 1); every part is shown.
* **Decision** by Wald's SPRT (:mod:`callops.marketing.sprt`) on the campaign's presentations in time order
  (after its last resume): H0 the break-even rate ``p0`` (acceptance at which cost = threshold × return,
  given the period's cost per presentation and the presentation-weighted price and commission) against
  H1 the target ``p1``. ``pause`` needs the test to accept H0 *and* the period's cost/return above the
  threshold; ``continue`` is the test accepting H1; anything else is ``undecided``.

All warehouse reads go through :func:`callops.tenancy.scoped`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from callops import tenancy
from callops.errors import CallopsError, NotFound
from callops.marketing.sprt import Sprt
from callops.settings import tenant_file
from callops.value.yamlio import fail, line_of, number, read_definition, require_keys
from callops.warehouse import Warehouse

DEFAULT_COSTS = Path(__file__).with_name("default_campaign_costs.yaml")
SCORE_PARTS = ("economics", "importance", "ease", "channel_fit", "acceptance")
MIN_BASELINE = 20  # handled contacts without an offer a stratum needs to be its own baseline


@dataclass(frozen=True)
class CampaignCost:
    """A campaign's declared costs and target."""

    campaign_id: str
    other_costs: float = 0.0
    target_rate: float | None = None
    line: int = 0


@dataclass(frozen=True)
class CostFile:
    """A tenant's campaign cost file, validated."""

    origin: str
    agent_cost_per_hour: float = 60.0  # the metric parameter's default; tenant_costs sets the tenant's own
    service_unit_price: float = 3.0
    max_cost_return_ratio: float = 1.0
    alpha: float = 0.05
    beta: float = 0.10
    target_lift: float = 1.5
    min_presented: int = 200
    popup_s: float = 5.0
    pitch_s: float = 40.0
    acw_s: float = 10.0
    weights: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SCORE_PARTS, 0.2))
    campaigns: dict[str, CampaignCost] = field(default_factory=dict)

    def check_known(self, known: set[str]) -> None:
        """Refuse a campaign the warehouse does not know, naming the file and its line."""
        for c in self.campaigns.values():
            if c.campaign_id not in known:
                raise CallopsError(f"{self.origin}, line {c.line}: unknown campaign {c.campaign_id!r}; "
                                   f"known: {', '.join(sorted(known)) or 'none'}")


def tenant_costs_path(tenant_id: str) -> Path:
    """Where a tenant's own cost file lives: ``$CALLOPS_HOME/tenants/<tenant>/campaigns.yaml``."""
    return tenant_file(tenant_id, "campaigns.yaml")


def load_costs(path: Path | str | None = None) -> CostFile:
    """Read and validate a cost file (default: the shipped one); errors name the file and line."""
    data, origin = read_definition(path or DEFAULT_COSTS)
    if data is None:
        data = {}
    if "agent_cost_per_hour" in data:  # one place for it: the cost metrics, journeys and the balance read it too
        raise CallopsError(f"{origin}: agent_cost_per_hour is a metric parameter now: set it under parameters: in "
                           "the tenant's metrics.yaml (callops metrics parameters) and remove it here")  # fmt: skip
    require_keys(origin, data, "cost file", (), ("service_unit_price", "threshold", "test",
                                                 "agent_time", "score_weights", "campaigns"))
    kw: dict[str, Any] = {"origin": origin}
    for key in ("service_unit_price",):
        if key in data:
            kw[key] = number(origin, data, key, "cost file")
    sections = {
        "threshold": {"max_cost_return_ratio": (1e-9, None)},
        "test": {"alpha": (1e-9, 0.5), "beta": (1e-9, 0.5), "target_lift": (1.0 + 1e-9, None)},
        "agent_time": {"min_presented": (0, None), "popup_s": (0, None), "pitch_s": (0, None), "acw_s": (0, None)},
    }
    for section, keys in sections.items():
        node = data.get(section)
        if node is None:
            continue
        require_keys(origin, node, section, (), tuple(keys))
        for key, (lo, hi) in keys.items():
            if key in node:
                v = number(origin, node, key, section, minimum=lo)
                if hi is not None and v >= hi:
                    raise fail(origin, node, f"{section}: {key} must be below {hi:g}, not {v!r}", key)
                kw[key] = int(v) if key == "min_presented" else v
    if data.get("score_weights") is not None:
        node = data["score_weights"]
        require_keys(origin, node, "score_weights", (), SCORE_PARTS)
        weights = {k: number(origin, node, k, "score_weights") for k in SCORE_PARTS if k in node}
        total = sum(weights.values())
        if total <= 0:
            raise fail(origin, node, "score_weights: the weights must not all be 0")
        kw["weights"] = {k: weights.get(k, 0.0) / total for k in SCORE_PARTS}
    camps: dict[str, CampaignCost] = {}
    items = data.get("campaigns") or []
    if not isinstance(items, list):
        raise fail(origin, data, "campaigns must be a list", "campaigns")
    for item in items:
        require_keys(origin, item, "campaign", ("campaign_id",), ("other_costs", "target_rate"))
        cid = item["campaign_id"]
        if not isinstance(cid, str) or not cid.strip():
            raise fail(origin, item, f"campaign_id must be text, not {cid!r}", "campaign_id")
        if cid in camps:
            raise fail(origin, item, f"repeated campaign id {cid!r} (first on line {camps[cid].line})",
                       "campaign_id")
        other = number(origin, item, "other_costs", f"campaign {cid}") if "other_costs" in item else 0.0
        target = None
        if item.get("target_rate") is not None:
            target = number(origin, item, "target_rate", f"campaign {cid}", minimum=1e-9)
            if target >= 1:
                raise fail(origin, item, f"campaign {cid}: target_rate must be below 1, not {target!r}",
                           "target_rate")
        camps[cid] = CampaignCost(cid, other, target, line_of(item, key="campaign_id"))
    kw["campaigns"] = camps
    return CostFile(**kw)


def tenant_costs(tenant_id: str, path: Path | str | None = None) -> CostFile:
    """The cost file ``path``, else the tenant's own, else the shipped default; with the tenant's agent cost per
    hour from its metric parameters (the one setting the cost metrics and the journeys cost view use too)."""
    from dataclasses import replace

    from callops.metrics.parameters import load_parameters

    own = tenant_costs_path(tenant_id)
    costs = load_costs(path if path is not None else own if own.exists() else None)
    return replace(costs, agent_cost_per_hour=float(load_parameters(tenant_id).agent_cost_per_hour))


# ------------------------------------------------------------------------------------------------ reading
def _fetch(wh: Warehouse, relations: dict[str, Any], sql: str, params: list[Any] | None = None) -> Any:
    """Run ``sql`` over scoped relations bound as CTEs; a pyarrow table."""
    import ibis

    ctes = ", ".join(f"{name} AS ({ibis.to_sql(expr, dialect='duckdb')})" for name, expr in relations.items())
    return wh.backend.con.sql(f"WITH {ctes} {sql}", params=params or None).to_arrow_table()


def _rows(table: Any) -> list[dict[str, Any]]:
    return table.to_pylist()


def period_bounds(tenant: tenancy.Tenant, start: date | None, end: date | None) -> tuple[datetime, datetime]:
    """UTC instants of the local days ``start`` 00:00 to ``end`` + 1 00:00 (open ends reach far)."""
    if start is not None and end is not None and end < start:
        raise CallopsError(f"--to {end} is before --from {start}")
    zone = ZoneInfo(tenant.timezone)
    lo = datetime.combine(start, time(), zone).astimezone(UTC) if start else datetime(1970, 1, 1, tzinfo=UTC)
    hi = (datetime.combine(end + timedelta(days=1), time(), zone).astimezone(UTC) if end
          else datetime(2200, 1, 1, tzinfo=UTC))
    return lo, hi


_HANDLED = """
  h AS (SELECT contact_id, queue, channel, offered_at, offer_id, offer_result,
               coalesce(talk_s, 0) + coalesce(hold_s, 0) AS talk, coalesce(acw_s, 0) AS acw
        FROM co WHERE answered_at IS NOT NULL AND offered_at >= ? AND offered_at < ?)"""


def _kind_sql() -> str:
    return ("CASE WHEN h.offer_id IS NULL THEN 'none' WHEN h.offer_result IS NULL THEN 'popup' "
            "ELSE 'presented' END")


@dataclass
class _Stratum:
    n: int = 0
    talk: float = 0.0
    talk2: float = 0.0
    acw: float = 0.0
    acw2: float = 0.0

    def add(self, r: dict[str, Any]) -> None:
        self.n += int(r["n"])
        self.talk += float(r["st"] or 0)
        self.talk2 += float(r["st2"] or 0)
        self.acw += float(r["sa"] or 0)
        self.acw2 += float(r["sa2"] or 0)

    def means(self) -> tuple[float, float, float]:
        """Mean talk, mean acw, variance of the handle (talk + acw; the cross term is left out: an upper bound
        would need it, and only the standard error uses this)."""
        if not self.n:
            return 0.0, 0.0, 0.0
        mt, ma = self.talk / self.n, self.acw / self.n
        var = max(self.talk2 / self.n - mt * mt, 0.0) + max(self.acw2 / self.n - ma * ma, 0.0)
        return mt, ma, var


def _excess(groups: dict[tuple[str, str], _Stratum], base: dict[tuple[str, str], _Stratum],
            overall: _Stratum) -> dict[str, float]:
    """Stratified excess talk and acw seconds (totals) of ``groups`` over the no-offer baseline, and its SE."""
    talk = acw = var = 0.0
    n = 0
    for key, g in groups.items():
        b = base.get(key)
        if b is None or b.n < MIN_BASELINE:
            b = overall
        gt, ga, gv = g.means()
        bt, ba, bv = b.means()
        talk += g.n * (gt - bt)
        acw += g.n * (ga - ba)
        var += g.n * gv + (g.n * g.n * bv / b.n if b.n else 0.0)
        n += g.n
    return {"n": n, "talk": talk, "acw": acw, "se_total": math.sqrt(var)}


def _wilson(k: int, n: int, z: float = 1.959964) -> tuple[float | None, float | None]:
    if n == 0:
        return None, None
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def _us(ts: datetime) -> int:
    """An aware instant as integer microseconds since the epoch."""
    return int((ts - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1))


def _from_us(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


def _days_overlap(a0: date, a1: date, b0: date, b1: date) -> int:
    return max(0, (min(a1, b1) - max(a0, b0)).days + 1)


# ------------------------------------------------------------------------------------------------ evaluation
def evaluate(wh: Warehouse, tenant: tenancy.Tenant | str, start: date | None = None, end: date | None = None, *,
             costs: CostFile | None = None, since: dict[str, datetime] | None = None,
             paused: frozenset[str] = frozenset(), campaign_id: str | None = None) -> dict[str, Any]:
    """Cost, return, score and decision of every campaign (or one) of ``tenant`` in the local period.

    ``since`` maps a campaign to the instant of its last resume: the test only counts presentations after it.
    ``paused`` only labels the campaigns' current state in the answer.
    """
    t = tenant if isinstance(tenant, tenancy.Tenant) else tenancy.get_tenant(wh, tenant)
    costs = costs or tenant_costs(t.tenant_id)
    since = since or {}
    wh.backend.raw_sql("SET enable_progress_bar = false")
    camps = {r["campaign_id"]: r for r in _rows(_fetch(wh, {"ca": tenancy.scoped(wh, t, "campaigns")},
                                                      "SELECT * FROM ca ORDER BY campaign_id"))}
    costs.check_known(set(camps))
    if campaign_id is not None and campaign_id not in camps:
        raise NotFound(f"no campaign {campaign_id!r} in tenant {t.tenant_id!r}")
    offers = {r["offer_id"]: r for r in _rows(_fetch(wh, {"of": tenancy.scoped(wh, t, "offers")},
                                                    "SELECT * FROM of"))}
    zone = ZoneInfo(t.timezone)
    if start is None or end is None:
        # an open period is the days the offers cover: the no-offer baseline must come from the same days, not
        # from months of contacts before any campaign ran (handled differently, they would bias the excess)
        span = _rows(_fetch(wh, {"co": tenancy.scoped(wh, t, "contacts")}, """
            SELECT min(offered_at) AS a, max(offered_at) AS b FROM co WHERE offer_id IS NOT NULL"""))[0]
        if span["a"] is not None:
            start = start or span["a"].astimezone(zone).date()
            end = end or max(span["b"].astimezone(zone).date(), start)
    lo, hi = period_bounds(t, start, end)
    rel = {"co": tenancy.scoped(wh, t, "contacts"), "of": tenancy.scoped(wh, t, "offers")}
    # aggregate first, then join the few groups to their campaign (a join of every handled contact costs more)
    strata = _rows(_fetch(wh, rel, f""", {_HANDLED},
        agg AS (SELECT h.offer_id, h.queue, h.channel, {_kind_sql()} AS kind, count(*) AS n,
                       sum(talk) AS st, sum(talk * talk) AS st2, sum(acw) AS sa, sum(acw * acw) AS sa2,
                       count(*) FILTER (WHERE h.offer_result = 'accepted') AS accepted,
                       min(h.offered_at) AS first_at, max(h.offered_at) AS last_at
                FROM h GROUP BY ALL)
        SELECT o.campaign_id, agg.* FROM agg LEFT JOIN of o ON agg.offer_id = o.offer_id""", [lo, hi]))
    seq = _fetch(wh, rel, f""", {_HANDLED}
        SELECT o.campaign_id, h.offered_at, (h.offer_result = 'accepted') AS accepted
        FROM h JOIN of o ON h.offer_id = o.offer_id
        WHERE h.offer_result IS NOT NULL {"AND o.campaign_id = ?" if campaign_id else ""}
        ORDER BY o.campaign_id, h.offered_at, h.contact_id""", [lo, hi, *([campaign_id] if campaign_id else [])])
    base: dict[tuple[str, str], _Stratum] = {}
    overall = _Stratum()
    per: dict[str, dict[str, Any]] = {}
    for r in strata:
        key = (r["queue"] or "", r["channel"] or "")
        if r["kind"] == "none":
            base.setdefault(key, _Stratum()).add(r)
            overall.add(r)
            continue
        cid = r["campaign_id"]
        if cid is None:  # an offer the offers table does not know: no campaign to charge it to
            continue
        c = per.setdefault(cid, {"popup": {}, "presented": {}, "by_offer": {}, "by_channel": {}, "first": None,
                                 "last": None})
        c[r["kind"]].setdefault(key, _Stratum()).add(r)
        if r["kind"] == "presented":
            o = c["by_offer"].setdefault(r["offer_id"], {"presented": 0, "accepted": 0})
            o["presented"] += int(r["n"])
            o["accepted"] += int(r["accepted"])
            fit = (offers.get(r["offer_id"], {}).get("channel_fit") or "").split(";")
            ch = c["by_channel"].setdefault(r["channel"], {"presented": 0, "fits": 0})
            ch["presented"] += int(r["n"])
            ch["fits"] += int(r["n"]) if r["channel"] in fit else 0
        c["first"] = min(x for x in (c["first"], r["first_at"]) if x is not None)
        c["last"] = max(x for x in (c["last"], r["last_at"]) if x is not None)
    # the test's sequence per campaign (presentations in time order)
    seq_cid = seq.column("campaign_id")
    # instants as integer microseconds (54,000 Python datetimes cost half a second; a crossing needs one)
    seq_at = (seq.column("offered_at").cast(pa.timestamp("us", "UTC")).cast(pa.int64()).to_numpy(
        zero_copy_only=False) if seq.num_rows else np.array([], dtype=np.int64))
    seq_acc = np.asarray(seq.column("accepted").to_numpy(zero_copy_only=False), dtype=bool) if seq.num_rows \
        else np.array([], dtype=bool)
    data_days = (min((v["first"] for v in per.values()), default=None), max((v["last"] for v in per.values()),
                                                                            default=None))
    p_start = start or (data_days[0].astimezone(zone).date() if data_days[0] else None)
    p_end = end or (data_days[1].astimezone(zone).date() if data_days[1] else None)
    out = []
    for cid, camp in camps.items():
        if campaign_id is not None and cid != campaign_id:
            continue
        c = per.get(cid, {"popup": {}, "presented": {}, "by_offer": {}, "by_channel": {}, "first": None,
                          "last": None})
        idx = (np.flatnonzero(pc.equal(seq_cid, cid).to_numpy(zero_copy_only=False)) if seq.num_rows
               else np.array([], dtype=np.int64))
        out.append(_one(cid, camp, c, offers, costs, base, overall, p_start, p_end,
                        seq_at[idx] if idx.size else np.array([], dtype=np.int64),
                        seq_acc[idx] if idx.size else np.array([], dtype=bool),
                        since.get(cid), cid in paused, zone))
    out.sort(key=lambda r: (-r["score"], r["campaign_id"]))
    return {"tenant": t.tenant_id, "from": p_start.isoformat() if p_start else None,
            "to": p_end.isoformat() if p_end else None, "cost_file": costs.origin,
            "agent_cost_per_hour": costs.agent_cost_per_hour,
            "max_cost_return_ratio": costs.max_cost_return_ratio,
            # α and β of the test, named for what they are (API answers never carry another tenant's word "beta")
            "false_continue_rate": costs.alpha, "false_pause_rate": costs.beta,
            "campaigns": out}


# decision and reason (en; the console translates the code) of each outcome of the rule in the module docstring
REASONS: dict[str, tuple[str, str]] = {
    "no_presentations": ("undecided", "no presentations in the period"),
    "unreachable": ("pause", "no acceptance rate can pay: the cost per presentation exceeds the margin of a sale"),
    "unreachable_within": ("undecided", "break-even unreachable, but cost/return is within the threshold"),
    "sprt_pause": ("pause", "SPRT accepted the break-even rate and cost/return is above the threshold"),
    "sprt_pause_within": ("undecided", "SPRT accepted the break-even rate, but cost/return is within the threshold"),
    "sprt_continue": ("continue", "SPRT accepted the target rate"),
    "need_more": ("undecided", "the test needs more presentations"),
}


def _test_keys(sprt: Sprt) -> dict[str, Any]:
    """The test's figures for the evidence (α, β as ``false_continue_rate``, ``false_pause_rate``)."""
    s = sprt.summary()
    out = {k: s[k] for k in ("p0", "p1", "log_a", "log_b", "step_success", "step_failure", "asn_p0", "asn_p1")}
    out.update(false_continue_rate=sprt.alpha, false_pause_rate=sprt.beta)
    return out


def _one(cid: str, camp: dict[str, Any], c: dict[str, Any], offers: dict[str, dict[str, Any]], costs: CostFile,
         base: dict[tuple[str, str], _Stratum], overall: _Stratum, p_start: date | None, p_end: date | None,
         at: np.ndarray, acc: np.ndarray, since: datetime | None, paused: bool, zone: ZoneInfo) -> dict[str, Any]:
    declared = costs.campaigns.get(cid, CampaignCost(cid))
    presented = sum(o["presented"] for o in c["by_offer"].values())
    accepted = sum(o["accepted"] for o in c["by_offer"].values())
    popups = sum(g.n for g in c["popup"].values())
    # agent time: measured excess over the no-offer baseline, or the declared seconds
    ex_p = _excess(c["presented"], base, overall)
    ex_u = _excess(c["popup"], base, overall)
    m_total = (ex_p["talk"] + ex_p["acw"]) / presented if presented else None
    se = ex_p["se_total"] / presented if presented else None
    # measured only when the data can tell: enough presentations, a baseline, and an excess clear of its noise
    # (2 standard errors); otherwise the declared seconds, so noise around 0 never makes an offer look free
    measured = (presented >= costs.min_presented and overall.n >= MIN_BASELINE and m_total is not None
                and se is not None and m_total > 2 * se)
    if measured:
        pitch_s = max(ex_p["talk"], 0.0) / presented
        acw_s = max(ex_p["acw"], 0.0) / presented
        popup_s = max(ex_u["talk"] + ex_u["acw"], 0.0) / popups if popups else costs.popup_s
    else:
        pitch_s, acw_s, popup_s = costs.pitch_s, costs.acw_s, costs.popup_s
    agent_seconds = presented * (pitch_s + acw_s) + popups * popup_s
    agent_cost = agent_seconds / 3600.0 * costs.agent_cost_per_hour
    commission = sum(o["accepted"] * float(offers[k].get("commission") or 0) for k, o in c["by_offer"].items())
    ret = sum(o["accepted"] * float(offers[k].get("unit_price") or 0) for k, o in c["by_offer"].items())
    # other declared costs, prorated by the days of the period inside the campaign's run
    other = 0.0
    c0, c1 = camp.get("start_date"), camp.get("end_date")
    if declared.other_costs and c0 and c1 and p_start and p_end:
        run_days = (c1 - c0).days + 1
        other = declared.other_costs * _days_overlap(c0, c1, p_start, p_end) / run_days if run_days > 0 else 0.0
    elif declared.other_costs:
        other = declared.other_costs
    cost = agent_cost + commission + other
    ratio = cost / ret if ret > 0 else None
    rate = accepted / presented if presented else None
    # break-even rate p0 and target p1
    price = (sum(o["presented"] * float(offers[k].get("unit_price") or 0) for k, o in c["by_offer"].items())
             / presented) if presented else None
    comm = (sum(o["presented"] * float(offers[k].get("commission") or 0) for k, o in c["by_offer"].items())
            / presented) if presented else None
    r = costs.max_cost_return_ratio
    p0 = p1 = None
    reachable = True
    if presented:
        margin = r * (price or 0.0) - (comm or 0.0)
        per_presented = (agent_cost + other) / presented
        if margin <= 0 or per_presented >= margin * 0.999:
            reachable = False
        else:
            p0 = max(per_presented / margin, 1e-6)
            p1 = declared.target_rate if declared.target_rate and declared.target_rate > p0 else min(
                p0 * costs.target_lift, p0 + (1 - p0) / 2)
    # the sequential test on presentations after the last resume
    test: dict[str, Any] = {"decision": "undecided", "n": 0, "successes": 0, "llr": 0.0, "crossed_at": None}
    if since is not None and at.size:
        keep = at >= _us(since)
        at, acc = at[keep], acc[keep]
    sprt = None
    if p0 is not None and p1 is not None:
        sprt = Sprt(p0, p1, costs.alpha, costs.beta)
        test = sprt.run(acc)
    crossed = (_from_us(int(at[test["crossed_at"]])).astimezone(zone).isoformat()
               if test["crossed_at"] is not None else None)
    over = (ratio is None and cost > 0) or (ratio is not None and ratio > r)
    if not presented:
        code = "no_presentations"
    elif not reachable:
        code = "unreachable" if over else "unreachable_within"
    elif test["decision"] == "pause":
        code = "sprt_pause" if over else "sprt_pause_within"
    elif test["decision"] == "continue":
        code = "sprt_continue"
    else:
        code = "need_more"
    decision, why = REASONS[code]
    # benefit score parts
    fit_n = sum(v["presented"] for v in c["by_channel"].values())
    parts_value = {
        "economics": ret / (ret + cost) if ret + cost > 0 else 0.0,
        "importance": float(camp.get("importance") or 0.0),
        "ease": 1.0 - float(camp.get("difficulty") or 0.0),
        "channel_fit": sum(v["fits"] for v in c["by_channel"].values()) / fit_n if fit_n else 0.0,
        "acceptance": min(1.0, (rate or 0.0) / p1) if p1 else (1.0 if rate and not p0 else 0.0),
    }
    parts = {k: {"value": v, "weight": costs.weights[k], "contribution": 100.0 * costs.weights[k] * v}
             for k, v in parts_value.items()}
    score = sum(p["contribution"] for p in parts.values())
    lo_ci, hi_ci = _wilson(accepted, presented)
    return {
        "campaign_id": cid, "name": camp.get("name"), "product": camp.get("product"),
        "state": "paused" if paused else "active",
        "popups": popups, "presented": presented, "accepted": accepted,
        "acceptance_rate": rate,
        "cost": cost, "return": ret, "cost_return_ratio": ratio, "net": ret - cost,
        "cost_parts": {"agent_time": agent_cost, "commission": commission, "other": other},
        "score": score, "score_parts": parts,
        "decision": decision,
        "evidence": {
            "reason": why, "reason_code": code,
            "acceptance_rate_ci95": [lo_ci, hi_ci],
            "break_even_rate": p0, "target_rate": p1, "break_even_reachable": reachable,
            "threshold": r,
            "test": {**(_test_keys(sprt) if sprt else {}),
                     "decision": test["decision"], "n": test["n"], "successes": test["successes"],
                     "llr": test["llr"], "crossed_at": crossed,
                     "since": since.astimezone(zone).isoformat() if since else None},
            "agent_time": {"method": "measured" if measured else "declared", "popup_s": popup_s,
                           "pitch_s": pitch_s, "acw_s": acw_s, "per_presentation_s": pitch_s + acw_s,
                           "measured_per_presentation_s": m_total,
                           "se_per_presentation_s": se,
                           "measured_ci95": ([m_total - 1.959964 * se, m_total + 1.959964 * se]
                                             if m_total is not None and se is not None else None),
                           "agent_hours": agent_seconds / 3600.0,
                           "baseline_contacts": overall.n},
            "offers": {k: {**o, "unit_price": offers[k].get("unit_price"), "commission": offers[k].get("commission")}
                       for k, o in sorted(c["by_offer"].items())},
        },
    }


# ------------------------------------------------------------------------------------------------ with the store
AUTO_ACTOR = "campaign-evaluator"


def _resumed_since(session: Any, tenant_id: str) -> tuple[dict[str, datetime], frozenset[str]]:
    """Per campaign the instant of its last resume (the test restarts there), and the paused ids."""
    from callops.marketing import state

    rows = state.states(session, tenant_id)
    since = {cid: r.changed_at for cid, r in rows.items() if r.state == "active"}
    return since, frozenset(cid for cid, r in rows.items() if r.state == "paused")


def evaluate_tenant(wh: Warehouse, store: Any, tenant: tenancy.Tenant | str, start: date | None = None,
                    end: date | None = None, *, costs: CostFile | None = None, apply: bool = False,
                    campaign_id: str | None = None, actor: str = AUTO_ACTOR) -> dict[str, Any]:
    """:func:`evaluate` with the campaigns' states from the store; with ``apply``, pause what the test says to.

    A pause is audited and notified (:func:`callops.marketing.state.pause`); a campaign already paused is left
    as it is, and a campaign a manager resumed is judged only on the presentations after the resume.
    """
    from callops.marketing import state

    t = tenant if isinstance(tenant, tenancy.Tenant) else tenancy.get_tenant(wh, tenant)
    with store.session() as s:
        since, paused = _resumed_since(s, t.tenant_id)
    result = evaluate(wh, t, start, end, costs=costs, since=since, paused=paused, campaign_id=campaign_id)
    result["paused_now"] = []
    if apply:
        with store.session() as s:
            for c in result["campaigns"]:
                if c["decision"] != "pause" or c["state"] == "paused":
                    continue
                ev = c["evidence"]
                be, ratio = ev["break_even_rate"], c["cost_return_ratio"]
                why = (f"automatic: {ev['reason']} (acceptance {c['accepted']}/{c['presented']}, break-even "
                       f"{'unreachable' if be is None else f'{be:.4f}'}, cost/return "
                       f"{'no return' if ratio is None else f'{ratio:.2f}'})")
                evidence = {"from": result["from"], "to": result["to"], "presented": c["presented"],
                            "accepted": c["accepted"], "cost": c["cost"], "return": c["return"],
                            "cost_return_ratio": c["cost_return_ratio"], "test": ev["test"],
                            "break_even_rate": ev["break_even_rate"], "target_rate": ev["target_rate"]}
                if state.pause(s, t.tenant_id, c["campaign_id"], actor=actor, reason=why, automatic=True,
                               evidence=evidence):
                    c["state"] = "paused"
                    result["paused_now"].append(c["campaign_id"])
    return result


def campaign_ids(wh: Warehouse, tenant: tenancy.Tenant) -> set[str]:
    """The tenant's campaign ids."""
    return {r["campaign_id"] for r in _rows(_fetch(wh, {"ca": tenancy.scoped(wh, tenant, "campaigns")},
                                                  "SELECT campaign_id FROM ca"))}


def set_state(wh: Warehouse, store: Any, tenant: tenancy.Tenant | str, campaign_id: str, action: str, *,
              actor: str, reason: str) -> dict[str, Any]:
    """A manager's pause or resume of one campaign (404 for a campaign the tenant does not have)."""
    from callops.marketing import state

    t = tenant if isinstance(tenant, tenancy.Tenant) else tenancy.get_tenant(wh, tenant)
    if campaign_id not in campaign_ids(wh, t):
        raise NotFound(f"no campaign {campaign_id!r} in tenant {t.tenant_id!r}")
    with store.session() as s:
        if action == "pause":
            changed = state.pause(s, t.tenant_id, campaign_id, actor=actor, reason=reason)
        elif action == "resume":
            changed = state.resume(s, t.tenant_id, campaign_id, actor=actor, reason=reason)
        else:
            raise CallopsError(f"unknown action {action!r}; use pause or resume")
        row = state.state_of(s, t.tenant_id, campaign_id)
        hist = state.history(s, t.tenant_id, campaign_id, limit=10)
    return {"campaign_id": campaign_id, "state": row.state if row else "active", "changed": changed,
            "history": hist}


def trend(wh: Warehouse, store: Any, tenant: tenancy.Tenant | str, campaign_id: str, start: date | None = None,
          end: date | None = None, *, costs: CostFile | None = None, grain: str = "week") -> dict[str, Any]:
    """One campaign: its evaluation, its history of pauses, and per day or week presented, accepted, cost, return
    and cost/return (agent time at the period's seconds per offer), plus the test's log-likelihood path."""
    from callops.marketing import state

    if grain not in ("day", "week"):
        raise CallopsError(f"unknown grain {grain!r}; use day or week")
    t = tenant if isinstance(tenant, tenancy.Tenant) else tenancy.get_tenant(wh, tenant)
    costs = costs or tenant_costs(t.tenant_id)
    ev = evaluate_tenant(wh, store, t, start, end, costs=costs, campaign_id=campaign_id)
    c = ev["campaigns"][0]
    with store.session() as s:
        c["history"] = state.history(s, t.tenant_id, campaign_id)
    lo, hi = period_bounds(t, start, end)
    rel = {"co": tenancy.scoped(wh, t, "contacts"), "of": tenancy.scoped(wh, t, "offers")}
    rows = _rows(_fetch(wh, rel, f""", {_HANDLED}
        SELECT date_trunc('{grain}', timezone(?, h.offered_at))::DATE AS period,
               count(*) FILTER (WHERE h.offer_result IS NOT NULL) AS presented,
               count(*) FILTER (WHERE h.offer_result IS NULL) AS popups,
               count(*) FILTER (WHERE h.offer_result = 'accepted') AS accepted,
               sum(CASE WHEN h.offer_result = 'accepted' THEN coalesce(o.unit_price, 0) ELSE 0 END) AS ret,
               sum(CASE WHEN h.offer_result = 'accepted' THEN coalesce(o.commission, 0) ELSE 0 END) AS commission
        FROM h JOIN of o ON h.offer_id = o.offer_id
        WHERE o.campaign_id = ?
        GROUP BY ALL ORDER BY period""", [lo, hi, t.timezone, campaign_id]))
    at = c["evidence"]["agent_time"]
    per_day_other = c["cost_parts"]["other"] / max(1, _period_days(ev))
    days = 7 if grain == "week" else 1
    points = []
    for r in rows:
        agent = (r["presented"] * at["per_presentation_s"] + r["popups"] * at["popup_s"]) / 3600.0 \
            * costs.agent_cost_per_hour
        cost = agent + float(r["commission"] or 0) + per_day_other * days
        ret = float(r["ret"] or 0)
        points.append({"period": r["period"].isoformat(), "presented": r["presented"], "accepted": r["accepted"],
                       "acceptance_rate": r["accepted"] / r["presented"] if r["presented"] else None,
                       "cost": cost, "return": ret, "cost_return_ratio": cost / ret if ret > 0 else None})
    c["trend"] = {"grain": grain, "points": points}
    c["test_path"] = _test_path(wh, t, campaign_id, lo, hi, c)
    return {k: v for k, v in ev.items() if k != "campaigns"} | {"campaign": c}


def _period_days(ev: dict[str, Any]) -> int:
    if not ev.get("from") or not ev.get("to"):
        return 1
    return (date.fromisoformat(ev["to"]) - date.fromisoformat(ev["from"])).days + 1


def _test_path(wh: Warehouse, t: tenancy.Tenant, campaign_id: str, lo: datetime, hi: datetime,
               c: dict[str, Any], points: int = 400) -> dict[str, Any] | None:
    """The SPRT's log-likelihood ratio after each presentation (thinned to ``points``), with its boundaries."""
    test = c["evidence"]["test"]
    if "log_a" not in test:
        return None
    rel = {"co": tenancy.scoped(wh, t, "contacts"), "of": tenancy.scoped(wh, t, "offers")}
    since = test.get("since")
    lo = max(lo, datetime.fromisoformat(since).astimezone(UTC)) if since else lo
    seq = _fetch(wh, rel, f""", {_HANDLED}
        SELECT (h.offer_result = 'accepted') AS accepted FROM h JOIN of o ON h.offer_id = o.offer_id
        WHERE h.offer_result IS NOT NULL AND o.campaign_id = ? ORDER BY h.offered_at, h.contact_id""",
                 [lo, hi, campaign_id])
    x = np.asarray(seq.column("accepted").to_numpy(zero_copy_only=False), dtype=bool)
    z = np.cumsum(np.where(x, test["step_success"], test["step_failure"]))
    n = len(z)
    stop = test["n"] if test["crossed_at"] is not None else n
    take = np.unique(np.linspace(0, n - 1, min(points, n)).astype(int)) if n else np.array([], dtype=int)
    return {"n": take.tolist(), "llr": z[take].tolist() if n else [], "log_a": test["log_a"],
            "log_b": test["log_b"], "stopped_at": stop}


# ------------------------------------------------------------------------------------------------ service vs marketing
def balance_figures(wh: Warehouse, tenant: tenancy.Tenant | str, start: date | None = None,
                    end: date | None = None, *, costs: CostFile | None = None,
                    evaluation: dict[str, Any] | None = None) -> dict[str, Any]:
    """The V3 balance model's inputs measured from the period's contacts instead of constants.

    volume = contacts offered; answer rate = handled / offered; service handle = mean talk + hold + acw of handled
    contacts without an offer; pop-up rate = handled contacts with an offer / handled; recommendation rate =
    presented (pitched) / popped up; marketing handle = all agent seconds the campaigns' offers took (pop-ups
    included, as :func:`evaluate` measures them) / presentations; success rate, price and commission from the
    accepted offers; agent cost per hour and the service price from the cost file. ``evaluation``: the period's
    :func:`evaluate` result when the caller has it already.
    """
    t = tenant if isinstance(tenant, tenancy.Tenant) else tenancy.get_tenant(wh, tenant)
    costs = costs or tenant_costs(t.tenant_id)
    lo, hi = period_bounds(t, start, end)
    rel = {"co": tenancy.scoped(wh, t, "contacts")}
    r = _rows(_fetch(wh, rel, """
        SELECT count(*) AS volume, count(answered_at) AS handled,
               count(*) FILTER (WHERE answered_at IS NOT NULL AND offer_id IS NULL) AS plain,
               avg(coalesce(talk_s, 0) + coalesce(hold_s, 0) + coalesce(acw_s, 0))
                   FILTER (WHERE answered_at IS NOT NULL AND offer_id IS NULL) AS service_handle_s,
               count(*) FILTER (WHERE answered_at IS NOT NULL AND offer_id IS NOT NULL) AS popups
        FROM co WHERE offered_at >= ? AND offered_at < ?""", [lo, hi]))[0]
    ev = evaluation or evaluate(wh, t, start, end, costs=costs)
    presented = sum(c["presented"] for c in ev["campaigns"])
    accepted = sum(c["accepted"] for c in ev["campaigns"])
    seconds = sum(c["evidence"]["agent_time"]["agent_hours"] for c in ev["campaigns"]) * 3600.0
    ret = sum(c["return"] for c in ev["campaigns"])
    commission = sum(c["cost_parts"]["commission"] for c in ev["campaigns"])
    handled = int(r["handled"] or 0)
    volume = int(r["volume"] or 0)
    popups = int(r["popups"] or 0)
    return {
        "volume": float(volume),
        "answer_rate": handled / volume if volume else None,
        "service_share": 1.0,
        "service_handle_s": float(r["service_handle_s"]) if r["service_handle_s"] is not None else None,
        "marketing_popup_rate": popups / handled if handled else 0.0,
        "marketing_recommend_rate": presented / popups if popups else 0.0,
        "marketing_handle_s": seconds / presented if presented else 0.0,
        "marketing_unit_price": ret / accepted if accepted else 0.0,
        "marketing_success_rate": accepted / presented if presented else 0.0,
        "marketing_commission": commission / accepted if accepted else 0.0,
        "agent_cost_per_hour": costs.agent_cost_per_hour,
        "service_unit_price": costs.service_unit_price,
    }


def service_vs_marketing(wh: Warehouse, tenant: tenancy.Tenant | str, start: date | None = None,
                         end: date | None = None, *, costs: CostFile | None = None,
                         evaluation: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    """The balance model (``callops.wfm.balance``) fed with :func:`balance_figures`: headcount and the
    service vs marketing comparison per agent hour (unit price, efficiency, yield)."""
    from callops.wfm.balance import make_inputs, solve

    figures = balance_figures(wh, tenant, start, end, costs=costs, evaluation=evaluation)
    given = {k: v for k, v in figures.items() if v is not None}
    given.update({k: v for k, v in overrides.items() if v is not None})
    result = solve(make_inputs(**given), "headcount")
    result["measured"] = figures
    return result
