"""Propensity to accept an offer, learned from the history of presented and accepted offers (issue 12).

**Data.** Every contact of the tenant's warehouse (``tenancy.scoped``) on which an offer was presented
(``offer_id`` set, ``offer_result`` accepted/declined), joined to the customer's value snapshot (tags, value
class, score). The model sees only what the decision sees at contact time: tags, value class, a score band, the
reason for contact and the channel — never the raw traits a simulator or the real world decides with.

**Model.** One logistic regression (scikit-learn, L2, lbfgs) over one-hot features: the contact's features, the
offer, and each (offer × contact feature) pair — per-offer coefficients that borrow strength from the shared
ones when an offer has little history. It is stored as JSON (feature → weight), not a pickle: the decision scores
it with a few dictionary look-ups per offer (microseconds for 50 offers), and a test checks that equals
scikit-learn's ``predict_proba``. ``$CALLOPS_HOME/marketing/<tenant>/propensity/v0001.json`` + ``latest.json``.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from callops import tenancy
from callops.errors import CallopsError
from callops.marketing.offers import marketing_dir
from callops.warehouse import Warehouse

MIN_ROWS = 50  # fewer presented offers than this cannot train anything worth using
RECHECK_S = 2.0


def score_band(score: float | None) -> str | None:
    """The score's decile band (``s0``..``s9``), None when unknown."""
    if score is None or score != score:
        return None
    return f"s{min(int(score // 10), 9)}"


def context_features(tags: list[str] | tuple[str, ...] | frozenset[str], value_class: str, score: float | None,
                     reason: str | None, channel: str) -> list[str]:  # fmt: skip
    """The contact's one-hot feature names (what the model and the decision share)."""
    out = [f"tag={t}" for t in tags]
    out.append(f"class={value_class}")
    band = score_band(score)
    if band:
        out.append(f"band={band}")
    out.append(f"reason={reason or '-'}")
    out.append(f"channel={channel}")
    return out


def pair_features(offer_id: str, ctx: list[str]) -> list[str]:
    """The features of (offer, contact): the contact's, the offer, and each offer × contact pair."""
    return [*ctx, f"offer={offer_id}", *(f"{offer_id}|{f}" for f in ctx)]


@dataclass(frozen=True)
class PropensityModel:
    """A trained model: weights by feature name, intercept, and how it was trained."""

    version: int
    intercept: float
    weights: dict[str, float]
    offers: tuple[str, ...]
    meta: dict[str, Any]
    # offer -> {contact feature: weight of the pair}, and offer -> its own weight: the decision looks pairs up
    # without building "offer|feature" strings
    pairs: dict[str, dict[str, float]] = field(default_factory=dict, compare=False, repr=False)
    own: dict[str, float] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        pairs: dict[str, dict[str, float]] = {o: {} for o in self.offers}
        for name, w in self.weights.items():
            offer, sep, feat = name.partition("|")
            if sep and offer in pairs:
                pairs[offer][feat] = w
        self.pairs.update(pairs)
        self.own.update({o: self.weights.get(f"offer={o}", 0.0) for o in self.offers})

    def shared_logit(self, ctx: list[str]) -> float:
        """The part of the logit that does not depend on the offer (computed once per contact)."""
        w = self.weights
        return self.intercept + sum(w.get(f, 0.0) for f in ctx)

    def probability(self, offer_id: str, ctx: list[str], shared: float | None = None) -> float:
        """P(accept | offer, contact)."""
        z = self.shared_logit(ctx) if shared is None else shared
        pairs = self.pairs.get(offer_id)
        if pairs is None:  # an offer the model never saw: only the shared part
            return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0
        z += self.own[offer_id]
        for f in ctx:
            z += pairs.get(f, 0.0)
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {"version": self.version, "intercept": self.intercept, "weights": self.weights,
                "offers": list(self.offers), "meta": self.meta}  # fmt: skip

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> PropensityModel:
        """Back from the stored form."""
        return cls(int(d["version"]), float(d["intercept"]), {k: float(v) for k, v in d["weights"].items()},
                   tuple(d["offers"]), d.get("meta", {}))  # fmt: skip


# -- the history --------------------------------------------------------------------------------------------


def customer_context(tenant_id: str, as_of: date | None = None) -> tuple[dict[str, tuple[list[str], str, float]],
                                                                           dict[str, Any] | None]:  # fmt: skip
    """Customer id → (tags, value class, score) from the value snapshot: the latest one scored as of ``as_of`` or
    earlier when there is one (no look-ahead in a back-test), else the latest. Also that snapshot's description."""
    from callops.value import snapshot

    latest = snapshot.latest_version(tenant_id)
    if latest is None:
        return {}, None
    version = latest
    if as_of is not None:
        for v in range(latest, 0, -1):
            try:
                meta = snapshot.snapshot_meta(tenant_id, v)
            except CallopsError:
                continue
            if date.fromisoformat(meta["as_of"]) <= as_of:
                version = v
                break
    meta = snapshot.snapshot_meta(tenant_id, version)
    t = pq.read_table(snapshot.value_dir(tenant_id) / f"v{version:04d}.parquet",
                      columns=["customer_id", "score", "value_class", "tags"])  # fmt: skip
    ids = t.column("customer_id").to_pylist()
    out = {c: (tg or [], vc, s) for c, s, vc, tg in zip(ids, t.column("score").to_pylist(),
                                                      t.column("value_class").to_pylist(),
                                                      t.column("tags").to_pylist(), strict=True)}  # fmt: skip
    return out, {"version": meta["version"], "as_of": meta["as_of"]}


def offer_history(wh: Warehouse, tenant: tenancy.Tenant, start: date | None = None,
                  end: date | None = None) -> pa.Table:  # fmt: skip
    """Contacts with a presented offer between local days ``start`` (inclusive) and ``end`` (exclusive):
    contact_id, customer_id, day (local), channel, reason, wait_s, offer_id, accepted, revenue."""
    c = tenancy.scoped(wh, tenant, "contacts")
    c = c.filter(c.offer_id.notnull() & c.offer_result.isin(["accepted", "declined"]))
    zone = ZoneInfo(tenant.timezone)
    if start is not None:
        c = c.filter(c.offered_at >= datetime.combine(start, datetime.min.time(), zone).astimezone(UTC))
    if end is not None:
        c = c.filter(c.offered_at < datetime.combine(end, datetime.min.time(), zone).astimezone(UTC))
    t = c.select("contact_id", "customer_id", "offered_at", "channel", reason=c.business_type,
                 wait_s=c.wait_s, offer_id=c.offer_id, accepted=c.offer_result == "accepted",
                 revenue=c.revenue.fill_null(0.0)).order_by("offered_at", "contact_id").to_pyarrow()  # fmt: skip
    days = [ts.astimezone(zone).date() for ts in t.column("offered_at").to_pylist()]
    return t.drop(["offered_at"]).append_column("day", pa.array(days, pa.date32()))


def contexts_of(history: pa.Table, customers: dict[str, tuple[list[str], str, float]]) -> list[list[str]]:
    """The contact features of each history row (unknown customers: no tags, class ``unknown``)."""
    out = []
    for cid, reason, channel in zip(history.column("customer_id").to_pylist(), history.column("reason").to_pylist(),
                                    history.column("channel").to_pylist(), strict=True):  # fmt: skip
        tags, vc, s = customers.get(cid, ([], "unknown", None))
        out.append(context_features(tags, vc, s, reason, str(channel)))
    return out


# -- training ---------------------------------------------------------------------------------------------


def fit(contexts: list[list[str]], offers: list[str], accepted: np.ndarray, *, c: float = 1.0,
        version: int = 0, meta: dict[str, Any] | None = None) -> PropensityModel:  # fmt: skip
    """Fit the logistic regression on (context, offer, accepted) rows."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    if len(offers) < MIN_ROWS:
        raise CallopsError(f"only {len(offers)} presented offers in the history; at least {MIN_ROWS} are needed")
    y = np.asarray(accepted, dtype=bool)
    if y.all() or not y.any():
        raise CallopsError("the history has only accepted or only declined offers: nothing to learn")
    vec = DictVectorizer(sparse=True)
    x = vec.fit_transform([dict.fromkeys(pair_features(o, ctx), 1.0) for ctx, o in zip(contexts, offers, strict=True)])
    clf = LogisticRegression(C=c, max_iter=500)
    clf.fit(x, y)
    names = vec.get_feature_names_out()
    weights = {str(n): float(w) for n, w in zip(names, clf.coef_[0], strict=True) if abs(w) > 1e-12}
    return PropensityModel(version, float(clf.intercept_[0]), weights, tuple(sorted(set(offers))), meta or {})


def _dir(tenant_id: str) -> Path:
    return marketing_dir(tenant_id) / "propensity"


def latest_model_version(tenant_id: str) -> int | None:
    """The current propensity model version of a tenant, None before the first training."""
    p = _dir(tenant_id) / "latest.json"
    if not p.exists():
        return None
    return int(json.loads(p.read_text(encoding="utf-8"))["version"])


def save_model(tenant_id: str, model: PropensityModel) -> PropensityModel:
    """Write ``model`` as the next version and make it the latest; returns it with its version."""
    folder = _dir(tenant_id)
    folder.mkdir(parents=True, exist_ok=True)
    version = (latest_model_version(tenant_id) or 0) + 1
    model = PropensityModel(version, model.intercept, model.weights, model.offers, model.meta)
    tmp = folder / f".v{version:04d}.json.tmp"
    tmp.write_text(json.dumps(model.to_json()), encoding="utf-8")
    tmp.replace(folder / f"v{version:04d}.json")
    latest = folder / ".latest.json.tmp"
    latest.write_text(json.dumps({"version": version}), encoding="utf-8")
    latest.replace(folder / "latest.json")
    return model


def train(wh: Warehouse, tenant: tenancy.Tenant, *, end: date | None = None, days: int = 365,
          save: bool = True) -> dict[str, Any]:  # fmt: skip
    """Batch re-training on the presented offers of the ``days`` days before ``end`` (default: up to today)."""
    t0 = time.perf_counter()
    end = end or datetime.now(ZoneInfo(tenant.timezone)).date() + timedelta(days=1)
    history = offer_history(wh, tenant, end - timedelta(days=days), end)
    customers, snap = customer_context(tenant.tenant_id, end)
    contexts = contexts_of(history, customers)
    accepted = np.asarray(history.column("accepted").to_numpy(zero_copy_only=False), dtype=bool)
    meta = {"trained_at": datetime.now(UTC).isoformat(timespec="seconds"), "rows": history.num_rows,
            "accepted": int(accepted.sum()), "from": (end - timedelta(days=days)).isoformat(),
            "to": (end - timedelta(days=1)).isoformat(), "value_snapshot": snap}  # fmt: skip
    model = fit(contexts, history.column("offer_id").to_pylist(), accepted, meta=meta)
    if save:
        model = save_model(tenant.tenant_id, model)
        forget(tenant.tenant_id)
    return {"tenant": tenant.tenant_id, "version": model.version, "rows": history.num_rows,
            "accepted": int(accepted.sum()), "features": len(model.weights), "offers": list(model.offers),
            "value_snapshot": snap, "seconds": round(time.perf_counter() - t0, 3)}  # fmt: skip


# -- the model the decision reads -------------------------------------------------------------------------

_HELD: dict[str, tuple[float, PropensityModel | None]] = {}
_LOCK = threading.Lock()


def current_model(tenant_id: str) -> PropensityModel | None:
    """The tenant's latest model in memory (looked for again every couple of seconds); None before training."""
    now = time.monotonic()
    held = _HELD.get(tenant_id)
    if held is not None and now - held[0] < RECHECK_S:
        return held[1]
    with _LOCK:
        version = latest_model_version(tenant_id)
        model = held[1] if held is not None else None
        if version is None:
            model = None
        elif model is None or model.version != version:
            d = json.loads((_dir(tenant_id) / f"v{version:04d}.json").read_text(encoding="utf-8"))
            model = PropensityModel.from_json(d)
        _HELD[tenant_id] = (now, model)
    return model


def forget(tenant_id: str | None = None) -> None:
    """Drop held models (after training, and in tests)."""
    with _LOCK:
        for key in [tenant_id] if tenant_id else list(_HELD):
            _HELD.pop(key, None)
