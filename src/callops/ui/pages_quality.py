"""Quality page: the ranking as a caterpillar chart (shrunk means with intervals), coaching and recognition lists,
evaluator drift (EWMA), the sampling plan of the month and the form. zh-CN and en labels are registered here."""

from __future__ import annotations

import math
from typing import Any

from nicegui import ui

from callops.errors import CallopsError
from callops.exports import workbook_bytes
from callops.quality import data, service
from callops.quality import store as qstore
from callops.quality.forms import load_form
from callops.store.roles import Permission
from callops.ui import session
from callops.ui.guard import checked, data_attrs
from callops.ui.i18n import register_labels, t
from callops.ui.layout import frame
from callops.ui.localized import empty_text

register_labels({
    "nav_quality": ("Quality", "质检"),
    "qa_period": ("Month", "月份"),
    "qa_ranking": ("Agent scores: shrunk mean and 95% interval", "坐席得分：收缩均值与95%区间"),
    "qa_raw_mean": ("raw mean", "原始均值"),
    "qa_shrunk": ("shrunk mean", "收缩均值"),
    "qa_suppressed": ("not enough evidence", "证据不足"),
    "qa_coaching": ("Coaching list", "辅导名单"),
    "qa_recognition": ("Recognition list", "表彰名单"),
    "qa_none": ("nobody this month", "本月无"),
    "qa_stability": ("Rank stability vs last month", "与上月排名的稳定性"),
    "qa_stability_text": ("observed {o:.2f}; if levels never changed {s:.2f}; noise alone (95%) {n:.2f}",
                          "实际 {o:.2f}；若水平不变 {s:.2f}；纯噪声（95%）{n:.2f}"),
    "qa_drift": ("Evaluator drift (EWMA of deviation from the panel)", "质检员漂移（相对评审组偏差的EWMA）"),
    "qa_plan": ("Sampling plan", "抽样计划"),
    "qa_plan_text": ("margin ±{m:g} points, score SD {s:.1f}: {n} contacts for {a} agents ({r} risk picks)",
                     "误差 ±{m:g} 分，得分标准差 {s:.1f}：{a} 名坐席共抽 {n} 通（风险抽检 {r} 通）"),
    "qa_agent": ("Agent", "坐席"),
    "qa_population": ("Contacts", "接触量"),
    "qa_n": ("Sample", "样本量"),
    "qa_exempt": ("Exempt", "免检"),
    "qa_form": ("Evaluation form", "质检评分表"),
    "qa_no_data": ("No QA evaluations yet.", "暂无质检数据。"),
    "qa_draw": ("Record the draw and download (Excel)", "确认抽样并下载清单（Excel）"),
    "qa_plan_show": ("Compute this month's plan", "计算本月抽样计划"),
    "qa_cusum": ("Evaluator drift: CUSUM (above: lenient, below: strict; dashed: signal limit)",
                 "质检员漂移：CUSUM（上为偏松，下为偏严；虚线为报警限）"),
    "qa_reason_low level": ("low level", "水平偏低"),
    "qa_reason_real decline": ("real decline", "真实下滑"),
    "qa_reason_high level": ("high level", "水平优秀"),
    "qa_reason_real improvement": ("real improvement", "真实进步"),
    "qa_more": ("and {n} more (see the API or CLI)", "另有 {n} 人（见 API 或命令行）"),
    "qa_weighted": ("{n} agents' means weighted by the draw's design weights (Hájek)",
                    "{n} 名坐席的均值按抽样设计权重加权（Hájek）"),
    "qa_textqa": ("Text QA of transcripts", "转写文本自动质检"),
    "qa_textqa_run": ("Run text QA on this month's evaluated contacts", "对本月已评接触运行文本质检"),
    "qa_textqa_items": ("Items counting in scores (κ ≥ {k}): {items}", "计入得分的项（κ ≥ {k}）：{items}"),
    "qa_textqa_auto": ("Auto score", "自动得分"),
    "qa_textqa_contact": ("Contact", "接触"),
    "qa_textqa_evidence": ("Failed items and evidence", "未通过项与证据"),
    "qa_textqa_kappa": ("κ vs humans", "与人工的κ"),
    "qa_adhoc_mean": ("ad-hoc mean (not in the score)", "非抽样评估均值（不计入得分）"),
    "qa_design": ("{w} agents scored on this month's recorded draw (Hájek means, design weights 1/π); {u} without "
                  "drawn evaluations keep equal weights; {x} ad-hoc evaluations shown beside, not counted",
                  "{w} 名坐席按本月已确认抽样计分（Hájek 加权均值，设计权重 1/π）；{u} 名无抽样评估的坐席按等权计分；"
                  "{x} 条非抽样评估单独列示，不计入得分"),
    "qa_drawn": ("Recorded draw of the month", "本月已确认的抽样"),
    "qa_draw_text": ("seed {seed}, form {form}: {r} routine contacts for {a} agents ({e} evaluated); {k} risk picks "
                     "({ke} evaluated, never in scores)",
                     "随机种子 {seed}，评分表 {form}：{a} 名坐席常规抽样 {r} 通（已评 {e} 通）；风险抽检 {k} 通"
                     "（已评 {ke} 通，不计入得分）"),
    "qa_no_draw": ("No draw recorded for this month: scores use equal weights.",
                   "本月尚无已确认的抽样：得分按等权计算。"),
    "qa_stratum": ("Stratum", "层"),
    "qa_drawn_n": ("Drawn", "抽中"),
    "qa_evaluated": ("Evaluated", "已评"),
    "qa_pi": ("Inclusion probability π", "入样概率 π"),
    "qa_weight": ("Design weight 1/π", "设计权重 1/π"),
})  # fmt: skip


def page_data(wh: Any, tenant: str, period: str | None) -> dict:
    """Everything the page shows for ``tenant`` and ``period`` (default: the latest evaluated month)."""
    p = period or data.latest_period(wh, tenant)
    st = session.store()
    rank = service.ranking_report(wh, tenant, p, store=st)
    coach = service.coaching_report(wh, tenant, p, store=st)
    draw = service.draw_summary(wh, st, tenant, p)
    return {"period": p, "ranking": rank, "coaching": coach, "drift": coach["drift"], "draw": draw}


LIST_ROWS = 15


def _caterpillar(agents: list[dict], loc: str) -> None:
    """Shrunk means (dots) with their 95% intervals (bars), raw means (hollow), best at the top."""
    rows = list(reversed(agents))
    names = [a["agent_id"] for a in rows]
    lo = min((a["interval"][0] for a in rows), default=0.0)
    hi = max((a["interval"][1] for a in rows), default=100.0)
    shown = 30  # a large center scrolls through its agents (best at the top) instead of a page-long chart
    zoom = [{"type": "slider", "yAxisIndex": 0, "right": 0, "width": 14, "startValue": max(0, len(rows) - shown),
             "endValue": len(rows) - 1}, {"type": "inside", "yAxisIndex": 0}] if len(rows) > shown else []
    ui.echart({
        "tooltip": {"trigger": "axis"}, "legend": {"top": 0}, "dataZoom": zoom,
        "grid": {"left": 60, "right": 24, "top": 30, "bottom": 24},
        "xAxis": {"type": "value", "min": 5 * math.floor((lo - 1) / 5), "max": 5 * math.ceil((hi + 1) / 5)},
        "yAxis": {"type": "category", "data": names},
        "series": [
            {"name": "95%", "type": "bar", "stack": "ci", "itemStyle": {"color": "transparent"},
             "data": [round(a["interval"][0], 2) for a in rows], "tooltip": {"show": False}},
            {"name": "95%", "type": "bar", "stack": "ci", "barWidth": 4, "itemStyle": {"color": "#90caf9"},
             "data": [round(a["interval"][1] - a["interval"][0], 2) for a in rows]},
            {"name": t("qa_shrunk", loc), "type": "scatter", "symbolSize": 9,
             "data": [[round(a["shrunk_mean"], 2), i] for i, a in enumerate(rows)],
             "itemStyle": {"color": "#1565c0"}},
            {"name": t("qa_raw_mean", loc), "type": "scatter", "symbol": "emptyCircle", "symbolSize": 7,
             "data": [[round(a["mean"], 2), i] for i, a in enumerate(rows)], "itemStyle": {"color": "#e65100"}},
            # an agent scored on the draw: its evaluations outside the draw, shown beside and not counted
            {"name": t("qa_adhoc_mean", loc), "type": "scatter", "symbol": "triangle", "symbolSize": 7,
             "data": [[round(a["adhoc"]["mean"], 2), i] for i, a in enumerate(rows) if a.get("adhoc")],
             "itemStyle": {"color": "#9e9e9e"}},
        ],
    }).classes("w-full").style(f"height: {max(260, 18 * min(len(rows), shown) + 70)}px")  # fmt: skip


def _people(title_key: str, entries: list[dict], loc: str, test: str) -> None:
    with ui.card().classes("w-full md:w-[48%]"):
        ui.label(t(title_key, loc)).classes("text-h6")
        if not entries:
            ui.label(t("qa_none", loc)).classes("co-muted")
        for e in entries[:LIST_ROWS]:
            row = ui.row().classes("items-center gap-2")
            data_attrs(row, test=test, agent=e["agent_id"])
            with row:
                ui.label(e["agent_id"]).classes("font-medium")
                change = "" if e.get("change") is None else f" Δ{e['change']:+.1f} ({e['expected_change']:+.1f})"
                ui.label(f"{e['shrunk_mean']:.1f} [{e['interval'][0]:.1f}, {e['interval'][1]:.1f}]{change}")
                sep = "、" if loc.startswith("zh") else ", "
                ui.label(sep.join(t(f"qa_reason_{r}", loc) for r in e["reasons"])).classes("co-muted")
        if len(entries) > LIST_ROWS:
            ui.label(t("qa_more", loc).format(n=len(entries) - LIST_ROWS)).classes("co-muted")


def _download_draw(tenant: str, plan: dict) -> None:
    """Record the plan's draw in the store and send it to the browser as a workbook."""
    rows = service.draw_rows(plan)
    qstore.save_draw(session.store(), tenant, plan["period"], rows, load_form().ref, plan["seed"])
    cols = ["contact_id", "agent_id", "stream", "stratum", "inclusion_probability", "weight", "reasons"]
    content = workbook_bytes([("draw", cols, [[r.get(c) for c in cols] for r in rows])])
    ui.download.content(content, f"qa-draw-{plan['period']}.xlsx")


@ui.page("/quality")
async def quality_page(period: str = "") -> None:
    """The QA page of the signed-in tenant: the frame at once, the figures when computed (off the event loop)."""
    ctx = session.require(Permission.qa_read)
    if ctx is None:
        return
    loc = ctx.locale
    frame(ctx, "nav_quality")
    body = ui.column().classes("w-full gap-3")
    with body:
        ui.spinner(size="lg")
    await ui.context.client.connected(timeout=30)
    try:
        d = await session.warehouse_call(page_data, ctx.tenant_id, period or None)
    except CallopsError:
        body.clear()
        with body:
            ui.label(t("qa_no_data", loc)).props('data-test="qa-empty"')
        return
    if d is None:  # the browser went away while the figures were computed
        return
    body.clear()
    with body:
        _figures(ctx, d, loc)


def _figures(ctx: Any, d: dict, loc: str) -> None:
    """Ranking chart, coaching and recognition, stability, drift, the plan (on demand) and the form."""
    with ui.row().classes("items-end gap-3"):
        p_in = ui.input(t("qa_period", loc), value=d["period"]).props("dense outlined").classes("w-32")
        ui.button(icon="search", on_click=checked(ctx, Permission.qa_read)(
            lambda: ui.navigate.to(f"/quality?period={p_in.value}"))).props("unelevated")
        if ctx.can(Permission.qa_evaluate):
            ui.link(t("qa_eval_open", loc), f"/quality/evaluate?period={d['period']}").props(
                'data-test="qa-eval-link"')  # fmt: skip
        ui.link(t("qa_cal_open", loc), "/quality/calibration").props('data-test="qa-cal-link"')
    ui.label(t("qa_ranking", loc)).classes("text-h6")
    _caterpillar(d["ranking"]["agents"], loc)
    weighted = sum(1 for a in d["ranking"]["agents"] if a.get("weighted"))
    design = d["ranking"].get("design")
    if weighted and design:
        ui.label(t("qa_design", loc).format(w=design["weighted_agents"], u=design["unweighted_agents"],
                                            x=design["adhoc_evaluations"])).classes("co-muted").props(
            'data-test="qa-weighted"')  # fmt: skip
    _recorded_draw(d.get("draw"), loc)
    with ui.row().classes("w-full gap-4"):
        _people("qa_coaching", d["coaching"]["coaching"], loc, "qa-coach")
        _people("qa_recognition", d["coaching"]["recognition"], loc, "qa-recognise")
    stab = d["coaching"].get("stability")
    if stab:
        ui.label(t("qa_stability", loc)).classes("text-h6")
        ui.label(t("qa_stability_text", loc).format(o=stab["observed"], s=stab["expected_if_stable"],
                                                    n=stab["noise_only_p95"]))  # fmt: skip
    if d["drift"]:
        ui.label(t("qa_drift", loc)).classes("text-h6")
        series = [{"name": e, "type": "line", "showSymbol": False, "data": [round(v, 2) for v in v_["ewma"]["ewma"]]}
                  for e, v_ in d["drift"].items()]  # fmt: skip
        longest = max(len(v_["ewma"]["ewma"]) for v_ in d["drift"].values())
        ui.echart({"tooltip": {"trigger": "axis"}, "legend": {"top": 0}, "grid": {"left": 40, "right": 16},
                   "xAxis": {"type": "category", "data": list(range(1, longest + 1))}, "yAxis": {"type": "value"},
                   "series": series}).classes("w-full h-64")  # fmt: skip
        ui.label(t("qa_cusum", loc)).classes("text-h6")
        h = next(iter(d["drift"].values()))["cusum"]["h"]
        cusum = [{"name": e, "type": "line", "showSymbol": False,
                  "data": [round(u if u >= lo_ else -lo_, 2) for u, lo_ in zip(v_["cusum"]["upper"],
                                                                              v_["cusum"]["lower"], strict=True)]}
                 for e, v_ in d["drift"].items()]  # fmt: skip
        cusum[0]["markLine"] = {"symbol": "none", "label": {"show": False}, "data": [{"yAxis": h}, {"yAxis": -h}],
                                "lineStyle": {"color": "#c62828", "type": "dashed"}}  # fmt: skip
        ui.echart({"tooltip": {"trigger": "axis"}, "legend": {"top": 0}, "grid": {"left": 40, "right": 16},
                   "xAxis": {"type": "category", "data": list(range(1, longest + 1))}, "yAxis": {"type": "value"},
                   "series": cusum}).classes("w-full h-64")  # fmt: skip
    ui.label(t("qa_plan", loc)).classes("text-h6")
    plan_box = ui.column().classes("w-full")

    @checked(ctx, Permission.qa_read)
    async def show_plan() -> None:
        plan_box.clear()
        with plan_box:
            ui.spinner()
        try:
            plan = await session.warehouse_call(service.plan, ctx.tenant_id, d["period"])
        except CallopsError as exc:
            plan_box.clear()
            with plan_box:
                ui.label(str(exc))
            return
        if plan is None:
            return
        plan_box.clear()
        with plan_box:
            _plan(ctx, plan, loc)

    with plan_box:
        ui.button(t("qa_plan_show", loc), icon="playlist_add_check", on_click=show_plan).props(
            'outline data-test="qa-plan"')
    if ctx.can(Permission.qa_manage):
        _textqa_section(ctx, d["period"], loc)
    form = load_form()
    with ui.expansion(f"{t('qa_form', loc)} · {form.ref}").classes("w-full"):
        for item in form.items.values():
            label = item.label_zh if loc.startswith("zh") else item.label_en
            flags = (" ★" if item.critical else "") + (" ✖" if item.fatal else "")
            ui.label(f"{item.section} · {label}{flags}: {item.points:g} × {item.weight:g}")


def _recorded_draw(draw: dict | None, loc: str) -> None:
    """The month's recorded draw: seed, streams, what is evaluated, and per stratum π and the design weights."""
    ui.label(t("qa_drawn", loc)).classes("text-h6")
    if draw is None:
        ui.label(t("qa_no_draw", loc)).classes("co-muted").props('data-test="qa-no-draw"')
        return
    ui.label(t("qa_draw_text", loc).format(seed=draw["seed"], form=draw["form"], r=draw["routine"], a=draw["agents"],
                                           e=draw["evaluated"], k=draw["risk"], ke=draw["risk_evaluated"])
             ).props('data-test="qa-drawn"')  # fmt: skip
    cols = [{"name": k, "label": t(lab, loc), "field": k} for k, lab in
            (("stratum", "qa_stratum"), ("contacts", "qa_drawn_n"), ("evaluated", "qa_evaluated"),
             ("pi", "qa_pi"), ("weight", "qa_weight"))]  # fmt: skip

    def span(lo: float, hi: float) -> str:
        return f"{lo:.3f}" if abs(hi - lo) < 5e-4 else f"{lo:.3f}–{hi:.3f}"

    rows = [{"stratum": s["stratum"], "contacts": s["contacts"], "evaluated": s["evaluated"],
             "pi": span(s["pi_min"], s["pi_max"]), "weight": span(s["weight_min"], s["weight_max"])}
            for s in draw["strata"]]  # fmt: skip
    strata_table = ui.table(columns=cols, rows=rows, row_key="stratum", pagination=10).classes("w-full").props(
        'dense data-test="qa-draw-strata"')
    empty_text(strata_table, loc)


def _plan(ctx: Any, plan: dict, loc: str) -> None:
    """The plan's summary, per-agent table and (for qa:manage) the draw download."""
    total = sum(a["n"] for a in plan["agents"])
    risk = sum(len(a["risk"]) for a in plan["agents"])
    ui.label(t("qa_plan_text", loc).format(m=plan["margin"], s=plan["sd"], n=total, a=len(plan["agents"]), r=risk))
    cols = [{"name": k, "label": t(lab, loc), "field": k} for k, lab in
            (("agent_id", "qa_agent"), ("population", "qa_population"), ("n", "qa_n"), ("exempt", "qa_exempt"))]
    agents_table = ui.table(columns=cols, rows=[{"agent_id": a["agent_id"], "population": a["population"], "n": a["n"],
                                  "exempt": "✓" if a["exempt"] else ""} for a in plan["agents"]], row_key="agent_id",
             pagination=10).classes("w-full").props("dense")  # fmt: skip
    empty_text(agents_table, loc)
    if ctx.can(Permission.qa_manage):
        # recording a draw writes to the store: re-check qa:manage at the click, not only when the button was drawn
        ui.button(t("qa_draw", loc), icon="download", on_click=checked(ctx, Permission.qa_manage)(
            lambda: _download_draw(ctx.tenant_id, plan))).props('outline data-test="qa-draw"')


def _textqa_section(ctx: Any, period: str, loc: str) -> None:
    """Text QA (qa:manage, like ``GET /api/qa/textqa``), on demand: per agent pass rates, per contact the failed
    items with their evidence (utterance and time), per item κ against human evaluations."""
    ui.label(t("qa_textqa", loc)).classes("text-h6")
    box = ui.column().classes("w-full")

    @checked(ctx, Permission.qa_manage)
    async def show() -> None:
        box.clear()
        with box:
            ui.spinner()
        try:
            rep = await session.warehouse_call(service.textqa_report, ctx.tenant_id, period)
        except CallopsError as exc:
            box.clear()
            with box:
                ui.label(str(exc))
            return
        if rep is None:
            return
        box.clear()
        with box:
            _textqa(rep, loc)

    with box:
        ui.button(t("qa_textqa_run", loc), icon="spellcheck", on_click=show).props('outline data-test="qa-textqa"')


def _textqa(rep: dict, loc: str) -> None:
    """The text QA report as tables."""
    ui.label(t("qa_textqa_items", loc).format(k=rep["min_kappa"], items=", ".join(rep["counting_items"]) or "–"))
    items = sorted({i for a in rep.get("agents", []) for i in a["pass_rate"]})
    cols = [{"name": "agent_id", "label": t("qa_agent", loc), "field": "agent_id"},
            {"name": "contacts", "label": t("qa_population", loc), "field": "contacts"},
            {"name": "score", "label": t("qa_textqa_auto", loc), "field": "score"}]
    cols += [{"name": i, "label": f"{i} (κ {_k(rep['agreement'].get(i))})", "field": i} for i in items]
    rows = [{"agent_id": a["agent_id"], "contacts": a["contacts"],
             "score": "–" if a["score"] is None else f"{a['score']:.0f}",
             **{i: f"{100 * a['pass_rate'][i]:.0f}%" if i in a["pass_rate"] else "–" for i in items}}
            for a in rep.get("agents", [])]
    agents_table = ui.table(columns=cols, rows=rows, row_key="agent_id", pagination=10).classes("w-full").props(
        'dense data-test="qa-textqa-agents"')
    empty_text(agents_table, loc)
    ccols = [{"name": k, "label": t(lab, loc), "field": k} for k, lab in
             (("contact_id", "qa_textqa_contact"), ("agent_id", "qa_agent"), ("score", "qa_textqa_auto"),
              ("evidence", "qa_textqa_evidence"))]
    crows = []
    for c in rep["contacts"]:
        failed = [i + "".join(f" [{_at(e)} {e['speaker']}: {e['text'][:40]}]" for e in r["evidence"][:1])
                  for i, r in c["items"].items() if r["passed"] is False]
        crows.append({"contact_id": c["contact_id"], "agent_id": c.get("agent_id") or "",
                      "score": "–" if c["score"] is None else f"{c['score']:.0f}", "evidence": "; ".join(failed)})
    contacts_table = ui.table(columns=ccols, rows=crows, row_key="contact_id", pagination=10).classes(
        "w-full").props('dense data-test="qa-textqa-contacts"')
    empty_text(contacts_table, loc)


def _at(e: dict) -> str:
    return "" if e.get("start_s") is None else f"{e['start_s']:.0f}s"


def _k(a: dict | None) -> str:
    return "–" if not a or a.get("kappa") is None else f"{a['kappa']:.2f}"


from callops.ui import pages_quality_entry  # noqa: E402, F401  (registers /quality/evaluate and /quality/calibration)
