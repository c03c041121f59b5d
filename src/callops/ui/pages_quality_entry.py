"""QA evaluation entry (``/quality/evaluate``) and calibration sessions (``/quality/calibration``).

The evaluator picks a contact of the recorded draw (or types one), answers the form (weights, critical ★ and
fatal ✖ items, N/A), sees the score as they answer and saves it through :func:`callops.quality.entry.save_evaluation`,
the function ``POST /api/qa/evaluations`` calls. Calibration: sessions listed with progress; an evaluator of an
open session scores its contacts blind; a closed session shows the agreement and the spread per item
(:mod:`callops.quality.calibration`). Imported by ``pages_quality`` (so no extra line in ``ui.mount``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from nicegui import run, ui

from callops.errors import CallopsError
from callops.quality import calibration, data, entry
from callops.quality import store as qstore
from callops.quality.forms import Form, load_form
from callops.store.roles import Permission
from callops.ui import session
from callops.ui.guard import checked, data_attrs
from callops.ui.i18n import register_labels, t
from callops.ui.layout import frame

register_labels({
    "qa_eval_title": ("Evaluate a contact", "质检评分"),
    "qa_eval_open": ("Evaluate contacts", "逐通评分"),
    "qa_eval_pick": ("Contact of the draw", "抽样接触"),
    "qa_eval_contact": ("Contact id", "接触编号"),
    "qa_eval_no_draw": ("No draw recorded for this month: type a contact id, or record a draw on the quality page.",
                        "本月尚无抽样记录：可直接输入接触编号，或在质检页确认抽样。"),
    "qa_eval_done": ("evaluated", "已评"),
    "qa_eval_risk": ("risk", "风险"),
    "qa_eval_na": ("N/A", "不适用"),
    "qa_eval_score": ("Score {s} · critical {c}", "得分 {s} · 关键项 {c}"),
    "qa_eval_failed": ("FAILED (fatal item)", "不合格（致命项）"),
    "qa_eval_save": ("Save evaluation", "保存评分"),
    "qa_eval_saved": ("Saved {id}: {s}", "已保存 {id}：{s}"),
    "qa_eval_weight": ("weight", "权重"),
    "qa_eval_critical": ("critical", "关键项"),
    "qa_eval_fatal": ("fatal", "致命项"),
    "qa_cal_title": ("Calibration sessions", "校准会议"),
    "qa_cal_open": ("Calibration", "评分校准"),
    "qa_cal_new": ("New session", "新建校准"),
    "qa_cal_name": ("Name", "名称"),
    "qa_cal_contacts": ("Contacts (one per line)", "接触编号（每行一个）"),
    "qa_cal_evaluators": ("Evaluators (user names, comma separated)", "质检员（用户名，逗号分隔）"),
    "qa_cal_create": ("Create", "创建"),
    "qa_cal_progress": ("{name} · {status} · rated {done}/{need} per evaluator",
                        "{name} · {status} · 各质检员已评 {done}/{need}"),
    "qa_cal_status_open": ("open", "进行中"),
    "qa_cal_status_closed": ("closed", "已结束"),
    "qa_cal_blind": ("Blind: you see only your own scores until the session is closed.",
                     "盲评：会议结束前只能看到自己的评分。"),
    "qa_cal_close": ("Close and show results", "结束并公布结果"),
    "qa_cal_save": ("Save my rating", "保存我的评分"),
    "qa_cal_agreement": ("Agreement of total scores: α interval {a} · ICC(2,1) {i} · Fleiss κ {k}",
                         "总分一致性：α（区间）{a} · ICC(2,1) {i} · Fleiss κ {k}"),
    "qa_cal_item": ("Item", "评分项"),
    "qa_cal_sd": ("Mean SD (% of points)", "平均标准差（占分值%）"),
    "qa_cal_range": ("Largest range", "最大极差"),
    "qa_cal_alpha": ("α interval", "α（区间）"),
    "qa_cal_spread": ("Spread", "极差"),
    "qa_cal_fatal": ("Fatal disagreement", "致命项分歧"),
    "qa_cal_none": ("No calibration sessions yet.", "暂无校准会议。"),
})  # fmt: skip


def _fmt(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _item_label(item: Any, loc: str) -> str:
    return item.label_zh if loc.startswith("zh") else item.label_en


def form_inputs(form: Form, loc: str, on_change: Callable[[], None],
                initial: dict[str, Any] | None = None) -> Callable[[], dict[str, Any]]:  # fmt: skip
    """The form's items as inputs (a select for items with options, a number 0..points otherwise, N/A both ways);
    returns a function giving the current answers (item → option, points or None for N/A)."""
    initial = initial or {}
    getters: dict[str, Callable[[], Any]] = {}
    for section in form.sections:
        ui.label(section).classes("text-subtitle2 co-muted")
        for item in (i for i in form.items.values() if i.section == section):
            flags = [f"{t('qa_eval_weight', loc)} {item.weight:g}"]
            flags += [t("qa_eval_critical", loc) + " ★"] if item.critical else []
            flags += [t("qa_eval_fatal", loc) + " ✖"] if item.fatal else []
            with ui.row().classes("items-center gap-2 w-full"):
                ui.label(_item_label(item, loc)).classes("font-medium w-40")
                ui.label(f"{item.points:g} · {' · '.join(flags)}").classes("co-muted w-40")
                if item.options is not None:
                    opts = {name: (t("qa_eval_na", loc) if f is None else f"{name} ({f * item.points:g})")
                            for name, f in item.options.items()}  # fmt: skip
                    sel = ui.select(opts, value=initial.get(item.id), on_change=lambda _e: on_change()).props(
                        "dense outlined clearable").classes("w-44")  # fmt: skip
                    data_attrs(sel, test="qa-item", item=item.id)
                    getters[item.id] = lambda s=sel: s.value
                else:
                    v0 = initial.get(item.id)
                    num = ui.number(min=0, max=item.points, step=1, value=v0 if isinstance(v0, int | float) else None,
                                    on_change=lambda _e: on_change()).props("dense outlined").classes("w-24")
                    data_attrs(num, test="qa-item", item=item.id)
                    na = ui.checkbox(t("qa_eval_na", loc), value=v0 is None and item.id in initial,
                                     on_change=lambda _e: on_change())  # fmt: skip
                    getters[item.id] = lambda n=num, c=na: None if c.value or n.value is None else float(n.value)
    return lambda: {k: g() for k, g in getters.items() if g() is not None}


def _score_text(form: Form, answers: dict[str, Any], loc: str) -> str:
    try:
        s = entry.preview(form, answers)
    except CallopsError as exc:
        return str(exc)
    text = t("qa_eval_score", loc).format(s=_fmt(s.score), c=_fmt(s.critical_score))
    return f"{text} · {t('qa_eval_failed', loc)}" if s.failed else text


def write_warehouse(tenant: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(wh, ...)`` on the main warehouse connection under the writers' lock (as the API's ``writing``)."""
    res = session.resources()
    with res.warehouse_lock:
        out = fn(res.open_warehouse(), *args, **kwargs)
    res.generation[tenant] = res.generation.get(tenant, 0) + 1  # shared answers of this tenant are renewed
    return out


def _latest_draw_period(tenant: str) -> str | None:
    periods = {d["period"] for d in qstore.draws(session.store(), tenant)}
    return max(periods) if periods else None


@ui.page("/quality/evaluate")
async def evaluate_page(period: str = "", contact: str = "") -> None:
    """Pick a contact, answer the form, see the score, save."""
    ctx = session.require(Permission.qa_evaluate)
    if ctx is None:
        return
    loc = ctx.locale
    frame(ctx, "nav_quality")
    try:
        period = data.check_period(period) if period else ""
    except CallopsError:
        period = ""  # a mistyped month in the address: fall back to the latest draw
    this_month = datetime.now(ZoneInfo(session.tenant_zone(ctx.tenant_id))).strftime("%Y-%m")  # tenant's zone
    p = period or _latest_draw_period(ctx.tenant_id) or this_month
    await ui.context.client.connected(timeout=30)
    try:
        rows = await session.warehouse_call(entry.queue, session.store(), ctx.tenant_id, p)
    except CallopsError:
        rows = []
    if rows is None:
        return
    form = load_form()
    ui.label(f"{t('qa_eval_title', loc)} · {form.ref} · {p}").classes("text-h6")
    opts = {r["contact_id"]: f"{r['contact_id']} · {r['agent_id']}"
            + (f" · {t('qa_eval_risk', loc)}" if r["stream"] == "risk" else "")
            + (f" · ✓ {t('qa_eval_done', loc)}" if r["evaluated"] else "") for r in rows}  # fmt: skip
    with ui.row().classes("items-end gap-3 w-full"):
        if opts:
            first = contact if contact in opts else next((r["contact_id"] for r in rows if not r["evaluated"]), None)
            pick = ui.select(opts, value=first, label=t("qa_eval_pick", loc), with_input=True).props(
                'dense outlined data-test="qa-eval-pick"').classes("w-96 max-w-full")  # fmt: skip
        typed = ui.input(t("qa_eval_contact", loc), value=contact if contact not in opts else "").props(
            'dense outlined data-test="qa-eval-contact"').classes("w-64")  # fmt: skip
    if not opts:
        ui.label(t("qa_eval_no_draw", loc)).classes("co-muted").props('data-test="qa-eval-no-draw"')
    score = ui.label("").classes("text-h6").props('data-test="qa-eval-score"')

    def refresh() -> None:
        score.text = _score_text(form, answers(), loc)

    with ui.card().classes("w-full"):
        answers = form_inputs(form, loc, refresh)
    refresh()

    @checked(ctx, Permission.qa_evaluate)
    async def save() -> None:
        cid = (typed.value or "").strip() or (pick.value if opts else "")
        try:
            out = await run.io_bound(write_warehouse, ctx.tenant_id, entry.save_evaluation, ctx.tenant_id,
                                     contact_id=cid, evaluator=ctx.user_name, answers=answers())  # fmt: skip
        except CallopsError as exc:
            ui.notify(str(exc), type="negative")
            return
        ui.notify(t("qa_eval_saved", loc).format(id=out["evaluation_id"], s=_fmt(out["score"])), type="positive")
        saved.text = t("qa_eval_saved", loc).format(id=out["evaluation_id"], s=_fmt(out["score"]))

    ui.button(t("qa_eval_save", loc), icon="save", on_click=save).props('unelevated data-test="qa-eval-save"')
    saved = ui.label("").props('data-test="qa-eval-saved"')


@ui.page("/quality/calibration")
async def calibration_page(session_id: int = 0) -> None:
    """Sessions with progress; create (qa:manage); rate blind (evaluators); results once closed."""
    ctx = session.require(Permission.qa_read)
    if ctx is None:
        return
    loc = ctx.locale
    frame(ctx, "nav_quality")
    st = session.store()
    ui.label(t("qa_cal_title", loc)).classes("text-h6")
    sessions = calibration.list_sessions(st, ctx.tenant_id)
    if not sessions:
        ui.label(t("qa_cal_none", loc)).classes("co-muted")
    for s in sessions:
        done = min(s["progress"].values()) if s["progress"] else 0
        link = ui.link(t("qa_cal_progress", loc).format(name=s["name"], status=t(f"qa_cal_status_{s['status']}", loc),
                                                        done=done, need=s["needed"]),
                       f"/quality/calibration?session_id={s['id']}")  # fmt: skip
        data_attrs(link, test="qa-cal-session", session=str(s["id"]))
    if ctx.can(Permission.qa_manage):
        with ui.expansion(t("qa_cal_new", loc), icon="add").classes("w-full").props('data-test="qa-cal-new"'):
            name = ui.input(t("qa_cal_name", loc)).props('dense outlined data-test="qa-cal-name"')
            contacts = ui.textarea(t("qa_cal_contacts", loc)).props('dense outlined data-test="qa-cal-contacts"')
            evaluators = ui.input(t("qa_cal_evaluators", loc)).props('dense outlined data-test="qa-cal-evaluators"')

            @checked(ctx, Permission.qa_manage)
            async def create() -> None:
                try:
                    made = await session.warehouse_call(
                        lambda wh: calibration.create_session(
                            st, ctx.tenant_id, name=name.value, contacts=(contacts.value or "").split(),
                            evaluators=[e.strip() for e in (evaluators.value or "").split(",")],
                            created_by=ctx.user_name, wh=wh))  # fmt: skip
                except CallopsError as exc:
                    ui.notify(str(exc), type="negative")
                    return
                ui.navigate.to(f"/quality/calibration?session_id={made['id']}")

            ui.button(t("qa_cal_create", loc), on_click=create).props('unelevated data-test="qa-cal-create"')
    if session_id:
        try:
            view = calibration.get_session(st, ctx.tenant_id, session_id, viewer=ctx.user_name)
        except CallopsError as exc:
            ui.label(str(exc))
            return
        _session_view(ctx, view, loc)


def _session_view(ctx: Any, view: dict, loc: str) -> None:
    """One session: blind rating for its evaluators while open; results when closed."""
    st = session.store()
    ui.separator()
    ui.label(view["name"]).classes("text-h6")
    if view["status"] == "open":
        ui.label(t("qa_cal_blind", loc)).classes("co-muted")
        if ctx.user_name in view["evaluators"] and ctx.can(Permission.qa_evaluate):
            form = load_form()
            pick = ui.select(view["contacts"], value=view["contacts"][0], label=t("qa_eval_contact", loc)).props(
                'dense outlined data-test="qa-cal-contact"').classes("w-72")  # fmt: skip
            score = ui.label("").props('data-test="qa-cal-score"')
            with ui.card().classes("w-full"):
                answers = form_inputs(form, loc, lambda: setattr(score, "text", _score_text(form, answers(), loc)))

            @checked(ctx, Permission.qa_evaluate)
            def save() -> None:
                try:
                    out = calibration.rate(st, ctx.tenant_id, view["id"], evaluator=ctx.user_name,
                                           contact_id=pick.value, answers=answers())  # fmt: skip
                except CallopsError as exc:
                    ui.notify(str(exc), type="negative")
                    return
                ui.notify(f"{pick.value}: {_fmt(out['score'])}", type="positive")
                mine[pick.value] = out["score"]
                mine_label.text = " · ".join(f"{c} {_fmt(v)}" for c, v in mine.items())

            ui.button(t("qa_cal_save", loc), icon="save", on_click=save).props('unelevated data-test="qa-cal-save"')
            mine = {c: m["score"] for c, m in view["mine"].items()}
            mine_label = ui.label(" · ".join(f"{c} {_fmt(v)}" for c, v in mine.items())).classes("co-muted")
        if ctx.can(Permission.qa_manage):

            @checked(ctx, Permission.qa_manage)
            def close() -> None:
                calibration.close(st, ctx.tenant_id, view["id"])
                ui.navigate.to(f"/quality/calibration?session_id={view['id']}")

            ui.button(t("qa_cal_close", loc), icon="lock", on_click=close).props('outline data-test="qa-cal-close"')
        return
    res = view["results"] or {}
    agr = res.get("agreement") or {}
    icc = (agr.get("icc") or {}).get("icc_2_1")
    ui.label(t("qa_cal_agreement", loc).format(a=_fmt((agr.get("alpha") or {}).get("interval"), 2), i=_fmt(icc, 2),
                                               k=_fmt(agr.get("fleiss_kappa"), 2))).props(
        'data-test="qa-cal-agreement"')  # fmt: skip
    form = load_form()
    cols = [{"name": k, "label": t(lab, loc), "field": k} for k, lab in
            (("item", "qa_cal_item"), ("sd", "qa_cal_sd"), ("range", "qa_cal_range"), ("alpha", "qa_cal_alpha"))]
    rows = [{"item": _item_label(form.items[i["item"]], loc) if i["item"] in form.items else i["item"],
             "sd": _fmt(i["mean_sd"]), "range": _fmt(i["max_range"]), "alpha": _fmt(i["alpha_interval"], 2)}
            for i in res.get("items", [])]  # fmt: skip
    ui.table(columns=cols, rows=rows, row_key="item").classes("w-full").props('dense data-test="qa-cal-items"')
    ev = view["evaluators"]
    ccols = [{"name": "contact_id", "label": t("qa_eval_contact", loc), "field": "contact_id"}]
    ccols += [{"name": e, "label": e, "field": e} for e in ev]
    ccols += [{"name": "spread", "label": t("qa_cal_spread", loc), "field": "spread"},
              {"name": "fatal", "label": t("qa_cal_fatal", loc), "field": "fatal"}]  # fmt: skip
    crows = [{"contact_id": c["contact_id"], **{e: _fmt(c["scores"].get(e)) for e in ev}, "spread": _fmt(c["spread"]),
              "fatal": "!" if c["fatal_disagreement"] else ""} for c in res.get("contacts", [])]  # fmt: skip
    ui.table(columns=ccols, rows=crows, row_key="contact_id").classes("w-full").props("dense")
