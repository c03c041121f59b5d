"""Knowledge pages: the agents' search-and-answer panel (``/kb``: hot-topic banners, search with highlights,
suggestions for a contact, usage) and the authors' page (``/knowledge``: articles, editor with review and publish,
expiry calendar, knowledge-gap tasks). zh-CN and en labels are registered here.

Article text is data: it is shown HTML-escaped (Markdown still renders), highlights come escaped from
``tokenize.highlight`` with only ``<mark>`` added, and nothing from data goes into a props string.
"""

from __future__ import annotations

import html
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

from nicegui import run, ui

from callops.errors import CallopsError
from callops.knowledge import articles, assist, hot, service, training
from callops.store.models_knowledge import Audience
from callops.store.roles import Permission
from callops.ui import session
from callops.ui.guard import checked, data_attrs
from callops.ui.i18n import local_time, register_labels, t
from callops.ui.layout import frame
from callops.ui.localized import date_input, empty_text

register_labels({
    "kb_nav": ("Knowledge", "知识库"),
    "kb_authors": ("Knowledge authoring", "知识编写"),
    "kb_search": ("Search", "搜索"),
    "kb_query": ("Question (zh or en)", "问题（中文或英文）"),
    "kb_audience": ("Audience", "受众"),
    "kb_any": ("any", "全部"),
    "kb_no_hits": ("No article matches.", "没有匹配的文章。"),
    "kb_expired": ("Expired: not shown to customers", "已过期：不向客户展示"),
    "kb_open": ("Open", "打开"),
    "kb_link": ("Link to contact", "关联到来电"),
    "kb_send": ("Send to customer", "发送给客户"),
    "kb_used": ("Used", "已采用"),
    "kb_recorded": ("Recorded", "已记录"),
    "kb_suggest": ("Suggestions for the contact", "来电推荐"),
    "kb_words": ("What the customer says", "客户原话"),
    "kb_business": ("Business", "业务类型"),
    "kb_contact": ("Contact id", "来电编号"),
    "kb_suggest_btn": ("Suggest", "推荐"),
    "kb_hot": ("Hot topic", "热点问题"),
    "kb_gap": ("knowledge gap: task for", "知识缺口：已派给"),
    "kb_queues": ("queues", "队列"),
    "kb_vs": ("vs expected", "对比预期"),
    "kb_usage": ("Usage", "使用情况"),
    "kb_link_rate": ("Link rate", "关联率"),
    "kb_reuse": ("Contacts per article", "各文章关联来电数"),
    "kb_unanswered": ("Questions that found nothing", "无结果的问题"),
    "kb_never_found": ("Articles never found", "从未被找到的文章"),
    "kb_articles": ("Articles", "文章"),
    "kb_id": ("Id", "编号"),
    "kb_title": ("Title", "标题"),
    "kb_state": ("State", "状态"),
    "kb_owner": ("Owner", "负责人"),
    "kb_verify_due": ("Verify by", "复核期限"),
    "kb_valid_to": ("Valid to", "有效期至"),
    "kb_body": ("Body (Markdown)", "正文（Markdown）"),
    "kb_phrasings": ("Phrasings, one per line (zh/en)", "问法，每行一个（中/英）"),
    "kb_tags": ("Tags (comma separated)", "标签（逗号分隔）"),
    "kb_language": ("Language", "语言"),
    "kb_verify_days": ("Verify every (days)", "复核周期（天）"),
    "kb_save": ("Save draft", "保存草稿"),
    "kb_submit": ("Submit for review", "提交审核"),
    "kb_publish": ("Publish", "发布"),
    "kb_archive": ("Archive", "归档"),
    "kb_verify": ("Mark verified", "标记已复核"),
    "kb_new": ("New article", "新建文章"),
    "kb_saved": ("Saved", "已保存"),
    "kb_calendar": ("Expiry and verification calendar", "到期与复核日历"),
    "kb_tasks": ("Knowledge-gap tasks", "知识缺口任务"),
    "kb_versions": ("Versions", "版本"),
    "kb_gap_task": ("No article covers", "尚无文章覆盖"),
    "kb_edit": ("Edit", "编辑"),
    "kb_state_draft": ("draft", "草稿"),
    "kb_state_in_review": ("in review", "审核中"),
    "kb_state_published": ("published", "已发布"),
    "kb_state_archived": ("archived", "已归档"),
    "kb_aud_customer": ("customer", "客户"),
    "kb_aud_agent": ("agent", "坐席"),
    "kb_aud_account_manager": ("account manager", "客户经理"),
    "kb_aud_monitor": ("monitor", "班长/质检"),
    "kb_aud_manager": ("manager", "管理者"),
    "kb_customer": ("Knowledge for the last contact", "最近一次来电的知识推荐"),
    "kb_customer_none": ("No contact of this customer to suggest from.", "该客户暂无可推荐的来电。"),
    "kb_customer_open": ("Open in the answer panel", "在答案面板中打开"),
    "kb_reranker": ("Learned re-ranker", "学习型重排序"),
    "kb_reranker_none": ("Not trained: searches use the index's order.", "尚未训练：搜索按索引原始排序。"),
    "kb_reranker_trained": ("Trained", "训练于"),
    "kb_reranker_questions": ("labelled questions", "条标注问题"),
    "kb_reranker_holdout": ("held-out MRR@10 index → re-ranked", "留出集 MRR@10 索引 → 重排"),
    "kb_reranker_active": ("searches use it", "搜索已启用"),
    "kb_reranker_inactive": ("kept off: not better on the held-out fifth", "未启用：留出集上未优于索引"),
    "kb_retrain": ("Retrain from the agents' links", "按坐席关联记录重新训练"),
})  # fmt: skip

BUSINESS = ("billing", "data_plan", "upgrade_5g", "general", "broadband", "roaming", "complaint", "vip_service",
            "english_service")


def _hit_card(ctx: session.Ctx, hit: Any, contact: Any) -> None:
    """One result: title, highlights, expired banner, and the agent's actions (recorded as events)."""
    loc = ctx.locale
    with data_attrs(ui.card().classes("w-full"), test="kb-hit", article=hit.key):
        ui.label(hit.title).classes("text-subtitle1 font-medium")
        if hit.expired:
            data_attrs(ui.label(t("kb_expired", loc)).classes("text-white bg-orange-8 px-2 rounded"), test="kb-expired")
        for name in ("title", "phrasing", "body"):
            if name in hit.highlights and name != "title":
                ui.html(hit.highlights[name]).classes("co-muted")  # escaped by tokenize.highlight, <mark> only

        def act(kind: str, key: str = hit.key) -> None:
            try:
                assist.record_event(session.store(), ctx.tenant_id, kind, key,
                                    contact_id=(contact.value or None) if contact else None, actor=ctx.user_name)
                ui.notify(f"{t('kb_recorded', loc)}: {kind}")
            except CallopsError as exc:
                ui.notify(str(exc), type="warning")

        def open_article(key: str = hit.key) -> None:
            act("opened", key)
            with session.store().session() as s:
                row = articles.get_article(s, ctx.tenant_id, key)
                title, body = row.title, row.body
            with ui.dialog() as dlg, ui.card().classes("w-full max-w-2xl"):
                ui.label(title).classes("text-h6")
                ui.markdown(html.escape(body))
                ui.button("OK", on_click=dlg.close).props("flat")
            dlg.open()

        with ui.row().classes("gap-1 flex-wrap"):
            ui.button(t("kb_open", loc), on_click=checked(ctx, Permission.kb_read)(open_article)).props("dense flat")
            ui.button(t("kb_used", loc), on_click=checked(ctx, Permission.kb_read)(lambda: act("used"))).props(
                "dense flat")
            ui.button(t("kb_link", loc), on_click=checked(ctx, Permission.kb_read)(lambda: act("linked"))).props(
                "dense flat")
            ui.button(t("kb_send", loc), on_click=checked(ctx, Permission.kb_read)(lambda: act("sent"))).props(
                "dense flat")


def hot_banner(ctx: session.Ctx, topics: list[Any]) -> None:
    """One banner per hot topic (console push to agents and team leads)."""
    loc = ctx.locale
    for tp in topics:
        cover = tp.article_title or f"{t('kb_gap', loc)} {tp.owner}"
        queues = f" · {t('kb_queues', loc)} {', '.join(tp.queues)}" if tp.queues else ""
        with data_attrs(ui.row().classes("w-full items-center gap-2 bg-orange-1 text-orange-10 p-2 rounded"),
                        test="kb-hot", subject=tp.subject):
            ui.icon("local_fire_department").classes("text-orange-8")
            ui.label(f"{t('kb_hot', loc)}: {tp.subject} — {tp.current} {t('kb_vs', loc)} {tp.expected:.1f}"
                     f"{queues} → {cover}").classes("text-sm")


def _hot(wh: Any, tenant: str) -> list[Any]:
    return hot.detect_for_tenant(session.store(), tenant, wh=wh)


@ui.page("/kb")
async def kb_page(words: str = "", business: str = "", contact: str = "") -> None:
    """The agents' search-and-answer panel. ``/kb?words=...&business=...&contact=...`` opens it with the
    suggestions for that contact already made (how the customer view links to it)."""
    ctx = session.require(Permission.kb_read)
    if ctx is None:
        return
    loc = ctx.locale
    frame(ctx, "kb_nav")
    try:
        topics = await session.warehouse_call(_hot, ctx.tenant_id)
    except CallopsError:
        topics = []
    hot_banner(ctx, topics)
    if ctx.can(Permission.kb_author) or ctx.can(Permission.kb_review):
        ui.link(t("kb_authors", loc), "/knowledge").classes("text-primary")
    aud_opts = {"": t("kb_any", loc), **{a.value: t(f"kb_aud_{a.value}", loc) for a in Audience}}
    with ui.card().classes("w-full"):
        ui.label(t("kb_search", loc)).classes("text-h6")
        with ui.row().classes("w-full items-end gap-2 flex-wrap"):
            q = data_attrs(ui.input(t("kb_query", loc)).props("outlined dense clearable").classes(
                "grow min-w-[220px]"), test="kb-query")
            aud = ui.select(aud_opts, value="", label=t("kb_audience", loc)).props("dense outlined").classes("w-36")
            btn = data_attrs(ui.button(icon="search").props("unelevated"), test="kb-search")
        results = ui.column().classes("w-full gap-2")

    async def do_search() -> None:
        results.clear()
        try:
            res = await run.io_bound(service.search, session.store(), ctx.tenant_id, q.value or "",
                                     audience=aud.value or None, author_view=ctx.can(Permission.kb_author),
                                     actor=ctx.user_name)
        except CallopsError as exc:
            with results:
                data_attrs(ui.label(str(exc)).classes("text-negative"), test="kb-error")
            return
        with results:
            if not res.hits:
                data_attrs(ui.label(t("kb_no_hits", loc)).classes("co-muted"), test="kb-empty")
            for h in res.hits:
                _hit_card(ctx, h, None)

    btn.on_click(checked(ctx, Permission.kb_read)(do_search))
    q.on("keydown.enter", checked(ctx, Permission.kb_read)(do_search))

    with ui.card().classes("w-full"):
        ui.label(t("kb_suggest", loc)).classes("text-h6")
        words_in = data_attrs(ui.textarea(t("kb_words", loc), value=words[:2000]).props(
            "outlined dense autogrow").classes("w-full"), test="kb-words")
        with ui.row().classes("w-full items-end gap-2 flex-wrap"):
            options = {"": "—", **{b: b for b in BUSINESS}}
            if business and business not in options:
                options[business] = business
            biz = ui.select(options, value=business, label=t("kb_business", loc)).props(
                "dense outlined").classes("w-40")
            contact_in = ui.input(t("kb_contact", loc), value=contact[:200]).props("dense outlined").classes("w-40")
            sbtn = data_attrs(ui.button(t("kb_suggest_btn", loc)).props("unelevated"), test="kb-suggest")
        suggestions = ui.column().classes("w-full gap-2")

    async def do_suggest() -> None:
        suggestions.clear()
        try:
            hits = await run.io_bound(assist.suggest, session.store(), ctx.tenant_id, words=words_in.value or None,
                                      business_type=biz.value or None, contact_id=contact_in.value or None,
                                      actor=ctx.user_name)
        except CallopsError as exc:
            with suggestions:
                ui.label(str(exc)).classes("text-negative")
            return
        with suggestions:
            if not hits:
                ui.label(t("kb_no_hits", loc)).classes("co-muted")
            for h in hits:
                _hit_card(ctx, h, contact_in)

    sbtn.on_click(checked(ctx, Permission.kb_read)(do_suggest))
    if words.strip() or business.strip():
        await do_suggest()
    use = await run.io_bound(assist.usage, session.store(), ctx.tenant_id)
    with ui.card().classes("w-full"):
        rate = use["link_rate"]
        ui.label(f"{t('kb_usage', loc)} · {t('kb_link_rate', loc)} "
                 f"{'-' if rate is None else f'{rate:.0%}'}").classes("text-h6")
        reuse = use["reuse"][:10]
        if reuse:
            ui.label(t("kb_reuse", loc)).classes("text-subtitle2")
            ui.echart({
                "grid": {"left": 110, "right": 16, "top": 8, "bottom": 24}, "tooltip": {"trigger": "axis"},
                "xAxis": {"type": "value"}, "yAxis": {"type": "category", "data": [r["id"] for r in reversed(reuse)]},
                "series": [{"type": "bar", "data": [r["contacts"] for r in reversed(reuse)]}],
            }).classes("w-full").style(f"height: {26 * len(reuse) + 50}px")  # fmt: skip
        if use["questions_without_answer"]:
            ui.label(t("kb_unanswered", loc)).classes("text-subtitle2")
            for r in use["questions_without_answer"][:10]:
                ui.label(f"{r['query']} × {r['count']}").classes("co-muted")
        if use["never_found"]:
            ui.label(t("kb_never_found", loc)).classes("text-subtitle2")
            ui.label(", ".join(use["never_found"][:30])).classes("co-muted")


def reranker_line(status: dict[str, Any] | None, loc: str, zone: str) -> str:
    """One line on the tenant's re-ranker: when, from how many questions, its held-out check, whether it is on."""
    if status is None:
        return t("kb_reranker_none", loc)
    before, after = status.get("holdout_index_only") or {}, status.get("holdout_reranked") or {}
    return (f"{t('kb_reranker_trained', loc)} {local_time(status['trained_at'], zone, '%Y-%m-%d %H:%M')} · "
            f"{status['queries']} {t('kb_reranker_questions', loc)} · {t('kb_reranker_holdout', loc)} "
            f"{before.get('mrr_at_10', '-')} → {after.get('mrr_at_10', '-')} · "
            f"{t('kb_reranker_active' if status['active'] else 'kb_reranker_inactive', loc)}")


def calendar_option(rows: list[Any], today: date) -> dict[str, Any]:
    """ECharts calendar heatmap: per day, articles whose verification falls due or whose validity ends."""
    counts: dict[str, int] = {}
    for r in rows:
        for d in (articles.verify_due(r).date(), r.valid_to):
            if d is not None:
                counts[d.isoformat()] = counts.get(d.isoformat(), 0) + 1
    start, end = today - timedelta(days=30), today + timedelta(days=90)
    data = [[k, v] for k, v in sorted(counts.items()) if start.isoformat() <= k <= end.isoformat()]
    return {
        "tooltip": {}, "visualMap": {"min": 0, "max": max([v for _, v in data], default=1), "show": False,
                                      "inRange": {"color": ["#fff3e0", "#e65100"]}},
        "calendar": {"range": [start.isoformat(), end.isoformat()], "cellSize": ["auto", 14], "left": 30,
                     "right": 10, "top": 24, "orient": "horizontal", "dayLabel": {"show": False}},
        "series": [{"type": "heatmap", "coordinateSystem": "calendar", "data": data}],
    }  # fmt: skip


@ui.page("/knowledge")
async def knowledge_page(article: str = "") -> None:
    """The authors' page: articles, editor (review, publish), expiry calendar, gap tasks (authors and reviewers)."""
    ctx = session.require(Permission.kb_read)
    if ctx is None:
        return
    if not (ctx.can(Permission.kb_author) or ctx.can(Permission.kb_review)):
        data_attrs(ui.label(t("no_permission", ctx.locale)).classes("text-negative text-lg m-8"), test="forbidden")
        return
    loc = ctx.locale
    frame(ctx, "kb_authors")
    store = session.store()
    with store.session() as s:
        rows = articles.list_articles(s, ctx.tenant_id)
        today = service.tenant_today(s, ctx.tenant_id)
        tasks = [(x.details.get("subject", x.title), x.owner, x.created_at) for x in hot.open_tasks(s, ctx.tenant_id)]
        current = next((r for r in rows if r.key == article), None)
        content = articles.content_of(current) if current else None
        history = [(v.version, v.state, v.actor, v.note) for v in articles.versions(s, ctx.tenant_id, article)
                   ] if current else []
        calendar = calendar_option(rows, today)
        table_rows = [{"id": r.key, "title": r.title, "state": t(f"kb_state_{r.state}", loc), "owner": r.owner,
                       "due": articles.verify_due(r).date().isoformat(),
                       "valid_to": r.valid_to.isoformat() if r.valid_to else "",
                       "expired": "⚠" if articles.is_expired(r, today) else ""} for r in rows]
    ui.label(t("kb_calendar", loc)).classes("text-h6")
    ui.echart(calendar).classes("w-full h-40")
    if tasks:
        with ui.card().classes("w-full"):
            ui.label(t("kb_tasks", loc)).classes("text-h6")
            for subject, owner, _created in tasks:
                data_attrs(ui.label(f"{t('kb_gap_task', loc)}: {subject} → {owner}"), test="kb-task")
    with ui.card().classes("w-full"):
        ui.label(t("kb_reranker", loc)).classes("text-h6")
        line = data_attrs(ui.label(reranker_line(training.status(store, ctx.tenant_id), loc,
                                                 session.tenant_zone(ctx.tenant_id))), test="kb-reranker")
        if ctx.can(Permission.kb_review):

            @checked(ctx, Permission.kb_review)
            async def retrain() -> None:
                try:
                    await run.io_bound(training.train, store, ctx.tenant_id, [], use_events=True,
                                       actor=ctx.user_name)
                except CallopsError as exc:
                    ui.notify(str(exc), type="warning")
                    return
                line.set_text(reranker_line(training.status(store, ctx.tenant_id), loc,
                                            session.tenant_zone(ctx.tenant_id)))

            data_attrs(ui.button(t("kb_retrain", loc), on_click=retrain).props("outline dense"), test="kb-retrain")
    with ui.card().classes("w-full"):
        ui.label(t("kb_edit", loc) + (f" · {article}" if current else f" · {t('kb_new', loc)}")).classes("text-h6")
        if current and content and content["valid_to"] and date.fromisoformat(content["valid_to"]) < today:
            data_attrs(ui.label(t("kb_expired", loc)).classes("text-white bg-orange-8 px-2 rounded"),
                       test="kb-expired")
        c = content or {"id": "", "title": "", "body": "", "phrasings": [], "tags": [], "audiences": ["agent"],
                        "language": "zh", "verify_every_days": 90, "valid_to": None, "state": "draft"}
        if current:
            ui.label(f"{t('kb_state', loc)}: {t('kb_state_' + current.state, loc)} · v{current.version}")
        f_id = ui.input(t("kb_id", loc), value=c["id"]).props("dense outlined").classes("w-full")
        f_title = ui.input(t("kb_title", loc), value=c["title"]).props("dense outlined").classes("w-full")
        f_body = ui.textarea(t("kb_body", loc), value=c["body"]).props("outlined autogrow").classes("w-full")
        f_phr = ui.textarea(t("kb_phrasings", loc), value="\n".join(c["phrasings"])).props(
            "outlined autogrow").classes("w-full")
        f_tags = ui.input(t("kb_tags", loc), value=", ".join(c["tags"])).props("dense outlined").classes("w-full")
        with ui.row().classes("w-full gap-2 flex-wrap"):
            f_aud = ui.select({a.value: t(f"kb_aud_{a.value}", loc) for a in Audience}, value=c["audiences"],
                              multiple=True, label=t("kb_audience", loc)).props("dense outlined").classes("w-64")
            f_lang = ui.select(list(articles.LANGUAGES), value=c["language"], label=t("kb_language", loc)).props(
                "dense outlined").classes("w-28")
            f_days = ui.number(t("kb_verify_days", loc), value=c["verify_every_days"], min=1, max=3650).props(
                "dense outlined").classes("w-36")
            f_valid = date_input(t("kb_valid_to", loc), loc, c["valid_to"] or "").props(
                "dense outlined").classes("w-44")

        def record(state: str) -> dict[str, Any]:
            return {"id": (f_id.value or "").strip(), "title": f_title.value or "", "body": f_body.value or "",
                    "phrasings": [p for p in (f_phr.value or "").splitlines() if p.strip()],
                    "tags": [x.strip() for x in (f_tags.value or "").split(",") if x.strip()],
                    "audiences": f_aud.value or [], "language": f_lang.value, "state": state,
                    "confidence": content["confidence"] if content else "wip",
                    "verify_every_days": int(f_days.value or 90), "valid_to": f_valid.value or None}

        def save(state: str) -> None:
            try:
                art = articles.parse_article(record(state))
                with store.session() as s:
                    articles.save_article(s, ctx.tenant_id, art, ctx.user_name,
                                          can_review=ctx.can(Permission.kb_review))
            except CallopsError as exc:
                ui.notify(str(exc), type="negative")
                return
            ui.notify(t("kb_saved", loc))
            ui.navigate.to(f"/knowledge?article={art.id}")

        def verify() -> None:
            with store.session() as s:
                articles.verify(s, ctx.tenant_id, article, ctx.user_name)
            ui.navigate.to(f"/knowledge?article={article}")

        with ui.row().classes("gap-2 flex-wrap"):
            if ctx.can(Permission.kb_author):
                data_attrs(ui.button(t("kb_save", loc), on_click=checked(ctx, Permission.kb_author)(
                    lambda: save("draft"))).props("unelevated"), test="kb-save")
                ui.button(t("kb_submit", loc), on_click=checked(ctx, Permission.kb_author)(
                    lambda: save("in_review"))).props("outline")
            if ctx.can(Permission.kb_review):
                data_attrs(ui.button(t("kb_publish", loc), on_click=checked(ctx, Permission.kb_review)(
                    lambda: save("published"))).props("unelevated color=positive"), test="kb-publish")
                ui.button(t("kb_archive", loc), on_click=checked(ctx, Permission.kb_review)(
                    lambda: save("archived"))).props("outline color=grey")
            if current and ctx.can(Permission.kb_author):
                ui.button(t("kb_verify", loc), on_click=checked(ctx, Permission.kb_author)(verify)).props("flat")
        if history:
            ui.label(t("kb_versions", loc)).classes("text-subtitle2")
            for v, st, actor, note in history:
                ui.label(f"v{v} · {t('kb_state_' + st, loc)} · {actor} · {note or ''}").classes("co-muted")
    ui.label(t("kb_articles", loc)).classes("text-h6")
    cols = [{"name": k, "label": t(lab, loc), "field": k, "align": "left"} for k, lab in
            (("id", "kb_id"), ("title", "kb_title"), ("state", "kb_state"), ("owner", "kb_owner"),
             ("due", "kb_verify_due"), ("valid_to", "kb_valid_to"), ("expired", "kb_expired"))]  # fmt: skip
    table = empty_text(ui.table(columns=cols, rows=table_rows, row_key="id").classes("w-full").props("dense flat"),
                       loc)
    table.on("rowClick", checked(ctx, Permission.kb_read)(
        lambda e: ui.navigate.to(f"/knowledge?article={e.args[1]['id']}")))


async def customer_panel(ctx: session.Ctx, customer_id: str, decision: dict[str, Any] | None) -> None:
    """The knowledge suggestions on the customer view (``/value``): the articles for the customer's last contact
    reason and the decision at contact time (:func:`assist.for_customer`), with the agent's actions and a link to
    the answer panel preset with that contact. Returns at once: the card fills in once the browser is connected
    (a page must answer within NiceGUI's response timeout)."""
    loc = ctx.locale
    box = data_attrs(ui.card().classes("w-full"), test="kb-customer")
    with box:
        ui.label(t("kb_customer", loc)).classes("text-h6")
        ui.spinner()

    async def fill() -> None:
        try:
            got = await session.warehouse_call(assist.for_customer, session.store(), ctx.tenant_id, customer_id,
                                               decision=decision, actor=ctx.user_name)  # fmt: skip
        except CallopsError:
            got = {"contact": None, "hits": []}
        if got is None:  # the browser went away
            return
        last = got["contact"]
        box.clear()
        with box:
            title = t("kb_customer", loc)
            if last:
                title += f" · {last['contact_id']} · {last.get('business_type') or '—'}"
            ui.label(title).classes("text-h6")
            if not got["hits"]:
                ui.label(t("kb_customer_none" if not last else "kb_no_hits", loc)).classes("co-muted")
            contact = SimpleNamespace(value=last["contact_id"] if last else None)
            for h in got["hits"]:
                _hit_card(ctx, h, contact)
            if last:
                query = urlencode({"business": last.get("business_type") or "", "contact": last["contact_id"]})
                ui.link(t("kb_customer_open", loc), f"/kb?{query}").classes("text-primary")

    ui.timer(0.05, checked(ctx, Permission.kb_read)(fill), once=True)
