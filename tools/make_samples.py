"""Write the small sample that `make demo` loads (run once; its output is committed).

Fourteen days of a small telecom hotline in callops' canonical contact format
(two deliberately broken rows show how rejects work), and one morning of an
Asterisk queue_log for the same center.
"""

from __future__ import annotations

import csv
import gzip
import math
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "callops" / "samples"
CST = timezone(timedelta(hours=8))
QUEUES = {  # queue: (business_type, share, mean handle s)
    "billing": ("billing", 0.35, 240),
    "data_plans": ("data_plan", 0.25, 300),
    "broadband": ("broadband", 0.2, 420),
    "complaints": ("complaint", 0.1, 540),
    "vip": ("vip", 0.1, 360),
}
AGENTS = [f"A{n:03d}" for n in range(1, 41)]
COLUMNS = [
    "contact_id", "center", "queue", "channel", "direction", "customer_id", "business_type",
    "offered_at", "answered_at", "ended_at", "ivr_s", "wait_s", "talk_s", "hold_s", "acw_s",
    "outcome", "agent_id", "transfers", "resolved", "csat", "nps", "offer_id", "offer_result", "revenue",
]


def _intraday(hour: float) -> float:
    """Relative arrival rate by hour of day: morning and afternoon peaks, quiet nights."""
    return 0.05 + math.exp(-((hour - 10.5) ** 2) / 4) + 0.8 * math.exp(-((hour - 15) ** 2) / 5)


def contacts(rng: random.Random, start: datetime, days: int) -> list[dict]:
    """Canonical contacts for ``days`` days from ``start`` (local midnight, +08:00)."""
    rows: list[dict] = []
    seq = 0
    for d in range(days):
        day = start + timedelta(days=d)
        weekday_factor = 0.7 if day.weekday() >= 5 else 1.0
        for minute in range(24 * 60):
            rate = 0.7 * weekday_factor * _intraday(minute / 60)
            for _ in range(_poisson(rng, rate)):
                seq += 1
                rows.append(_contact(rng, seq, day + timedelta(minutes=minute, seconds=rng.randrange(60))))
    return rows


def _poisson(rng: random.Random, lam: float) -> int:
    n, p, limit = 0, 1.0, math.exp(-lam)
    while True:
        p *= rng.random()
        if p <= limit:
            return n
        n += 1


def _contact(rng: random.Random, seq: int, offered: datetime) -> dict:
    queue = rng.choices(list(QUEUES), weights=[q[1] for q in QUEUES.values()])[0]
    business, _, handle = QUEUES[queue]
    channel = "chat" if rng.random() < 0.15 else "voice"
    ivr = round(rng.uniform(5, 40)) if channel == "voice" else 0
    row = {c: "" for c in COLUMNS}
    row.update(
        contact_id=f"S{seq:06d}", center=rng.choice(["Hefei", "Wuhu"]), queue=queue, channel=channel,
        direction="inbound", customer_id=f"C{rng.randrange(1, 3000):05d}", business_type=business,
        offered_at=offered.isoformat(), ivr_s=ivr, transfers=0,
    )
    r = rng.random()
    if channel == "voice" and r < 0.12:
        row.update(outcome="self_served", ended_at=(offered + timedelta(seconds=ivr)).isoformat())
        return row
    wait = round(rng.expovariate(1 / 25))
    if r < 0.22:
        row.update(outcome="abandoned", wait_s=wait, ended_at=(offered + timedelta(seconds=ivr + wait)).isoformat())
        return row
    talk = round(rng.expovariate(1 / handle)) + 20
    answered = offered + timedelta(seconds=ivr + wait)
    acw = round(rng.uniform(10, 60))
    resolved = rng.random() < 0.8
    row.update(
        outcome="answered", wait_s=wait, talk_s=talk, hold_s=round(rng.uniform(0, 30)), acw_s=acw,
        answered_at=answered.isoformat(), ended_at=(answered + timedelta(seconds=talk)).isoformat(),
        agent_id=rng.choice(AGENTS), resolved=str(resolved).lower(),
        csat=rng.choice([5, 5, 4, 4, 3, 2, 1]) if rng.random() < 0.3 else "",
    )
    if queue in ("data_plans", "billing") and rng.random() < 0.2:
        accepted = rng.random() < 0.3
        row.update(offer_id="OF-5G-59", offer_result="accepted" if accepted else "declined",
                   revenue=59 if accepted else "")
    return row


def queue_log(rng: random.Random, start: datetime) -> list[str]:
    """One morning of an Asterisk queue_log (pipe-delimited) for queue 'billing'."""
    t0 = int(start.timestamp())
    lines = [f"{t0}|NONE|NONE|NONE|QUEUESTART|"]
    agents = ["SIP/8001", "SIP/8002", "SIP/8003", "SIP/8004"]
    events: list[tuple[int, str]] = []
    for i, a in enumerate(agents):
        events.append((t0 + 60 + i, f"MANAGER|billing|{a}|ADDMEMBER|"))
    events.append((t0 + 3600, f"NONE|billing|{agents[1]}|PAUSE|lunch"))
    events.append((t0 + 5400, f"NONE|billing|{agents[1]}|UNPAUSE|"))
    free_at = dict.fromkeys(agents, t0 + 120)
    t = t0 + 300
    for n in range(60):
        t += round(rng.expovariate(1 / 150))
        callid = f"{t - 12}.{100 + n}"
        events.append((t, f"{callid}|billing|NONE|ENTERQUEUE||1380000{n:04d}|1"))
        agent = min(agents, key=lambda a: free_at[a])
        start_service = max(t + 3, free_at[agent])
        wait = start_service - t
        patience = round(rng.expovariate(1 / 90))
        if wait > patience:
            events.append((t + patience, f"{callid}|billing|NONE|ABANDON|1|1|{patience}"))
            continue
        for other in agents:
            if other != agent and rng.random() < 0.3:
                events.append((start_service - 1, f"{callid}|billing|{other}|RINGNOANSWER|1000"))
        talk = round(rng.expovariate(1 / 200)) + 15
        events.append((start_service, f"{callid}|billing|{agent}|CONNECT|{wait}|{callid}9|1"))
        who = "COMPLETECALLER" if rng.random() < 0.6 else "COMPLETEAGENT"
        events.append((start_service + talk, f"{callid}|billing|{agent}|{who}|{wait}|{talk}|1"))
        free_at[agent] = start_service + talk + 5
    for a in agents:
        events.append((t + 3600, f"MANAGER|billing|{a}|REMOVEMEMBER|"))
    events.sort(key=lambda e: e[0])
    lines += [f"{ts}|{body}" for ts, body in events]
    return lines


def main() -> None:
    """Write the sample files into the package."""
    rng = random.Random(20260101)
    OUT.mkdir(parents=True, exist_ok=True)
    rows = contacts(rng, datetime(2026, 3, 2, tzinfo=CST), 14)
    # Two broken rows: an answered call without a valid answer time, and an unknown channel.
    rows[100]["answered_at"] = "not-a-time"
    rows[2000]["channel"] = "pigeon"
    with gzip.open(OUT / "contacts.csv.gz", "wt", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    (OUT / "queue_log.txt").write_text(
        "\n".join(queue_log(rng, datetime(2026, 3, 16, 8, 0, tzinfo=CST))) + "\n", encoding="utf-8"
    )
    print(f"{len(rows)} contacts, queue_log written to {OUT}")


if __name__ == "__main__":
    main()
