"""Offers page (issue 12): the offer library in force (campaigns, offers, eligibility, levers, paused state), each
offer's decisions, presentations, acceptances and revenue over a chosen period with a trend chart, the latest
back-test of the learned policy against rules-only, and a decision preview for one customer. zh-CN and en labels
are registered here.

Reads go through the functions the API and CLI use (``cli_offers.library_summary`` as ``GET /api/offers``,
``propensity.offer_history``, ``state.paused_campaign_ids``, ``decisionlog``, ``backtest``); the preview asks
``arbitrate.offer_for`` with the value snapshot's tags and the strategy rules, as ``POST /api/decide`` does, but
without logging a decision or counting it in the live room's diversions (a preview is not a contact) and without
exploration (it shows the best offer; the answer's probability is the one a decision would log for it).
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from nicegui import ui

from callops import tenancy
from callops.errors import CallopsError
from callops.store.roles import Permission
from callops.ui import session
from callops.ui.guard import checked, data_attrs
from callops.ui.i18n import register_labels, t
from callops.ui.layout import frame
from callops.ui.localized import empty_text

DEFAULT_DAYS = 28
HOLDOUT_DAYS = 7  # the back-test run from the page evaluates the last week, as the demo's does

register_labels({
    "offers_nav": ("Offers", "营销推荐"),
    "offers_library": ("Offer library {v} ({o})", "推荐库 {v}（{o}）"),
    "offers_campaigns": ("Campaigns", "营销活动"),
    "offers_offer": ("Offer", "推荐产品"),
    "offers_campaign": ("Campaign", "活动"),
    "offers_state": ("State", "状态"),
    "offers_state_active": ("active", "进行中"),
    "offers_state_paused": ("paused", "已暂停"),
    "offers_price": ("Price", "单价"),
    "offers_value": ("Value", "价值"),
    "offers_prior": ("Prior", "先验成功率"),
    "offers_weight": ("Weight", "业务权重"),
    "offers_channels": ("Channels", "渠道"),
    "offers_eligibility": ("Eligibility", "适用条件"),
    "offers_anyone": ("anyone", "不限"),
    "offers_always": ("no end date", "长期有效"),
    "offers_levers": ("Levers: importance {i:g}, difficulty {d:g}, exploration {e:g}, minimum score {m:g}",
                      "调节杆：重要性 {i:g}，难度 {d:g}，探索比例 {e:g}，最低得分 {m:g}"),
    "offers_lever_of": ("Lever × {x:g}", "调节 × {x:g}"),
    "offers_policy": ("Contact policy: at most {c} per contact, {m} per customer in 30 days, no repeat of a declined "
                      "offer for {d} days, never after {w:.0f} s of waiting",
                      "接触策略：每次接触最多 {c} 个，每位客户 30 天内最多 {m} 个，拒绝后 {d} 天内不再推荐，等待超过 "
                      "{w:.0f} 秒不推荐"),
    "offers_model": ("Propensity model v{v}: {r} presented offers, trained {at}",
                     "倾向模型 v{v}：{r} 次推荐，训练于 {at}"),
    "offers_no_model": ("No propensity model yet: offers are ranked by their priors (rules-only).",
                        "尚无倾向模型：按先验成功率排序（仅规则）。"),
    "offers_period": ("Period", "期间"),
    "offers_from": ("From", "起"),
    "offers_to": ("To", "止"),
    "offers_show": ("Show", "查看"),
    "offers_bad_period": ("The end is before the start.", "结束日期早于开始日期。"),
    "offers_stats": ("Per offer, {a} – {b}", "各推荐产品，{a} – {b}"),
    "offers_decisions": ("Decisions", "决策次数"),
    "offers_presented": ("Presented", "推荐次数"),
    "offers_accepted": ("Accepted", "成功次数"),
    "offers_rate": ("Acceptance rate", "成功率"),
    "offers_revenue": ("Revenue", "收入"),
    "offers_trend": ("Trend of {o} per {g}", "{o} 每{g}趋势"),
    "offers_grain_day": ("day", "日"),
    "offers_grain_week": ("week", "周"),
    "offers_no_presentations": ("No presented offers in this period.", "本期间没有推荐记录。"),
    "offers_backtest": ("Back-test: learned policy against rules-only", "回测：学习策略与仅规则策略对比"),
    "offers_backtest_none": ("No back-test kept yet.", "尚无回测结果。"),
    "offers_backtest_run": ("Run the back-test (hold-out: the last 7 days)", "运行回测（留出最近 7 天）"),
    "offers_backtest_done": ("Back-test kept", "回测已保存"),
    "offers_backtest_head": ("From {s}: {n} held-out offers, AUC {auc}; computed {at}",
                             "自 {s} 起：留出 {n} 次推荐，AUC {auc}；计算于 {at}"),
    "offers_backtest_rpc": ("Revenue per offered contact (doubly robust, 95 % interval)",
                            "每次推荐接触的收入（双稳健估计，95% 区间）"),
    "offers_backtest_acc": ("Acceptance rate (doubly robust, 95 % interval)", "成功率（双稳健估计，95% 区间）"),
    "offers_policy_rules": ("rules-only", "仅规则"),
    "offers_policy_learned": ("learned", "学习策略"),
    "offers_policy_lift": ("lift", "提升"),
    "offers_preview": ("Decision preview", "决策预览"),
    "offers_preview_note": ("What /api/decide would offer this customer now (best offer, exploration off; nothing is "
                            "logged).", "/api/decide 此刻会向该客户推荐什么（取最优，不探索；不记录决策）。"),
    "offers_customer": ("Customer id", "客户编号"),
    "offers_channel": ("Channel", "渠道"),
    "offers_reason": ("Reason for contact", "来电原因"),
    "offers_preview_go": ("Preview", "预览"),
    "offers_need_customer": ("Give a customer id", "请填写客户编号"),
    "offers_customer_is": ("{c}: class {vc}, score {s}, tags {tags}; service strategy {st}",
                           "{c}：价值等级 {vc}，得分 {s}，标签 {tags}；服务策略 {st}"),
    "offers_unknown_customer": ("not in the value scores: default answer", "不在价值评分中：默认答复"),
    "offers_no_offer": ("No offer: {why}", "不推荐：{why}"),
    "offers_score": ("score {s:.2f} = propensity {p:.3f} ({src}) × value {v:g} × weight {w:.3f}; p(chosen) {q:.2f}",
                     "得分 {s:.2f} = 倾向 {p:.3f}（{src}）× 价值 {v:g} × 权重 {w:.3f}；被选概率 {q:.2f}"),
    "offers_alternatives": ("Next: {a}", "其次：{a}"),
    "offers_guidance": ("Guidance ({lang})", "话术指引（{lang}）"),
    "offers_remind": ("Remind", "提醒"),
    "offers_say": ("Offer", "推荐"),
    "offers_phrase": ("Phrase", "话术"),
})  # fmt: skip


# ------------------------------------------------------------------------------------------------ data
def period(zone: str, start: str, end: str) -> tuple[date, date]:
    """The local days asked for (``YYYY-MM-DD``; default the last 28 days through today)."""
    today = datetime.now(ZoneInfo(zone)).date()
    b = date.fromisoformat(end) if end else today
    a = date.fromisoformat(start) if start else b - timedelta(days=DEFAULT_DAYS - 1)
    if b < a:
        raise CallopsError("end before start")
    return a, b


def eligibility_text(rule: Any) -> str:
    """An eligibility rule in a few words (empty: anyone)."""
    parts = []
    for key in ("tags_all", "tags_any", "tags_none", "classes", "classes_not", "reasons", "reasons_not"):
        values = getattr(rule, key)
        if values:
            parts.append(f"{key}: {', '.join(sorted(values))}")
    return "; ".join(parts)


def offer_stats(history: Any, decisions: dict[str, int], grain: str) -> tuple[dict[str, dict[str, Any]],
                                                                              dict[str, list[dict[str, Any]]]]:
    """Per offer: decisions, presented, accepted, acceptance rate, revenue; and per offer the same per day or
    week (Monday) from ``propensity.offer_history`` rows."""
    per: dict[str, dict[str, Any]] = {oid: {"decisions": n, "presented": 0, "accepted": 0, "revenue": 0.0}
                                      for oid, n in decisions.items()}
    points: dict[str, dict[date, dict[str, Any]]] = {}
    for oid, acc, rev, day in zip(history.column("offer_id").to_pylist(), history.column("accepted").to_pylist(),
                                  history.column("revenue").to_pylist(), history.column("day").to_pylist(),
                                  strict=True):  # fmt: skip
        key = day - timedelta(days=day.weekday()) if grain == "week" else day
        for d in (per.setdefault(oid, {"decisions": 0, "presented": 0, "accepted": 0, "revenue": 0.0}),
                  points.setdefault(oid, {}).setdefault(key, {"presented": 0, "accepted": 0, "revenue": 0.0})):
            d["presented"] += 1
            d["accepted"] += int(bool(acc))
            d["revenue"] += float(rev or 0.0)
    for d in per.values():
        d["acceptance_rate"] = d["accepted"] / d["presented"] if d["presented"] else None
    trend = {oid: [{"period": k.isoformat(), **v, "acceptance_rate": v["accepted"] / v["presented"]}
                   for k, v in sorted(p.items())] for oid, p in points.items()}
    return per, trend


def page_data(wh: Any, tenant_id: str, start: date, end: date) -> dict[str, Any]:
    """The library with paused states, per-offer figures and trends over ``start``..``end`` (local days), the
    kept back-test."""
    from callops.marketing.backtest import latest_result
    from callops.marketing.campaigns import period_bounds
    from callops.marketing.cli_offers import library_summary
    from callops.marketing.decisionlog import decision_counts
    from callops.marketing.offers import library
    from callops.marketing.propensity import offer_history
    from callops.marketing.state import paused_campaign_ids

    tenant = tenancy.get_tenant(wh, tenant_id)
    store = session.store()
    lib = library(tenant_id)
    lo, hi = period_bounds(tenant, start, end)
    history = offer_history(wh, tenant, start, end + timedelta(days=1))
    grain = "day" if (end - start).days < 35 else "week"
    per, trend = offer_stats(history, decision_counts(store, tenant_id, lo, hi), grain)
    return {"summary": library_summary(tenant_id), "lib": lib,
            "paused": paused_campaign_ids(tenant_id, store), "per": per, "trend": trend, "grain": grain,
            "backtest": latest_result(tenant_id)}  # fmt: skip


def run_backtest(wh: Any, tenant_id: str) -> dict[str, Any]:
    """The back-test with the last week held out (as the demo's step), kept as the tenant's latest."""
    from callops.marketing.backtest import backtest, save_result

    tenant = tenancy.get_tenant(wh, tenant_id)
    today = datetime.now(ZoneInfo(tenant.timezone)).date()
    return save_result(tenant_id, backtest(wh, tenant, today - timedelta(days=HOLDOUT_DAYS), reps=200))


class _Best(random.Random):
    """A draw that never explores (``arbitrate.choose`` explores when the draw is below the exploration share)."""

    def random(self) -> float:
        """Always the top of [0, 1)."""
        return 1.0 - 1e-12


def preview(wh: Any, tenant_id: str, customer_id: str, channel: str, reason: str | None) -> dict[str, Any]:
    """What ``POST /api/decide`` would offer now: the customer's class, score, tags and strategy from the value
    snapshot and rules, and ``arbitrate.offer_for``'s best offer, with no decision logged or counted."""
    from callops.marketing.arbitrate import offer_for
    from callops.value.decide import CHANNELS, libraries, lookup
    from callops.value.rules import decide_strategy

    if channel not in CHANNELS:
        raise CallopsError(f"unknown channel {channel!r}")
    tenant = tenancy.get_tenant(wh, tenant_id)
    today = datetime.now(ZoneInfo(tenant.timezone)).date()
    _model, _tags, strategies = libraries(tenant_id)
    # this tenant's snapshot only: nothing of another tenant shows
    known, tags, value_class, score, route = lookup(tenant_id, customer_id)
    choice = decide_strategy(strategies, set(tags), reason, channel, value_class, route, None, today)
    offer, why = offer_for(tenant_id, customer_id, channel, reason, tags, value_class, score, today,
                           strategy=choice.strategy, store=session.store(), log=False, rng=_Best())  # fmt: skip
    return {"customer_id": customer_id, "known": known, "value_class": value_class, "score": score,
            "tags": tags, "strategy": choice.strategy, "offer": offer, "offer_why": why}


def local_time(text: Any, zone: str) -> str:
    """An ISO instant as local ``YYYY-MM-DD HH:MM`` in ``zone`` (naive: UTC); "" when absent."""
    if not text:
        return ""
    ts = datetime.fromisoformat(str(text))
    ts = ts if ts.tzinfo is not None else ts.replace(tzinfo=ZoneInfo("UTC"))
    return ts.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def _n(v: float | None, digits: int = 0) -> str:
    return "—" if v is None else f"{v:,.{digits}f}"


# ------------------------------------------------------------------------------------------------ page
@ui.page("/offers")
async def offers_page(start: str = "", end: str = "", offer: str = "") -> None:
    """The offers page of the signed-in tenant."""
    ctx = session.require(Permission.campaigns_read)
    if ctx is None:
        return
    loc = ctx.locale
    frame(ctx, "offers_nav")
    try:
        a, b = period(ctx.timezone, start.strip(), end.strip())
    except (ValueError, CallopsError):
        data_attrs(ui.label(t("offers_bad_period", loc)).classes("text-negative"), test="offers-error")
        a, b = period(ctx.timezone, "", "")
    await ui.context.client.connected(timeout=60)
    spinner = ui.spinner(size="lg")
    try:
        d = await session.warehouse_call(page_data, ctx.tenant_id, a, b)
    except CallopsError as exc:
        data_attrs(ui.label(str(exc)), test="offers-error")
        return
    finally:
        spinner.delete()
    if d is None:  # the server is stopping
        return
    _library(d, loc, ctx.timezone)
    _period_form(ctx, a, b)
    chosen = _stats(ctx, d, a, b, offer.strip())
    if chosen:
        _trend(d, chosen, a, b, loc)
    _backtest(ctx, d["backtest"])
    if ctx.can(Permission.value_read):
        _preview(ctx)


def _library(d: dict[str, Any], loc: str, zone: str) -> None:
    """Campaigns (paused or active, levers) and offers (price, value, prior, weight, channels, eligibility)."""
    s, lib, paused = d["summary"], d["lib"], d["paused"]
    ui.label(t("offers_library", loc).format(v=f"{s['library']['id']} v{s['library']['version']}",
                                             o=s["library"]["origin"])).classes("text-h6")
    lv, pol = s["levers"], s["policy"]
    ui.label(t("offers_levers", loc).format(i=lv["importance"], d=lv["difficulty"], e=lv["exploration"],
                                            m=lv["min_score"])).classes("co-muted")
    ui.label(t("offers_policy", loc).format(c=pol["max_per_contact"], m=pol["max_per_customer_month"],
                                            d=pol["declined_cooldown_days"], w=pol["max_wait_s"])).classes("co-muted")
    m = s["model"]
    ui.label(t("offers_no_model", loc) if m is None else t("offers_model", loc).format(
        v=m["version"], r=f"{m['rows'] or 0:,}", at=local_time(m["trained_at"], zone))).classes("co-muted")
    with ui.row().classes("w-full gap-2"):
        for c in lib.campaigns.values():
            state = "paused" if c.id in paused else "active"
            lever = lv["campaigns"].get(c.id, 1.0)
            with data_attrs(ui.card().classes("w-full sm:w-64"), test="offers-campaign", campaign=c.id, state=state):
                ui.label(f"{c.id} · {c.name}").classes("text-subtitle2")
                ui.label(f"{t('offers_state_' + state, loc)} · " + (
                    f"{c.valid_from or '…'} – {c.valid_to or '…'}" if c.valid_from or c.valid_to
                    else t("offers_always", loc)))
                ui.label(f"importance {c.importance:g}, difficulty {c.difficulty:g} · "
                         f"{t('offers_lever_of', loc).format(x=lever)}").classes("co-muted")
    keys = (("offer_id", "offers_offer"), ("campaign_id", "offers_campaign"), ("state", "offers_state"),
            ("unit_price", "offers_price"), ("value", "offers_value"), ("prior", "offers_prior"),
            ("weight", "offers_weight"), ("channels", "offers_channels"), ("eligibility", "offers_eligibility"))
    cols = [{"name": k, "label": t(lab, loc), "field": k,
             "align": "right" if k in ("unit_price", "value", "prior", "weight") else "left"} for k, lab in keys]
    rules = {o.id: eligibility_text(o.eligible) for o in lib.offers}
    rows = [{"offer_id": o["offer_id"], "campaign_id": o["campaign_id"],
             "state": t("offers_state_" + ("paused" if o["campaign_id"] in paused else "active"), loc),
             "unit_price": f"{o['unit_price']:g}", "value": f"{o['value']:g}", "prior": f"{o['prior']:.3f}",
             "weight": f"{o['weight']:.3f}", "channels": ", ".join(o["channels"]),
             "eligibility": rules.get(o["offer_id"]) or t("offers_anyone", loc)} for o in s["offers"]]
    with ui.element("div").classes("w-full").style("overflow-x: auto"):
        data_attrs(empty_text(ui.table(columns=cols, rows=rows, row_key="offer_id").classes("w-full")
                              .props("dense flat wrap-cells"), loc), test="offers-library")


def _period_form(ctx: session.Ctx, a: date, b: date) -> None:
    """From / to dates and a button that reloads the page for that period."""
    loc = ctx.locale

    @checked(ctx, Permission.campaigns_read)
    def show() -> None:
        ui.navigate.to(f"/offers?start={f.value}&end={to.value}")

    ui.label(t("offers_period", loc)).classes("text-h6 q-mt-md")
    with ui.row().classes("items-end gap-2"):
        f = data_attrs(ui.input(t("offers_from", loc), value=a.isoformat()).props("dense outlined type=date")
                       .classes("w-40"), test="offers-from")
        to = data_attrs(ui.input(t("offers_to", loc), value=b.isoformat()).props("dense outlined type=date")
                        .classes("w-40"), test="offers-to")
        data_attrs(ui.button(t("offers_show", loc), on_click=show).props("unelevated"), test="offers-show")


def _stats(ctx: session.Ctx, d: dict[str, Any], a: date, b: date, offer: str) -> str | None:
    """The per-offer table of the period; returns the offer whose trend to show."""
    loc = ctx.locale

    @checked(ctx, Permission.campaigns_read)
    def pick(oid: str) -> None:
        ui.navigate.to(f"/offers?start={a}&end={b}&offer={oid}")

    per = d["per"]
    ids = [o["offer_id"] for o in d["summary"]["offers"]]
    ids += sorted(set(per) - set(ids))  # offers in the history the library no longer has
    ui.label(t("offers_stats", loc).format(a=a.isoformat(), b=b.isoformat())).classes("text-h6")
    keys = (("offer_id", "offers_offer"), ("decisions", "offers_decisions"), ("presented", "offers_presented"),
            ("accepted", "offers_accepted"), ("rate", "offers_rate"), ("revenue", "offers_revenue"))
    cols = [{"name": k, "label": t(lab, loc), "field": k, "align": "left" if k == "offer_id" else "right"}
            for k, lab in keys]
    rows = []
    for oid in ids:
        s = per.get(oid, {"decisions": 0, "presented": 0, "accepted": 0, "revenue": 0.0, "acceptance_rate": None})
        rows.append({"offer_id": oid, "decisions": f"{s['decisions']:,}", "presented": f"{s['presented']:,}",
                     "accepted": f"{s['accepted']:,}", "rate": _n(s["acceptance_rate"], 4),
                     "revenue": _n(s["revenue"], 0)})
    with ui.element("div").classes("w-full").style("overflow-x: auto"):
        table = data_attrs(empty_text(ui.table(columns=cols, rows=rows, row_key="offer_id").classes("w-full")
                                      .props("dense flat"), loc), test="offers-stats")
    table.on("rowClick", lambda e: pick(e.args[1]["offer_id"]))
    with ui.element("div").classes("hidden"):  # the figures as attributes: read without parsing the table
        for oid in ids:
            s = per.get(oid, {})
            data_attrs(ui.element("span"), test="offer-figures", offer=oid, decisions=s.get("decisions", 0),
                       presented=s.get("presented", 0), accepted=s.get("accepted", 0),
                       revenue=round(s.get("revenue", 0.0), 2))
    shown = [oid for oid in ids if per.get(oid, {}).get("presented")]
    if not shown:
        data_attrs(ui.label(t("offers_no_presentations", loc)), test="offers-empty")
        return None
    chosen = offer if offer in shown else shown[0]
    ui.select(shown, value=chosen, on_change=lambda e: pick(e.value)).props("dense outlined").classes("w-56 q-mt-sm")
    return chosen


def _trend(d: dict[str, Any], oid: str, a: date, b: date, loc: str) -> None:
    """Presented and accepted per day or week (bars) and the acceptance rate (line, right axis)."""
    pts = d["trend"].get(oid, [])
    ui.label(t("offers_trend", loc).format(o=oid, g=t(f"offers_grain_{d['grain']}", loc))).classes("text-h6")
    data_attrs(ui.echart({
        "tooltip": {"trigger": "axis"}, "legend": {"top": 0},
        "grid": {"left": 48, "right": 48, "top": 36, "bottom": 30},
        "xAxis": {"type": "category", "data": [p["period"] for p in pts]},
        "yAxis": [{"type": "value"}, {"type": "value", "name": t("offers_rate", loc), "max": 1}],
        "series": [
            {"name": t("offers_presented", loc), "type": "bar", "data": [p["presented"] for p in pts]},
            {"name": t("offers_accepted", loc), "type": "bar", "data": [p["accepted"] for p in pts]},
            {"name": t("offers_rate", loc), "type": "line", "yAxisIndex": 1,
             "data": [round(p["acceptance_rate"], 4) for p in pts]},
        ],
    }).classes("w-full h-64"), test="offer-trend", offer=oid, points=len(pts))  # fmt: skip


def _backtest(ctx: session.Ctx, bt: dict[str, Any] | None) -> None:
    """The kept back-test (AUC; learned vs rules-only with intervals), and for a manager a button to run it."""
    loc = ctx.locale
    ui.label(t("offers_backtest", loc)).classes("text-h6 q-mt-md")
    if bt is None:
        data_attrs(ui.label(t("offers_backtest_none", loc)).classes("co-muted"), test="backtest-none")
    else:
        auc = bt.get("auc")
        with data_attrs(ui.card().classes("w-full"), test="backtest", auc="" if auc is None else f"{auc:.4f}"):
            ui.label(t("offers_backtest_head", loc).format(s=bt["split"], n=f"{bt['holdout_offers']:,}",
                                                           auc=_n(auc, 3), at=local_time(bt.get("computed_at"),
                                                                                         ctx.timezone)))
            for metric, label, digits in (("revenue_per_contact", "offers_backtest_rpc", 2),
                                          ("acceptance_rate", "offers_backtest_acc", 3)):
                ui.label(t(label, loc)).classes("text-subtitle2")
                for name in ("rules", "learned", "lift"):
                    f = bt[name][metric]
                    lo, hi = f["dr_ci95"]
                    data_attrs(ui.label(f"{t('offers_policy_' + name, loc)}: {_n(f['dr'], digits)} "
                                        f"[{_n(lo, digits)}, {_n(hi, digits)}]").classes("co-muted"),
                               test="backtest-figure", policy=name, metric=metric)

    if not ctx.can(Permission.campaigns_manage):
        return

    @checked(ctx, Permission.campaigns_manage)
    async def run_now() -> None:
        try:
            await session.warehouse_call(run_backtest, ctx.tenant_id)
        except CallopsError as exc:
            ui.notify(str(exc), type="warning")
            return
        ui.notify(t("offers_backtest_done", loc), type="positive")
        ui.navigate.reload()

    data_attrs(ui.button(t("offers_backtest_run", loc), on_click=run_now).props("outline"), test="backtest-run")


def _preview(ctx: session.Ctx) -> None:
    """A customer id, channel and reason in; the decision's offer, its score's parts and guidance out."""
    from callops.value.decide import CHANNELS

    loc = ctx.locale
    ui.label(t("offers_preview", loc)).classes("text-h6 q-mt-md")
    ui.label(t("offers_preview_note", loc)).classes("co-muted")
    with ui.row().classes("w-full items-end gap-2"):
        who = data_attrs(ui.input(t("offers_customer", loc)).props("dense outlined").classes("w-48"),
                         test="preview-customer")
        channel = data_attrs(ui.select(list(CHANNELS), value="voice", label=t("offers_channel", loc))
                             .props("dense outlined").classes("w-32"), test="preview-channel")
        reason = data_attrs(ui.input(t("offers_reason", loc)).props("dense outlined").classes("w-40"),
                            test="preview-reason")
        go = data_attrs(ui.button(t("offers_preview_go", loc)).props("unelevated"), test="preview-go")
    out = ui.column().classes("w-full")

    @checked(ctx, Permission.value_read)
    async def show() -> None:
        cid = (who.value or "").strip()
        if not cid:
            ui.notify(t("offers_need_customer", loc), type="warning")
            return
        try:
            p = await session.warehouse_call(preview, ctx.tenant_id, cid, channel.value,
                                             (reason.value or "").strip() or None)
        except CallopsError as exc:
            ui.notify(str(exc), type="warning")
            return
        if p is None:
            return
        out.clear()
        with out:
            _answer(p, loc)

    go.on_click(show)


def _answer(p: dict[str, Any], loc: str) -> None:
    """One preview's answer."""
    tags = ", ".join(p["tags"]) or "—"
    ui.label(t("offers_customer_is", loc).format(c=p["customer_id"], vc=p["value_class"], s=_n(p["score"], 1),
                                                 tags=tags, st=p["strategy"] or "—")
             + ("" if p["known"] else f" ({t('offers_unknown_customer', loc)})"))
    o = p["offer"]
    if o is None:
        data_attrs(ui.label(t("offers_no_offer", loc).format(why=p["offer_why"])), test="preview-none")
        return
    s = o["score"]
    with data_attrs(ui.card().classes("w-full"), test="preview-offer", offer=o["offer_id"],
                    score=f"{s['score']:.6f}"):
        ui.label(f"{o['offer_id']} · {o['product']} · {o['unit_price']:g}").classes("text-subtitle1")
        ui.label(t("offers_score", loc).format(s=s["score"], p=s["propensity"], src=o["propensity_source"],
                                               v=s["value"], w=s["weight"], q=o["probability"]))
        ui.label(f"weight = (1 + L·importance {s['importance']:g}) × (1 − L·difficulty {s['difficulty']:g}) × "
                 f"lever {s['lever']:g}").classes("co-muted")
        if o["alternatives"]:
            ui.label(t("offers_alternatives", loc).format(a=", ".join(
                f"{x['offer_id']} {x['score']:.2f}" for x in o["alternatives"]))).classes("co-muted")
        for lang in ("zh-CN", "en"):
            g = o["guidance"][lang]
            with data_attrs(ui.column().classes("gap-0 q-mt-sm"), test="preview-guidance", lang=lang):
                ui.label(t("offers_guidance", loc).format(lang=lang)).classes("text-subtitle2")
                for key, part in (("offers_remind", "remind"), ("offers_say", "offer"), ("offers_phrase", "phrase")):
                    if g[part]:
                        ui.label(f"{t(key, loc)}: {g[part]}")
