"""Post-contact surveys: CSAT (1-5) and NPS (0-10) that depend on the wait and on resolution.

A share ``survey_p`` (per queue) of handled contacts answers. Each score is::

    clip(round(base + resolved x r + wait_minutes x w + N(0, sd)), low, high)

with the coefficients of the scenario (``surveys.csat`` / ``surveys.nps``); a share ``nps_share``
of respondents also gives an NPS score. Contacts without an answer have empty scores.
"""

from __future__ import annotations

import numpy as np

from callops.sim.frame import ContactFrame
from callops.sim.scenario import Scenario, ScoreModelCfg


def score(cfg: ScoreModelCfg, resolved: np.ndarray, wait_s: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Scores of respondents with the given resolution flags and waits (seconds)."""
    latent = cfg.base + cfg.resolved * resolved + cfg.wait_per_min * (wait_s / 60.0)
    latent = latent + rng.normal(0.0, cfg.sd, len(resolved))
    return np.clip(np.round(latent), cfg.low, cfg.high)


def add_surveys(frame: ContactFrame, scenario: Scenario, resolved: np.ndarray, rng: np.random.Generator) -> None:
    """Set ``csat`` and ``nps`` on the frame (NaN where nobody answered)."""
    n = len(frame)
    survey_p = frame.per_queue({q.name: q.survey_p for q in scenario.queues})
    answers = (frame["outcome"] == "answered") & (rng.random(n) < survey_p)
    wait = np.nan_to_num(frame["wait_s"])
    csat = np.full(n, np.nan)
    nps = np.full(n, np.nan)
    idx = np.flatnonzero(answers)
    csat[idx] = score(scenario.surveys.csat, resolved[idx], wait[idx], rng)
    with_nps = idx[rng.random(len(idx)) < scenario.surveys.nps_share]
    nps[with_nps] = score(scenario.surveys.nps, resolved[with_nps], wait[with_nps], rng)
    frame.extra["csat"] = csat
    frame.extra["nps"] = nps
