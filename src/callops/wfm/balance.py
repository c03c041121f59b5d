"""The V3 workforce balance model (人力资源配置模型): headcount for a workload, and the workload a headcount carries.

The source (seed 000, "其三，沉淀人力资源配置模型") writes the resource formula as::

    人员数 × 在线利用率 × 出勤率 × 排班时长 × 冗余损耗
        = (话务量 × 接通率 × 服务话务占比 × 服务单通) + (营销弹窗率 × 营销推荐率 × 营销单通)

i.e. ``staff × online utilisation × attendance × scheduled hours × (1 − loss) = volume × answer rate ×
service share × service handle time + marketing pop-up rate × marketing recommendation rate × marketing handle
time``. The left side is the agent time available for handling; the right side is the handling time the
service and marketing work need. Two readings make it computable, both stated here and in every output:

* **Loss.** The seed multiplies by "冗余损耗" (redundancy loss); MISSION.md writes it as ``(1 − loss)``, so
  ``loss`` is the share of attended, on-line time lost anyway (system outages, coaching, ramp-up) and
  ``1 − loss`` the factor applied.
* **What the marketing rates apply to.** ``pop-up rate × recommendation rate × handle time`` is time *per
  contact*, so the marketing term needs a base of contacts. By default it is the answered contacts
  (``volume × answer rate``): the marketing window pops up on a share of answered calls and the agent
  recommends on a share of the pop-ups. ``marketing_contacts`` overrides the base (e.g. only service calls,
  ``volume × answer rate × service share``, or a campaign's own contact count).

Units: ``volume`` (and ``marketing_contacts``) are contacts in the planning period, ``scheduled_hours`` are
the hours one person is scheduled in the *same* period (e.g. a month: 21.75 days × 8 h), handle times are
seconds. Workload and capacity are reported in agent hours.

Resource comparison (the seed's "结算单价、执行效率和员工效益": unit price, execution efficiency, staff yield)
is :func:`compare`: for each of service and marketing its paid agent hours (handling hours divided by the
productive share ``online utilisation × attendance × (1 − loss)``), the headcount it ties up, contacts per
paid agent hour (efficiency), revenue per paid agent hour (yield), cost per contact and net yield per hour.
Service follows the seed's priority rule ("在优先满足服务资源需求的基础上"): service demand is met first, and
:func:`carry_workload` reports the hours a headcount has left for marketing and how many recommendations fit.

The marketing figures need not be constants (issue 12): ``callops staffing balance --marketing-from TENANT``,
``callops campaign balance`` and ``GET /api/campaigns/service-vs-marketing`` fill them from the tenant's contacts
(:func:`callops.marketing.campaigns.balance_figures`: pop-up rate = handled contacts with an offer / handled,
recommendation rate = pitched / popped up, marketing handle = the agent seconds the campaign evaluation charges per
pitch, success rate, price and commission of the accepted offers).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from callops.errors import CallopsError

SECONDS_PER_HOUR = 3600.0


def _p(zh: str, en: str, description: str, **kw: Any) -> Any:
    """A pydantic field carrying its Chinese and English labels (``json_schema_extra``)."""
    return Field(description=description, json_schema_extra={"zh": zh, "en": en}, **kw)


class BalanceInputs(BaseModel):
    """Every parameter of the seed's resource formula, plus the prices and costs of the comparison."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # --- left side: supply
    staff: float | None = _p(
        "人员数", "staff (headcount)", "Agents on the payroll for the queue(s).", default=None, ge=0
    )
    online_utilisation: float = _p(
        "在线利用率",
        "online utilisation",
        "Share of logged-in time spent handling contacts (talk, hold, after-contact work).",
        default=0.85,
        gt=0,
        le=1,
    )
    attendance: float = _p(
        "出勤率", "attendance rate", "Share of scheduled time actually attended.", default=0.95, gt=0, le=1
    )
    scheduled_hours: float = _p(
        "排班时长", "scheduled hours", "Hours one person is scheduled in the planning period.", default=174.0, gt=0
    )
    loss: float = _p(
        "冗余损耗",
        "redundancy loss",
        "Share of attended on-line time lost anyway (outages, coaching, ramp-up); the formula uses (1 − loss).",
        default=0.0,
        ge=0,
        lt=1,
    )
    # --- right side: service demand
    volume: float | None = _p("话务量", "volume", "Offered contacts in the planning period.", default=None, ge=0)
    answer_rate: float = _p("接通率", "answer rate", "Share of offered contacts answered.", default=0.9, ge=0, le=1)
    service_share: float = _p(
        "服务话务占比", "service share", "Share of answered contacts that are service work.", default=1.0, ge=0, le=1
    )
    service_handle_s: float = _p(
        "服务单通", "service handle time", "Average handle time of one service contact, seconds.", default=300.0, ge=0
    )
    # --- right side: marketing demand
    marketing_popup_rate: float = _p(
        "营销弹窗率",
        "marketing pop-up rate",
        "Share of base contacts on which the marketing window pops up.",
        default=0.0,
        ge=0,
        le=1,
    )
    marketing_recommend_rate: float = _p(
        "营销推荐率",
        "marketing recommendation rate",
        "Share of pop-ups on which the agent actually recommends.",
        default=0.0,
        ge=0,
        le=1,
    )
    marketing_handle_s: float = _p(
        "营销单通", "marketing handle time", "Extra handle time of one recommendation, seconds.", default=0.0, ge=0
    )
    marketing_contacts: float | None = _p(
        "营销基数",
        "marketing base contacts",
        "Contacts the pop-up rate applies to; default: answered contacts (volume × answer rate).",
        default=None,
        ge=0,
    )
    # --- comparison: prices and costs
    service_unit_price: float = _p(
        "服务结算单价", "service unit price", "Settlement price earned per answered service contact.", default=0.0, ge=0
    )
    marketing_unit_price: float = _p(
        "营销业务单价", "marketing unit price", "Price (revenue) of one successful sale.", default=0.0, ge=0
    )
    marketing_success_rate: float = _p(
        "营销成功率", "marketing success rate", "Share of recommendations that end in a sale.", default=0.0, ge=0, le=1
    )
    marketing_commission: float = _p(
        "营销酬金", "marketing commission", "Commission paid per successful sale.", default=0.0, ge=0
    )
    agent_cost_per_hour: float = _p(
        "人工小时成本", "agent cost per hour", "Fully loaded cost of one paid agent hour.", default=0.0, ge=0
    )

    @model_validator(mode="after")
    def _finite(self) -> BalanceInputs:
        for name, value in self.__dict__.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number")
        return self

    @property
    def productive_share(self) -> float:
        """``online utilisation × attendance × (1 − loss)``: handling hours per scheduled hour."""
        return self.online_utilisation * self.attendance * (1.0 - self.loss)


def labels() -> dict[str, dict[str, str]]:
    """``{parameter: {"zh", "en", "description"}}`` for every input, in declaration order."""
    out = {}
    for name, f in BalanceInputs.model_fields.items():
        extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
        out[name] = {"zh": str(extra.get("zh", "")), "en": str(extra.get("en", "")), "description": f.description or ""}
    return out


def make_inputs(**values: Any) -> BalanceInputs:
    """:class:`BalanceInputs` from keyword values (``None`` means default); a CallopsError names a bad one."""
    clean = {k: v for k, v in values.items() if v is not None}
    try:
        return BalanceInputs(**clean)
    except ValidationError as exc:
        e = exc.errors()[0]
        where = ".".join(str(x) for x in e.get("loc", ())) or "input"
        label = labels().get(where, {}).get("en", where)
        raise CallopsError(f"balance model: {label} ({where}): {e['msg']}") from None


# ------------------------------------------------------------------------------------------------- workload
def _base_contacts(p: BalanceInputs, volume: float) -> float:
    return p.marketing_contacts if p.marketing_contacts is not None else volume * p.answer_rate


def service_contacts(p: BalanceInputs, volume: float) -> float:
    """Answered service contacts: ``volume × answer rate × service share``."""
    return volume * p.answer_rate * p.service_share


def recommendations(p: BalanceInputs, volume: float) -> float:
    """Marketing recommendations: ``base contacts × pop-up rate × recommendation rate``."""
    return _base_contacts(p, volume) * p.marketing_popup_rate * p.marketing_recommend_rate


def service_hours(p: BalanceInputs, volume: float) -> float:
    """Handling hours of the service work (right side, first term)."""
    return service_contacts(p, volume) * p.service_handle_s / SECONDS_PER_HOUR


def marketing_hours(p: BalanceInputs, volume: float) -> float:
    """Handling hours of the marketing work (right side, second term)."""
    return recommendations(p, volume) * p.marketing_handle_s / SECONDS_PER_HOUR


def capacity_hours(p: BalanceInputs, staff: float) -> float:
    """Handling hours a headcount supplies (left side): ``staff × utilisation × attendance × hours × (1 − loss)``."""
    return staff * p.scheduled_hours * p.productive_share


# ------------------------------------------------------------------------------------------------ directions
def required_headcount(p: BalanceInputs) -> dict[str, Any]:
    """Direction (a): the headcount that makes both sides equal for ``p.volume``; exact and rounded up."""
    if p.volume is None:
        raise CallopsError("balance model: give the volume (话务量) to solve for headcount")
    s_h, m_h = service_hours(p, p.volume), marketing_hours(p, p.volume)
    per_person = p.scheduled_hours * p.productive_share
    exact = (s_h + m_h) / per_person
    return {
        "solve": "headcount",
        "volume": p.volume,
        "service_contacts": service_contacts(p, p.volume),
        "recommendations": recommendations(p, p.volume),
        "service_hours": s_h,
        "marketing_hours": m_h,
        "workload_hours": s_h + m_h,
        "handling_hours_per_person": per_person,
        "headcount_exact": exact,
        "headcount": math.ceil(exact - 1e-9),
        "service_headcount": s_h / per_person,
        "marketing_headcount": m_h / per_person,
    }


def carry_workload(p: BalanceInputs) -> dict[str, Any]:
    """Direction (b): the workload ``p.staff`` can carry.

    ``max_volume`` is the offered volume at which both sides are equal with every rate as given (marketing grows
    with volume unless ``marketing_contacts`` fixes its base). With ``p.volume`` given, service is served first:
    ``spare_hours_for_marketing`` = capacity − service hours, ``max_recommendations`` = the recommendations those
    hours hold, and ``load`` = workload / capacity (above 1: the headcount is short).
    """
    if p.staff is None:
        raise CallopsError("balance model: give the staff (人员数) to solve for the workload it carries")
    cap = capacity_hours(p, p.staff)
    per_volume_service = p.answer_rate * p.service_share * p.service_handle_s / SECONDS_PER_HOUR
    if p.marketing_contacts is None:
        per_volume = per_volume_service + p.answer_rate * p.marketing_popup_rate * p.marketing_recommend_rate * (
            p.marketing_handle_s / SECONDS_PER_HOUR
        )
        fixed = 0.0
    else:
        per_volume, fixed = per_volume_service, marketing_hours(p, 0.0)
    if per_volume <= 0:
        raise CallopsError("balance model: contacts need no handling time (answer rate, share or handle time is 0)")
    if fixed > cap:
        raise CallopsError(
            f"balance model: the fixed marketing work ({fixed:,.1f} h) exceeds the capacity ({cap:,.1f} h) alone"
        )
    out: dict[str, Any] = {
        "solve": "workload",
        "staff": p.staff,
        "capacity_hours": cap,
        "max_volume": (cap - fixed) / per_volume,
        "max_service_contacts": cap / (p.service_handle_s / SECONDS_PER_HOUR) if p.service_handle_s > 0 else None,
    }
    if p.volume is not None:
        s_h, m_h = service_hours(p, p.volume), marketing_hours(p, p.volume)
        spare = cap - s_h
        out.update(
            {
                "volume": p.volume,
                "service_hours": s_h,
                "marketing_hours": m_h,
                "workload_hours": s_h + m_h,
                "load": (s_h + m_h) / cap if cap > 0 else math.inf,
                "spare_hours_for_marketing": spare,
                "max_recommendations": (
                    max(spare, 0.0) / (p.marketing_handle_s / SECONDS_PER_HOUR) if p.marketing_handle_s > 0 else None
                ),
                "recommendations": recommendations(p, p.volume),
            }
        )
    return out


# ------------------------------------------------------------------------------------------------ comparison
def compare(p: BalanceInputs) -> dict[str, dict[str, float | None]]:
    """Service vs marketing input: paid hours, headcount, efficiency, yield and cost per contact (needs volume).

    Paid hours of a stream = its handling hours / productive share (the scheduled time it ties up). Yield per
    agent hour (员工效益) = revenue / paid hours; efficiency (执行效率) = contacts per paid hour; cost per contact =
    (paid hours × agent cost per hour + commissions) / contacts.
    """
    if p.volume is None:
        raise CallopsError("balance model: give the volume (话务量) to compare service and marketing")
    share = p.productive_share

    def stream(hours: float, contacts: float, revenue: float, extra_cost: float) -> dict[str, float | None]:
        paid = hours / share
        cost = paid * p.agent_cost_per_hour + extra_cost

        def per(x: float, d: float) -> float | None:
            return x / d if d > 0 else None

        return {
            "handling_hours": hours,
            "paid_hours": paid,
            "headcount": paid / p.scheduled_hours,
            "contacts": contacts,
            "contacts_per_agent_hour": per(contacts, paid),
            "revenue": revenue,
            "cost": cost,
            "yield_per_agent_hour": per(revenue, paid),
            "cost_per_contact": per(cost, contacts),
            "net_per_agent_hour": per(revenue - cost, paid),
        }

    rec = recommendations(p, p.volume)
    sales = rec * p.marketing_success_rate
    service = stream(
        service_hours(p, p.volume),
        service_contacts(p, p.volume),
        service_contacts(p, p.volume) * p.service_unit_price,
        0.0,
    )
    service["unit_price"] = p.service_unit_price
    marketing = stream(
        marketing_hours(p, p.volume), rec, sales * p.marketing_unit_price, sales * p.marketing_commission
    )
    marketing.update(
        {
            "unit_price": p.marketing_unit_price,
            "sales": sales,
            "sales_per_agent_hour": sales / marketing["paid_hours"] if marketing["paid_hours"] else None,
            "cost_per_sale": marketing["cost"] / sales if sales > 0 else None,
        }
    )
    return {"service": service, "marketing": marketing}


def solve(p: BalanceInputs, direction: Literal["headcount", "workload"]) -> dict[str, Any]:
    """One direction of the model plus the comparison (when a volume is known) and the inputs with labels."""
    if direction == "headcount":
        result = required_headcount(p)
    elif direction == "workload":
        result = carry_workload(p)
    else:
        raise CallopsError(f"unknown direction {direction!r}; use headcount or workload")
    out: dict[str, Any] = {
        "formula": "staff × online_utilisation × attendance × scheduled_hours × (1 − loss) = volume × answer_rate × "
        "service_share × service_handle_s + base × marketing_popup_rate × marketing_recommend_rate × "
        "marketing_handle_s (handle times in hours; base = marketing_contacts or volume × answer_rate)",
        "result": result,
        "inputs": p.model_dump(),
        "labels": labels(),
    }
    if p.volume is not None:
        out["comparison"] = compare(p)
    return out
