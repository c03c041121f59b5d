"""Every user-facing label of the console in English and Simplified Chinese, and time formatting in a zone.

``t(key, locale)`` looks a label up; a missing key is a programming error (KeyError) so that a label
can never silently appear in one language only. ``tests/ui`` checks both columns are filled.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime

LOCALES = ("en", "zh-CN")
DEFAULT_LOCALE = "en"

# key: (en, zh-CN)
LABELS: dict[str, tuple[str, str]] = {
    "app_title": ("callops console", "callops 运营控制台"),
    "sign_in": ("Sign in", "登录"),
    "sign_out": ("Sign out", "退出登录"),
    "user_name": ("User name", "用户名"),
    "token": ("API token", "API 令牌"),
    "token_hint": ("The token printed by `callops user create`", "`callops user create` 输出的令牌"),
    "bad_login": ("Unknown user or invalid, revoked or expired token", "用户名或令牌无效（或已撤销、过期）"),
    "tenant": ("Tenant", "租户"),
    "language": ("Language", "语言"),
    "role": ("Role", "角色"),
    "nav_top": ("TOP indicators", "核心指标"),
    "nav_trends": ("Trends & rankings", "趋势与排名"),
    "nav_live": ("Live wallboard", "实时监控墙"),
    "nav_alerts": ("Alerts & plans", "告警与预案"),
    "nav_wfm": ("Workforce", "排班与人力"),
    "nav_reference": ("Metric reference", "指标说明"),
    "no_permission": ("Your role may not open this page.", "您的角色无权访问此页面。"),
    "period": ("Period", "周期"),
    "day": ("Day", "日"),
    "week": ("Week", "周"),
    "month": ("Month", "月"),
    "quarter": ("Quarter", "季度"),
    "year": ("Year", "年"),
    "hour": ("Hour", "小时"),
    "interval:30": ("30 min", "30 分钟"),
    "interval:15": ("15 min", "15 分钟"),
    "as_of": ("As of", "截至"),
    "previous": ("Previous", "上期"),
    "change": ("Change", "变化"),
    "target": ("Target", "目标"),
    "met": ("Target met", "达标"),
    "missed": ("Target missed", "未达标"),
    "wall_mode": ("Wall display", "大屏轮播"),
    "exit_wall": ("Exit wall display", "退出大屏"),
    "no_data": ("No data for this selection.", "所选范围内没有数据。"),
    "metric": ("Metric", "指标"),
    "grain": ("Grain", "粒度"),
    "dimension": ("Dimension", "维度"),
    "none": ("(none)", "（无）"),
    "start": ("From", "开始日期"),
    "end": ("To", "结束日期"),
    "compare": ("Compare with", "对比"),
    "compare_none": ("No comparison", "不对比"),
    "compare_previous": ("Previous period", "上一周期"),
    "compare_year": ("Same period last year", "去年同期"),
    "top_n": ("TOP-N ranking", "TOP-N 排名"),
    "chart_line": ("Line", "折线图"),
    "chart_bar": ("Bar", "柱状图"),
    "show": ("Show", "查询"),
    "export_xlsx": ("Export Excel", "导出 Excel"),
    "export_csv": ("Export CSV", "导出 CSV"),
    "drill_down": ("Contacts behind the number", "明细联络记录"),
    "drill_hint": ("Click a point or bar to list its contacts.", "点击图中的点或柱查看对应的联络记录。"),
    "rank": ("Rank", "排名"),
    "value": ("Value", "数值"),
    "center": ("Center", "中心"),
    "queue": ("Queue", "队列"),
    "channel": ("Channel", "渠道"),
    "direction": ("Direction", "方向"),
    "business_type": ("Business type", "业务类型"),
    "team": ("Team", "班组"),
    "agent": ("Agent", "坐席"),
    "waiting": ("Waiting", "排队数"),
    "longest_wait_s": ("Longest wait", "最长等待"),
    "service_level_30m": ("Service level 30 min", "30 分钟服务水平"),
    "answer_rate_30m": ("Answer rate 30 min", "30 分钟接通率"),
    "offered_30m": ("Offered 30 min", "30 分钟呼入量"),
    "agents_ready": ("Ready", "空闲"),
    "agents_busy": ("Busy", "通话"),
    "agents_acw": ("After-call work", "话后处理"),
    "agents_aux": ("Aux", "小休"),
    "agents_working": ("Logged in", "在线"),
    "occupancy": ("Occupancy", "占用率"),
    "scope_queue": ("Queue", "队列"),
    "scope_center": ("Center", "中心"),
    "scope_channel": ("Channel", "渠道"),
    "scope_region": ("Region", "区域"),
    "live_updated": ("Live — updated", "实时 — 更新于"),
    "live_empty": ("No live events yet for this tenant.", "该租户尚无实时事件。"),
    "level_yellow": ("Yellow", "黄色"),
    "level_orange": ("Orange", "橙色"),
    "level_red": ("Red", "红色"),
    "level_black": ("Black", "黑色"),
    "level_none": ("Normal", "正常"),
    "alerts_open": ("Open alerts", "未关闭告警"),
    "alerts_none": ("No open alerts.", "当前没有未关闭的告警。"),
    "acknowledge": ("Acknowledge", "确认"),
    "resolve": ("Resolve", "解除"),
    "resolve_note": ("Resolution note", "解除说明"),
    "acknowledged_by": ("Acknowledged by", "确认人"),
    "status": ("Status", "状态"),
    "opened_at": ("Opened", "开始时间"),
    "rule": ("Rule", "规则"),
    "history": ("Level history", "级别变化"),
    "plans_active": ("Active plans", "执行中的预案"),
    "plans_none": ("No active plans.", "当前没有执行中的预案。"),
    "step": ("Step", "步骤"),
    "approve": ("Approve", "批准"),
    "reject": ("Reject", "驳回"),
    "recommended_agents": ("Recommended agents", "推荐坐席"),
    "expected_effect": ("Expected effect", "预期效果"),
    "projected_sl": ("Projected service level", "预计服务水平"),
    "audit": ("Audit trail", "审计记录"),
    "at": ("Time", "时间"),
    "actor": ("By", "操作人"),
    "action": ("Action", "操作"),
    "object": ("Object", "对象"),
    "done": ("Done", "已完成"),
    "forecast_vs_actual": ("Forecast vs actual contacts", "预测与实际话务量"),
    "forecast": ("Forecast", "预测"),
    "actual": ("Actual", "实际"),
    "required_vs_scheduled": ("Required vs scheduled agents", "需求人数与排班人数"),
    "required": ("Required", "需求"),
    "scheduled": ("Scheduled", "已排班"),
    "schedules_gantt": ("Schedules by team", "按班组排班甘特图"),
    "no_forecast": (
        "No forecast snapshot yet — run `callops forecast` or the button below.",
        "尚无预测快照 — 运行 `callops forecast` 或点击下方按钮。",
    ),
    "run_forecast": ("Forecast and staff the next 7 days", "预测并计算未来 7 天人力需求"),
    "running": ("Running…", "运行中…"),
    "no_schedules": ("No saved schedules for this week.", "本周没有已保存的排班。"),
    "week_of": ("Week of", "周起始"),
    "search": ("Search", "搜索"),
    "formula": ("Formula", "公式"),
    "parameters": ("Parameters", "参数"),
    "sql": ("SQL", "SQL"),
    "unit": ("Unit", "单位"),
    "better": ("Better", "方向"),
    "description": ("Description", "说明"),
    "metrics_count": ("metrics", "个指标"),
    "error": ("Error", "错误"),
    "contact_id": ("Contact", "联络编号"),
    "offered_at": ("Offered at", "进线时间"),
    "outcome": ("Outcome", "结果"),
    "wait_s": ("Wait (s)", "等待（秒）"),
    "talk_s": ("Talk (s)", "通话（秒）"),
    "rows_shown": ("rows shown", "行"),
    "activity": ("Activity", "活动"),
    "work": ("Work", "工作"),
    "break": ("Break", "休息"),
    "lunch": ("Lunch", "午餐"),
    "training": ("Training", "培训"),
    "meeting": ("Meeting", "会议"),
    "off": ("Off", "休假"),
}


# Values the live engine reports (plan step kinds and statuses, alert statuses and event kinds), by group.
VALUE_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "step": {
        "move_within_region": ("Move staff within the region", "区域内调配人员"),
        "ivr_self_service": ("IVR self-service ahead of the queue", "排队前启用IVR自助服务"),
        "pull_outbound": ("Pull in outbound staff", "抽调外呼人员"),
        "stop_cross_sell": ("Stop cross-selling on inbound calls", "暂停呼入交叉营销"),
        "dispatch_across_centers": ("Dispatch across regions/centers", "跨区域/跨中心调度"),
        "dispatch_across_skills": ("Dispatch across skills", "跨技能调度"),
    },
    "step_status": {
        "proposed": ("proposed", "建议"),
        "applied": ("applied", "已执行"),
        "pending_approval": ("waiting for approval", "待审批"),
        "approved": ("approved", "已批准"),
        "rejected": ("rejected", "已驳回"),
    },
    "alert_status": {
        "open": ("open", "未处理"),
        "acknowledged": ("acknowledged", "已确认"),
        "resolved": ("resolved", "已解决"),
        "cleared": ("cleared", "已消除"),
    },
    "alert_event": {
        "raised": ("raised", "触发"),
        "escalated": ("escalated", "升级"),
        "de-escalated": ("de-escalated", "降级"),
        "cleared": ("cleared", "消除"),
        "acknowledged": ("acknowledged", "确认"),
        "resolved": ("resolved", "解决"),
    },
}


def register_labels(labels: dict[str, tuple[str, str]]) -> None:
    """Add a domain page's labels (key: (en, zh-CN)) to :data:`LABELS`; a key may not change meaning.

    Each console page module of a domain package keeps its labels beside its code and registers them at import.
    """
    for key, pair in labels.items():
        if len(pair) != 2 or not all(isinstance(x, str) and x for x in pair):
            raise ValueError(f"label {key!r} needs a non-empty English and Chinese text")
        if key in LABELS and LABELS[key] != pair:
            raise ValueError(f"label {key!r} is already registered with another text")
        LABELS[key] = pair


def value_label(group: str, value: str, locale: str = DEFAULT_LOCALE) -> str:
    """A reported value of ``group`` (``step``, ``step_status``, ``alert_status``, ``alert_event``) in ``locale``.

    An unknown value is shown as it is (a plan file may name a step kind a newer engine added).
    """
    pair = VALUE_LABELS[group].get(value)
    if pair is None:
        return value
    return pair[1] if locale == "zh-CN" else pair[0]


def t(key: str, locale: str = DEFAULT_LOCALE) -> str:
    """The label ``key`` in ``locale`` (``en`` or ``zh-CN``)."""
    en, zh = LABELS[key]
    return zh if locale == "zh-CN" else en


def metric_label(metric: object, locale: str) -> str:
    """A catalog metric's label (``metric.label`` has ``en`` and ``zh``) in ``locale``."""
    label = metric.label  # type: ignore[attr-defined]
    return label.zh if locale == "zh-CN" else label.en


def local_time(value: datetime | float | int | str | None, zone: str, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """An instant (datetime, epoch seconds or ISO text) as wall-clock text in ``zone``; '' for None."""
    if value is None or value == "":
        return ""
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(value, UTC)
    elif isinstance(value, str):
        value = datetime.fromisoformat(value)
    elif isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zoneinfo.ZoneInfo(zone)).strftime(fmt)


def change(value: float | int | None, unit: str = "", digits: int = 1) -> str:
    """A period-over-period difference with its sign; ratios in percentage points (pp), not percent."""
    if value is None or value != value:
        return "—"
    sign = "+" if value > 0 else ""
    if unit in ("ratio", "share", "percent", "rate"):
        return f"{sign}{value * 100:.{digits}f} pp"
    return sign + number(value, unit, digits)


def number(value: float | int | None, unit: str = "", digits: int = 1) -> str:
    """A metric value for display: ratios as percentages, seconds with 's', counts with separators."""
    if value is None or value != value:
        return "—"
    if unit in ("ratio", "share", "percent", "rate"):
        return f"{value * 100:.{digits}f}%"
    if unit in ("s", "seconds"):
        return f"{value:,.0f} s"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"
