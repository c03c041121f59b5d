"""The roster of a scenario: agents with skills, teams, contracts, emergency echelons and daily shifts.

Each agent of a group works ``days_per_week`` days a week (its days off rotate with the agent's
position so every weekday is covered) on one shift template per week drawn with the group's
shares. Shift times are local wall-clock times turned into seconds since the run start, so a run
in any zone keeps the shape (China has no DST). A night shift of the day before the run is
included so the first night is covered.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
import pyarrow as pa

from callops.sim.agents import AgentSpec, Break, Shift
from callops.sim.scenario import Scenario

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍" \
    "红娥玲芬燕彬鹏辉浩宇欣怡梓涵子轩雨晨思远嘉琪佳慧婷雪琳"


@dataclass
class Roster:
    """Agents for the engine and the canonical ``agents`` table."""

    specs: list[AgentSpec]
    table: pa.Table


def _local_midnights(start: datetime, first: date, days: range, zone: zoneinfo.ZoneInfo) -> dict[int, float]:
    return {d: (datetime.combine(first + timedelta(days=d), time(0), tzinfo=zone) - start).total_seconds()
            for d in days}


def build_roster(scenario: Scenario, start: datetime, days: int, rng: np.random.Generator) -> Roster:
    """Agents of every group with their shifts over ``days`` local days from ``start`` (a local midnight)."""
    zone = zoneinfo.ZoneInfo(scenario.timezone)
    first = start.astimezone(zone).date()
    midnight = _local_midnights(start, first, range(-1, days), zone)
    templates = {s.name: s for s in scenario.shifts}
    weeks = (days + 1) // 7 + 2
    specs: list[AgentSpec] = []
    rows: dict[str, list] = {k: [] for k in ("agent_id", "name", "center", "team", "skills", "hire_date",
                                              "contract", "emergency_echelon", "active")}
    n = 0
    for g in scenario.agent_groups:
        names = list(g.shifts)
        shares = np.array([g.shifts[s] for s in names], dtype=float)
        shares /= shares.sum()
        ech_levels = [*g.echelons, None]
        ech_p = [*g.echelons.values(), max(0.0, 1.0 - sum(g.echelons.values()))]
        contracts = list(g.contracts)
        con_p = np.array([g.contracts[c] for c in contracts], dtype=float)
        for k in range(g.count):
            n += 1
            agent_id = f"A{n:04d}"
            # Skill levels vary by one around the group's level for about a third of the agents.
            skills = {q: int(np.clip(lvl + rng.choice((-1, 0, 0, 0, 0, 1)), 1, 5)) for q, lvl in g.skills.items()}
            week_shift = rng.choice(len(names), size=weeks, p=shares)
            off_start = (k * 2) % 7  # rotating days off
            off = {(off_start + j) % 7 for j in range(7 - g.days_per_week)}
            shifts = []
            for d in range(-1, days):
                weekday = (first + timedelta(days=d)).weekday()
                if weekday in off:
                    continue
                tpl = templates[names[week_shift[(d + 1) // 7]]]
                if d < 0 and tpl.start_h + tpl.hours <= 24:
                    continue  # of the day before the run only night shifts reach into it
                s0 = midnight[d] + tpl.start_h * 3600.0
                breaks = tuple(Break(b.activity.value, s0 + b.after_h * 3600.0,
                                     s0 + b.after_h * 3600.0 + b.minutes * 60.0) for b in tpl.breaks)
                shifts.append(Shift(s0, s0 + tpl.hours * 3600.0, breaks, None))
            center = g.center
            specs.append(AgentSpec(agent_id, skills, center=center, chat_capacity=g.chat_capacity,
                                   shifts=tuple(shifts)))
            tenure_days = int(rng.exponential(g.tenure_years * 365.0)) + 30
            rows["agent_id"].append(agent_id)
            rows["name"].append(_SURNAMES[rng.integers(len(_SURNAMES))]
                                + "".join(_GIVEN[i] for i in rng.integers(len(_GIVEN), size=rng.integers(1, 3))))
            rows["center"].append(center)
            rows["team"].append(f"{g.name}-{k // g.team_size + 1:02d}")
            rows["skills"].append(specs[-1].skills_text())
            rows["hire_date"].append(first - timedelta(days=tenure_days))
            rows["contract"].append(contracts[int(rng.choice(len(contracts), p=con_p / con_p.sum()))])
            echelon = ech_levels[int(rng.choice(len(ech_levels), p=np.array(ech_p) / sum(ech_p)))]
            rows["emergency_echelon"].append(echelon)
            rows["active"].append(True)
    table = pa.table({
        "agent_id": pa.array(rows["agent_id"], pa.string()), "name": pa.array(rows["name"], pa.string()),
        "center": pa.array(rows["center"], pa.string()), "team": pa.array(rows["team"], pa.string()),
        "skills": pa.array(rows["skills"], pa.string()), "hire_date": pa.array(rows["hire_date"], pa.date32()),
        "contract": pa.array(rows["contract"], pa.string()),
        "emergency_echelon": pa.array(rows["emergency_echelon"], pa.int64()),
        "active": pa.array(rows["active"], pa.bool_()),
    })  # fmt: skip
    return Roster(specs, table)
