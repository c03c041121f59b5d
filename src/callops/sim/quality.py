"""QA evaluations and transcripts of a sample of handled voice and chat contacts.

A share ``sample_share`` of handled contacts gets a templated dialogue (Chinese; English for
queues with ``language: en``): the agent's greeting - the required phrase of the scenario, left
out with probability ``greeting_missing_p`` - the customer's request for the contact's business,
identity check, the agent's answer, sometimes (``forbidden_p``) a forbidden phrase such as
"不知道", and the closing. Utterance times split the talk time by text length.

Each sampled contact also gets a QA evaluation (one row per form item): ``greeting`` scores 0 when
the greeting is missing, ``compliance`` 0 when a forbidden phrase was said; the other items
depend on the agent's quality (a per-agent beta draw) and on whether the contact resolved. Evaluators differ:
evaluator *k* of the scenario's ``evaluators`` (in order) shifts the fraction of every judgement item (needs
analysis, solution, closing, identity check) by ``EVALUATOR_SEVERITY[k % 4]`` (lenient to strict); greeting and
compliance are facts and are not shifted.

:func:`simulate_panel` makes a QA panel whose truth is known (the agent levels and the evaluator severities), for
the tests and benchmark of the empirical-Bayes ranking: see its docstring.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

from callops.sim.frame import ContactFrame
from callops.sim.scenario import Scenario

EN_GREETING = "Hello, thank you for calling. How may I help you?"
EN_CLOSING = "Thank you for calling. Have a nice day."
EN_FORBIDDEN = ("I don't know", "There is nothing I can do")

_REQUESTS = {
    "billing": ["我想查一下这个月的话费怎么这么高", "上个月的账单有一笔费用我看不懂", "我的话费扣款好像多扣了"],
    "data_plan": ["我的流量用超了，想换个流量套餐", "流量包怎么办理", "为什么我的流量显示用完了"],
    "upgrade_5g": ["我想把套餐升级成5G的", "5G套餐有什么优惠吗", "我的手机能用5G网络吗"],
    "broadband": ["家里的宽带又断网了", "宽带网速特别慢", "我想预约宽带上门维修"],
    "complaint": ["我要投诉，问题反映了好几次都没解决", "你们的服务态度太差了", "乱扣费的问题一直没处理"],
    "vip_service": ["我是全球通客户，想咨询积分兑换", "帮我查一下我的专属优惠", "我想办理副卡"],
    "roaming": ["我下周出国，想开通国际漫游", "在国外手机没信号怎么办", "漫游资费是怎么收的"],
    "outbound_marketing": ["你好，哪位？", "什么活动？你说吧", "我现在有点忙，简单说一下"],
    "general": ["我想咨询一下业务", "我的手机号码停机了怎么回事", "怎么修改服务密码"],
    "app_request": ["我在APP上办理业务失败了", "APP一直提示系统错误", "APP上付款不成功"],
    "web_request": ["网上营业厅登录不了", "网页上办理业务一直失败", "网上缴费没有到账"],
    "sms_request": ["我发短信查询没有回复", "短信指令发了没用", "我收到一条扣费短信"],
}
_ANSWERS = {
    "billing": "我这边帮您查询了，这个月费用主要是超出套餐的语音费用，已经为您详细说明",
    "data_plan": "已经为您办理了流量包，下个月一号生效，本月也可以马上使用",
    "upgrade_5g": "您的手机支持5G，已经为您办理5G套餐升级，次月生效",
    "broadband": "已经为您登记了宽带故障，维修人员会在二十四小时内联系您",
    "complaint": "非常抱歉给您带来不便，您的问题我已经记录并升级处理，会在四十八小时内回复您",
    "vip_service": "已经为您查询了您的专属权益，积分可以兑换话费或者流量",
    "roaming": "已经为您开通国际漫游，建议您办理漫游流量包更划算",
    "outbound_marketing": "我们现在有一个5G升级优惠活动，每月只需多付一点就能享受更快的网络",
    "general": "这个业务我已经为您查询清楚了，按照提示操作就可以办理",
    "app_request": "APP办理失败是因为身份验证没有通过，我这边已经帮您处理好了",
    "web_request": "网上营业厅的问题已经为您反馈，您也可以通过APP办理",
    "sms_request": "短信查询指令已经为您重新发送，请注意查收",
}
_EN_REQUESTS = ["I'm a visitor and my SIM card has no signal", "How do I top up my account?",
                "I want to activate international roaming"]
_EN_ANSWER = "I have checked your account and activated the service for you."
# Fraction of an item's points each evaluator adds (lenient +) or takes away (strict -): real evaluator differences.
EVALUATOR_SEVERITY = (0.05, -0.06, 0.0, -0.02)
_FORBIDDEN_LINES = {"不知道": "这个我也不知道", "没办法": "这个我们没办法处理"}


def _agent_lines(forbidden: str) -> str:
    return _FORBIDDEN_LINES.get(forbidden, forbidden)


def generate_quality(frame: ContactFrame, scenario: Scenario, resolved: np.ndarray,
                     rng: np.random.Generator) -> dict[str, pa.Table]:
    """The ``transcripts`` and ``qa_evaluations`` tables of a sample of handled voice/chat contacts."""
    q = scenario.quality
    lang = {qc.name: qc.language for qc in scenario.queues}
    handled = (frame["outcome"] == "answered") | (frame["outcome"] == "transferred")
    chan_ok = np.isin(frame["channel"], ["voice", "chat"])
    sample = np.flatnonzero(handled & chan_ok & (rng.random(len(frame)) < q.sample_share))
    agents = sorted({a for a in frame["agent_id"][sample].tolist() if a})
    quality = dict(zip(agents, rng.beta(8.0, 2.0, len(agents)).tolist(), strict=True))
    t_rows: dict[str, list] = {k: [] for k in ("contact_id", "seq", "speaker", "start_s", "end_s", "text",
                                                "language")}
    e_rows: dict[str, list] = {k: [] for k in ("evaluation_id", "item", "contact_id", "agent_id", "evaluator",
                                                "evaluated_at", "score", "max_score", "weight")}
    missing_greeting = rng.random(len(sample)) < q.greeting_missing_p
    forbidden_said = rng.random(len(sample)) < q.forbidden_p
    forbidden_pick = rng.integers(0, max(1, len(q.forbidden)), len(sample))
    variant = rng.integers(0, 3, len(sample))
    u_items = rng.random((len(sample), len(q.items)))
    evaluator = rng.integers(0, len(q.evaluators), len(sample))
    delay_days = rng.uniform(0.5, 4.0, len(sample))
    severity = [EVALUATOR_SEVERITY[k % len(EVALUATOR_SEVERITY)] for k in range(len(q.evaluators))]
    cid, bt, qn, ag = (frame[k][sample].tolist() for k in ("contact_id", "business_type", "queue", "agent_id"))
    talk, ended, res = frame["talk_s"][sample].tolist(), frame["ended_at"][sample].tolist(), resolved[sample].tolist()
    horizon = float(np.nanmax(frame["ended_at"])) if len(frame) else 0.0
    for i in range(len(sample)):
        j = i
        en = lang.get(qn[i], "zh") == "en"
        business = bt[i] if bt[i] in _REQUESTS else "general"
        lines: list[tuple[str, str]] = []
        if en:
            lines.append(("agent", "Hello?" if missing_greeting[j] else EN_GREETING))
            lines.append(("customer", _EN_REQUESTS[variant[j]]))
            lines.append(("agent", "May I have the last four digits of your passport number?"))
            lines.append(("customer", "Sure, it is 4 7 1 2."))
            lines.append(("agent", EN_FORBIDDEN[forbidden_pick[j] % 2] if forbidden_said[j] else _EN_ANSWER))
            lines.append(("customer", "OK, thanks."))
            lines.append(("agent", EN_CLOSING))
        else:
            lines.append(("agent", "喂，请讲" if missing_greeting[j] else q.greeting))
            lines.append(("customer", _REQUESTS[business][variant[j]]))
            lines.append(("agent", "请问您是机主本人吗？麻烦提供一下身份证后四位"))
            lines.append(("customer", "是我本人，后四位是" + "".join(str(d) for d in rng.integers(0, 10, 4))))
            if forbidden_said[j] and q.forbidden:
                lines.append(("agent", _agent_lines(q.forbidden[forbidden_pick[j]])))
                lines.append(("customer", "那你们到底能不能解决？"))
            lines.append(("agent", _ANSWERS[business]))
            lines.append(("customer", "好的，谢谢" if res[i] else "还是没解决，我再打过来吧"))
            lines.append(("agent", q.closing))
        total = sum(len(text) for _, text in lines)
        length = float(talk[i]) if not math.isnan(talk[i]) else 60.0
        t = 0.0
        for seq, (speaker, text) in enumerate(lines):
            dur = length * len(text) / total
            t_rows["contact_id"].append(cid[i])
            t_rows["seq"].append(seq)
            t_rows["speaker"].append(speaker)
            t_rows["start_s"].append(round(t, 2))
            t_rows["end_s"].append(round(t + dur, 2))
            t_rows["text"].append(text)
            t_rows["language"].append("en" if en else "zh")
            t += dur
        aq = quality.get(ag[i], 0.8)
        when = min(float(ended[i]) + delay_days[j] * 86400.0, horizon)
        for k, item in enumerate(q.items):
            if item.item == "greeting":
                frac = 0.0 if missing_greeting[j] else 1.0
            elif item.item == "compliance":
                frac = 0.0 if forbidden_said[j] else 1.0
            elif item.item == "solution":
                frac = min(1.0, aq * (1.0 if res[i] else 0.6) + 0.2 * u_items[j, k] + severity[evaluator[j]])
            else:
                frac = min(1.0, aq + 0.25 * (u_items[j, k] - 0.5) + severity[evaluator[j]])
            e_rows["evaluation_id"].append(f"QA-{cid[i]}")
            e_rows["item"].append(item.item)
            e_rows["contact_id"].append(cid[i])
            e_rows["agent_id"].append(ag[i])
            e_rows["evaluator"].append(q.evaluators[evaluator[j]])
            e_rows["evaluated_at"].append(when)
            e_rows["score"].append(float(round(max(0.0, frac) * item.max_score)))
            e_rows["max_score"].append(item.max_score)
            e_rows["weight"].append(item.weight)
    transcripts = pa.table({
        "contact_id": pa.array(t_rows["contact_id"], pa.string()), "seq": pa.array(t_rows["seq"], pa.int64()),
        "speaker": pa.array(t_rows["speaker"], pa.string()), "start_s": pa.array(t_rows["start_s"], pa.float64()),
        "end_s": pa.array(t_rows["end_s"], pa.float64()), "text": pa.array(t_rows["text"], pa.string()),
        "language": pa.array(t_rows["language"], pa.string()),
    })  # fmt: skip
    evaluations = pa.table({
        "evaluation_id": pa.array(e_rows["evaluation_id"], pa.string()),
        "item": pa.array(e_rows["item"], pa.string()),
        "contact_id": pa.array(e_rows["contact_id"], pa.string()),
        "agent_id": pa.array(e_rows["agent_id"], pa.string()),
        "evaluator": pa.array(e_rows["evaluator"], pa.string()),
        "evaluated_at": frame.timestamps(np.array(e_rows["evaluated_at"], dtype=float)),
        "score": pa.array(e_rows["score"], pa.float64()),
        "max_score": pa.array(e_rows["max_score"], pa.float64()),
        "weight": pa.array(e_rows["weight"], pa.float64()),
    })  # fmt: skip
    return {"transcripts": transcripts, "qa_evaluations": evaluations}


def simulate_panel(
    agents: int = 40,
    evaluators: int = 5,
    *,
    seed: int = 0,
    level_mean: float = 82.0,
    level_sd: float = 5.0,
    noise_sd: float = 10.0,
    severity_sd: float = 5.0,
    min_n: int = 1,
    max_n: int = 40,
    periods: int = 1,
) -> dict:
    """Evaluation scores (0-100) of ``agents`` agents by ``evaluators`` evaluators, with the truth known.

    Causal structure (what a ranking should recover, and what it must not read):

    * agent *i* has a true level ``θ_i ~ N(level_mean, level_sd²)``, the same in every period;
    * evaluator *e* has a severity ``b_e ~ N(0, severity_sd²)`` (centred to mean 0);
    * agent *i* gets ``n_i`` evaluations per period, ``n_i`` uniform on ``min_n..max_n`` (unequal on purpose:
      a few evaluations make a raw mean extreme by chance), each by an evaluator drawn uniformly;
    * a score is ``clip(θ_i + b_e + ε, 0, 100)`` with ``ε ~ N(0, noise_sd²)``.

    Returns ``rows`` (dicts with ``evaluation_id, agent_id, evaluator, period, score``), ``levels`` (agent → θ)
    and ``severity`` (evaluator → b).
    """
    rng = np.random.default_rng(seed)
    names = [f"A{i:03d}" for i in range(agents)]
    evs = [f"qa{e:02d}" for e in range(evaluators)]
    theta = rng.normal(level_mean, level_sd, agents)
    sev = rng.normal(0.0, severity_sd, evaluators)
    sev -= sev.mean()
    n = rng.integers(min_n, max_n + 1, agents)
    rows = []
    for p in range(periods):
        for i, a in enumerate(names):
            who = rng.integers(0, evaluators, n[i])
            eps = rng.normal(0.0, noise_sd, n[i])
            for j in range(n[i]):
                score = float(np.clip(theta[i] + sev[who[j]] + eps[j], 0.0, 100.0))
                rows.append({"evaluation_id": f"P{p}-{a}-{j}", "agent_id": a, "evaluator": evs[who[j]],
                             "period": p, "score": score})  # fmt: skip
    return {"rows": rows, "levels": dict(zip(names, theta.tolist(), strict=True)),
            "severity": dict(zip(evs, sev.tolist(), strict=True))}  # fmt: skip
