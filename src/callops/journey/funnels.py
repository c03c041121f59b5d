"""Declared funnels (YAML): ordered steps, "eventually" or "next step", per session or customer, in a window.

```yaml
funnels:
  - name: app self-service
    per: session            # or customer (all of a customer's sessions, in time order)
    mode: eventually        # or next: each step must be the very next event
    within_hours: 24        # from the first step; omit for no limit
    steps:
      - app_login
      - {step: verify_identity, outcome: ok}
      - {step: self_service, outcome: ok}
```

A unit (session or customer) reaches step k when some occurrence of step 1 is followed, in order, by steps
2..k (each the next event in ``next`` mode), all within the window of that first step. The best start counts.
Fallout at step k = units that reached step k-1 but not k (none at step 1: the funnel starts there); ``units`` is
every unit of the selection, so ``reached[1] / units`` is how many entered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from callops.errors import CallopsError
from callops.journey.events import Selection, events, run_sql
from callops.tenancy import Tenant
from callops.warehouse import Warehouse


class FunnelStep(BaseModel):
    """One step: a step name, optionally with the outcome and channel it must have."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    step: str
    outcome: str | None = None
    channel: str | None = None

    def matches(self, step: str, outcome: str | None, channel: str | None) -> bool:
        """True when an event (step, outcome, channel) is this funnel step."""
        return (step == self.step and (self.outcome is None or outcome == self.outcome)
                and (self.channel is None or channel == self.channel))

    def label(self) -> str:
        """The step as people read it, e.g. ``verify_identity (ok)``."""
        extra = ", ".join(x for x in (self.channel, self.outcome) if x)
        return f"{self.step} ({extra})" if extra else self.step


class Funnel(BaseModel):
    """A validated funnel definition."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    per: Literal["session", "customer"] = "session"
    mode: Literal["eventually", "next"] = "eventually"
    within_hours: float | None = Field(default=None, gt=0)
    steps: list[FunnelStep] = Field(min_length=2)

    @field_validator("steps", mode="before")
    @classmethod
    def _names(cls, value: object) -> object:
        if isinstance(value, list):
            return [{"step": v} if isinstance(v, str) else v for v in value]
        return value


def parse_funnels(text: str, origin: str = "funnels") -> list[Funnel]:
    """Parse and validate funnel YAML; errors name the file, the funnel and the line."""
    try:
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise CallopsError(f"{origin}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict) or not isinstance(data.get("funnels"), list) or not data["funnels"]:
        raise CallopsError(f"{origin}: expected a top-level `funnels:` list")
    items = next(v for k, v in node.value if k.value == "funnels").value  # type: ignore[union-attr]
    out = []
    for i, (raw, item) in enumerate(zip(data["funnels"], items, strict=True)):
        try:
            out.append(Funnel.model_validate(raw))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "(funnel)"
            raise CallopsError(
                f"{origin}, line {item.start_mark.line + 1}: funnel {i + 1} at {where}: "
                f"{err['msg'].removeprefix('Value error, ')}"
            ) from None
    return out


def load_funnels(path: Path) -> list[Funnel]:
    """The funnels of a YAML file."""
    if not path.is_file():
        raise CallopsError(f"funnel file {path} does not exist")
    return parse_funnels(path.read_text(encoding="utf-8"), str(path))


def depth(funnel: Funnel, seq: list[tuple[str, str | None, str | None, float]]) -> int:
    """How many funnel steps a unit's time-ordered events (step, outcome, channel, epoch s) reach."""
    steps, best = funnel.steps, 0
    limit = funnel.within_hours * 3600 if funnel.within_hours else None
    for i, (s, o, c, t0) in enumerate(seq):
        if not steps[0].matches(s, o, c):
            continue
        k, j = 1, i
        while k < len(steps):
            nxt = None
            for m in range(j + 1, len(seq) if funnel.mode == "eventually" else min(j + 2, len(seq))):
                if limit is not None and seq[m][3] - t0 > limit:
                    break
                if steps[k].matches(*seq[m][:3]):
                    nxt = m
                    break
            if nxt is None:
                break
            k, j = k + 1, nxt
        best = max(best, k)
        if best == len(steps):
            break
    return best


def evaluate(wh: Warehouse, tenant: Tenant, funnel: Funnel, sel: Selection | None = None) -> dict:
    """Units reaching each step of ``funnel``, with fallout per step."""
    unit = "session_id" if funnel.per == "session" else "coalesce(customer_id, session_id)"
    first = funnel.steps[0].step
    rows = run_sql(
        wh, {"ev": events(wh, tenant, sel)},
        f""", units AS (SELECT DISTINCT {unit} AS u FROM ev WHERE step = ?)
        SELECT {unit} AS u, list(step ORDER BY ts, session_id, seq) AS s,
               list(outcome ORDER BY ts, session_id, seq) AS o, list(channel ORDER BY ts, session_id, seq) AS c,
               list(epoch_us(ts) / 1e6 ORDER BY ts, session_id, seq) AS t
        FROM ev WHERE {unit} IN (SELECT u FROM units) GROUP BY 1""",
        [first],
    )
    total = run_sql(wh, {"ev": events(wh, tenant, sel)}, f"SELECT count(DISTINCT {unit}) AS n FROM ev")[0]["n"]
    reached = [0] * (len(funnel.steps) + 1)
    for r in rows:
        d = depth(funnel, list(zip(r["s"], r["o"], r["c"], r["t"], strict=True)))
        for k in range(d + 1):
            reached[k] += 1
    reached[0] = total
    steps = []
    for k, st in enumerate(funnel.steps, start=1):
        prev = reached[k - 1] if k > 1 else reached[1]  # fallout counts from entering the funnel
        steps.append({
            "index": k, "step": st.label(), "reached": reached[k],
            "fallout": prev - reached[k], "fallout_share": (prev - reached[k]) / prev if prev else 0.0,
            "conversion": reached[k] / reached[1] if reached[1] else 0.0,
        })
    return {"name": funnel.name, "per": funnel.per, "mode": funnel.mode, "within_hours": funnel.within_hours,
            "units": total, "steps": steps}
