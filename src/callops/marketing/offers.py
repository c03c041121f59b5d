"""The offer library (issue 12, A1): campaigns, offers, their eligibility rules, the contact policy and the levers.

One YAML file per tenant (``$CALLOPS_HOME/marketing/<tenant>/offers.yaml``, else the shipped
``default_offers.yaml``), validated on load; every error names the file and the line (``value.yamlio``):
an unknown tag, class, channel, campaign or offer, a negative price, a repeated campaign or offer id.

Ranking, as next-best-action engines do it::

    score  = propensity × value × weight
    value  = the offer's value of acceptance (default: unit price − commission)
    weight = (1 + importance_lever × importance) × (1 − difficulty_lever × difficulty) × lever(campaign) × lever(offer)

``importance`` and ``difficulty`` (0–1) are the campaign's; the levers are the manager's (``levers:``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from callops.errors import CallopsError
from callops.schema import Channel
from callops.value.rules import STRATEGIES, TagLibrary
from callops.value.yamlio import fail, load_yaml, number, require_keys, texts

CHANNELS = frozenset(c.value for c in Channel)
GUIDANCE_PARTS = ("remind", "offer", "phrase")


@dataclass(frozen=True)
class Eligibility:
    """Who may get an offer: every listed condition must hold (an empty list is no condition)."""

    tags_all: frozenset[str] = frozenset()
    tags_any: frozenset[str] = frozenset()
    tags_none: frozenset[str] = frozenset()
    classes: frozenset[str] = frozenset()
    classes_not: frozenset[str] = frozenset()
    reasons: frozenset[str] = frozenset()
    reasons_not: frozenset[str] = frozenset()

    def admits(self, tags: frozenset[str] | set[str], value_class: str, reason: str | None) -> bool:
        """Whether a contact with these tags, value class and reason satisfies the rule."""
        return (self.tags_all <= tags and (not self.tags_any or not self.tags_any.isdisjoint(tags))
                and self.tags_none.isdisjoint(tags)
                and (not self.classes or value_class in self.classes) and value_class not in self.classes_not
                and (not self.reasons or reason in self.reasons) and reason not in self.reasons_not)  # fmt: skip


@dataclass(frozen=True)
class Campaign:
    """A campaign: business weight parts and when it runs."""

    id: str
    name: str
    importance: float
    difficulty: float
    valid_from: date | None
    valid_to: date | None
    line: int

    def running(self, day: date) -> bool:
        """Whether the campaign runs on ``day``."""
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class Offer:
    """An offer of a campaign, with its eligibility, value and the agent's guidance."""

    id: str
    campaign: str
    product: str
    unit_price: float
    commission: float
    value: float
    prior: float
    channels: frozenset[str]
    eligible: Eligibility
    guidance: dict[str, dict[str, str]]  # part (remind/offer/phrase) -> {lang: text}
    reminders: dict[str, dict[str, str]]  # tag -> {lang: text}: what to remind a customer with that tag of
    line: int


@dataclass(frozen=True)
class Policy:
    """Contact-policy limits and when never to offer."""

    max_per_contact: int = 1
    max_per_customer_month: int = 3
    declined_cooldown_days: int = 30
    never_reasons: frozenset[str] = frozenset({"complaint"})
    never_strategies: frozenset[str] = frozenset({"priority_routing", "care_call"})
    max_wait_s: float = 180.0


@dataclass(frozen=True)
class Levers:
    """What a manager can turn: the weight of importance and difficulty, per-campaign/offer multipliers,
    the exploration share and the least score worth an offer."""

    importance: float = 1.0
    difficulty: float = 0.5
    exploration: float = 0.1
    min_score: float = 0.0
    campaigns: dict[str, float] = field(default_factory=dict)
    offers: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class OfferLibrary:
    """A validated offer library."""

    id: str
    version: int
    campaigns: dict[str, Campaign]
    offers: tuple[Offer, ...]
    policy: Policy
    levers: Levers
    origin: str
    _weights: dict[str, tuple[float, dict[str, float]]] = field(default_factory=dict, compare=False, repr=False)

    def weight(self, offer: Offer) -> tuple[float, dict[str, float]]:
        """The business weight of ``offer`` and its parts (worked out once per library)."""
        held = self._weights.get(offer.id)
        if held is None:
            held = self._weights[offer.id] = self._weight(offer)
        return held

    def _weight(self, offer: Offer) -> tuple[float, dict[str, float]]:
        c = self.campaigns[offer.campaign]
        lever = self.levers.campaigns.get(c.id, 1.0) * self.levers.offers.get(offer.id, 1.0)
        w = (1 + self.levers.importance * c.importance) * (1 - self.levers.difficulty * c.difficulty) * lever
        return w, {"importance": c.importance, "difficulty": c.difficulty, "lever": lever}

    def offer(self, offer_id: str) -> Offer:
        """The offer ``offer_id``."""
        for o in self.offers:
            if o.id == offer_id:
                return o
        raise CallopsError(f"no offer {offer_id!r} in {self.origin}")


def shipped_path() -> Path:
    """The shipped offer library."""
    return Path(str(resources.files("callops.marketing") / "default_offers.yaml"))


def _names(origin: str, node: Any, key: str, what: str, known: set[str] | frozenset[str] | None,
           kind: str) -> frozenset[str]:  # fmt: skip
    value = node.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail(origin, node, f"{what}: {key} must be a list of names", key)
    if known is not None:
        for v in value:
            if v not in known:
                raise fail(origin, node, f"{what}: unknown {kind} {v!r} in {key}; known: {', '.join(sorted(known))}",
                           key)  # fmt: skip
    return frozenset(value)


def _date(origin: str, node: Any, key: str, what: str) -> date | None:
    value = node.get(key)
    if value is not None and not isinstance(value, date):
        raise fail(origin, node, f"{what}: {key} must be a date (YYYY-MM-DD), not {value!r}", key)
    return value


def _ident(origin: str, node: Any, key: str, what: str) -> str:
    value = node.get(key)
    if not isinstance(value, str) or not value or len(value) > 100 or any(ch.isspace() for ch in value):
        raise fail(origin, node, f"{what}: {key} must be a name without spaces, not {value!r}", key)
    return value


def _levers(origin: str, node: Any, campaigns: set[str], offers: set[str]) -> Levers:
    if node is None:
        return Levers()
    require_keys(origin, node, "levers", (), ("importance", "difficulty", "exploration", "min_score", "campaigns",
                                             "offers"))  # fmt: skip
    out: dict[str, Any] = {}
    for key in ("importance", "difficulty", "exploration", "min_score"):
        if key in node:
            out[key] = number(origin, node, key, "levers")
    if out.get("exploration", 0.0) > 1 or out.get("difficulty", 0.0) > 1:
        raise fail(origin, node, "levers: exploration and difficulty must be between 0 and 1")
    for key, known, kind in (("campaigns", campaigns, "campaign"), ("offers", offers, "offer")):
        sub = node.get(key) or {}
        if not isinstance(sub, dict):
            raise fail(origin, node, f"levers: {key} must map ids to multipliers", key)
        for k in sub:
            if k not in known:
                raise CallopsError(f"{origin}, line {sub.key_lines.get(k, node.line)}: levers: unknown {kind} {k!r}; "
                                   f"known: {', '.join(sorted(known))}")  # fmt: skip
        out[key] = {k: number(origin, sub, k, f"levers.{key}") for k in sub}
    return Levers(**out)


def _policy(origin: str, node: Any) -> Policy:
    if node is None:
        return Policy()
    require_keys(origin, node, "policy", (), ("max_per_contact", "max_per_customer_month", "declined_cooldown_days",
                                             "never_reasons", "never_strategies", "max_wait_s"))  # fmt: skip
    out: dict[str, Any] = {}
    for key in ("max_per_contact", "max_per_customer_month", "declined_cooldown_days"):
        if key in node:
            v = node[key]
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise fail(origin, node, f"policy: {key} must be a whole number from 0, not {v!r}", key)
            out[key] = v
    if "max_wait_s" in node:
        out["max_wait_s"] = number(origin, node, "max_wait_s", "policy")
    if "never_reasons" in node:
        out["never_reasons"] = _names(origin, node, "never_reasons", "policy", None, "reason")
    if "never_strategies" in node:
        out["never_strategies"] = _names(origin, node, "never_strategies", "policy", set(STRATEGIES), "strategy")
    return Policy(**out)


def parse_offers(text: str, origin: str = "offer library", *, tags: TagLibrary,
                 classes: list[str] | None = None) -> OfferLibrary:  # fmt: skip
    """Parse and validate offer-library YAML against a tag library; errors name ``origin`` and the line."""
    data = load_yaml(text, origin)
    require_keys(origin, data, "the offer library", ("id", "version", "campaigns", "offers"),
                 ("owner", "description", "policy", "levers"))  # fmt: skip
    lib_id = _ident(origin, data, "id", "the offer library")
    version = data["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise fail(origin, data, f"the offer library: version must be a whole number from 1, not {version!r}",
                   "version")  # fmt: skip
    if not isinstance(data["campaigns"], list) or not isinstance(data["offers"], list):
        raise fail(origin, data, "campaigns and offers must be lists")
    campaigns: dict[str, Campaign] = {}
    for item in data["campaigns"]:
        require_keys(origin, item, "a campaign", ("id", "importance", "difficulty"),
                     ("name", "valid_from", "valid_to", "description"))  # fmt: skip
        cid = _ident(origin, item, "id", "a campaign")
        if cid in campaigns:
            raise fail(origin, item, f"repeated campaign id {cid!r} (first on line {campaigns[cid].line})", "id")
        imp = number(origin, item, "importance", f"campaign {cid}")
        dif = number(origin, item, "difficulty", f"campaign {cid}")
        if imp > 1 or dif > 1:
            raise fail(origin, item, f"campaign {cid}: importance and difficulty must be between 0 and 1")
        vf = _date(origin, item, "valid_from", f"campaign {cid}")
        vt = _date(origin, item, "valid_to", f"campaign {cid}")
        campaigns[cid] = Campaign(cid, str(item.get("name", cid)), imp, dif, vf, vt, item.line)
    tag_ids = {t.id for t in tags.tags}
    known_classes = set(classes) if classes else None
    offers: list[Offer] = []
    for item in data["offers"]:
        require_keys(origin, item, "an offer", ("id", "campaign", "product", "unit_price", "channels", "guidance"),
                     ("commission", "value", "prior", "eligible", "reminders", "description"))  # fmt: skip
        oid = _ident(origin, item, "id", "an offer")
        if oid in {o.id for o in offers}:
            raise fail(origin, item, f"repeated offer id {oid!r}", "id")
        what = f"offer {oid}"
        if item["campaign"] not in campaigns:
            raise fail(origin, item, f"{what}: unknown campaign {item['campaign']!r}; known: "
                       f"{', '.join(campaigns)}", "campaign")  # fmt: skip
        price = number(origin, item, "unit_price", what)
        commission = number(origin, item, "commission", what) if "commission" in item else 0.0
        value = number(origin, item, "value", what) if "value" in item else max(price - commission, 0.0)
        prior = number(origin, item, "prior", what) if "prior" in item else 0.05
        if prior > 1:
            raise fail(origin, item, f"{what}: prior must be a probability (0-1), not {prior!r}", "prior")
        channels = _names(origin, item, "channels", what, CHANNELS, "channel")
        el = item.get("eligible") or {}
        if el:
            require_keys(origin, el, f"{what}: eligible", (), ("tags_all", "tags_any", "tags_none", "classes",
                                                              "classes_not", "reasons", "reasons_not"))  # fmt: skip
        elig = Eligibility(
            *(_names(origin, el, k, what, tag_ids, "tag") for k in ("tags_all", "tags_any", "tags_none")),
            *(_names(origin, el, k, what, known_classes, "class") for k in ("classes", "classes_not")),
            *(_names(origin, el, k, what, None, "reason") for k in ("reasons", "reasons_not")))  # fmt: skip
        g = item["guidance"]
        require_keys(origin, g, f"{what}: guidance", ("offer", "phrase"), ("remind",))
        guidance = {part: texts(origin, g, part, f"{what}: guidance") for part in GUIDANCE_PARTS if part in g}
        rem = item.get("reminders") or {}
        if not isinstance(rem, dict):
            raise fail(origin, item, f"{what}: reminders must map tags to texts", "reminders")
        for tag in rem:
            if tag not in tag_ids:
                raise CallopsError(f"{origin}, line {rem.key_lines.get(tag, item.line)}: {what}: reminders: unknown "
                                   f"tag {tag!r}; known: {', '.join(sorted(tag_ids))}")  # fmt: skip
        reminders = {tag: texts(origin, rem, tag, f"{what}: reminders") for tag in rem}
        offers.append(Offer(oid, item["campaign"], str(item["product"]), price, commission, value, prior, channels,
                            elig, guidance, reminders, item.line))  # fmt: skip
    levers = _levers(origin, data.get("levers"), set(campaigns), {o.id for o in offers})
    return OfferLibrary(lib_id, version, campaigns, tuple(offers), _policy(origin, data.get("policy")), levers, origin)


def load_offers(path: Path | str | None = None, *, tags: TagLibrary, classes: list[str] | None = None) -> OfferLibrary:
    """Read and validate an offer library (default: the shipped one)."""
    p = Path(path) if path else shipped_path()
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise CallopsError(f"cannot read {p}: {exc.strerror}") from None
    return parse_offers(text, str(p), tags=tags, classes=classes)


def marketing_dir(tenant_id: str) -> Path:
    """``$CALLOPS_HOME/marketing/<tenant>``: the tenant's offer library and propensity models."""
    from callops.value.snapshot import callops_home

    return callops_home() / "marketing" / tenant_id


_LIBS: dict[str, tuple[tuple[float, tuple[float, ...]], OfferLibrary]] = {}
_LIBS_CHECKED: dict[str, float] = {}
_LIBS_LOCK = threading.Lock()
RECHECK_S = 2.0  # how often the files are looked at again (a saved library is in force within this)


def _mtime(p: Path) -> float:
    try:
        return p.stat().st_mtime
    except OSError:
        return 0.0


def library(tenant_id: str) -> OfferLibrary:
    """The tenant's offer library (its own file, else the shipped one), cached until a file changes."""
    from callops.value.decide import libraries, library_file

    held = _LIBS.get(tenant_id)
    now = time.monotonic()
    if held is not None and now - _LIBS_CHECKED.get(tenant_id, 0.0) < RECHECK_S:
        return held[1]
    _LIBS_CHECKED[tenant_id] = now
    own = marketing_dir(tenant_id) / "offers.yaml"
    stamp = (_mtime(own), tuple(_mtime(library_file(tenant_id, n)) for n in ("model.yaml", "tags.yaml")))
    if held is not None and held[0] == stamp:
        return held[1]
    with _LIBS_LOCK:
        model, tags, _ = libraries(tenant_id)
        lib = load_offers(own if stamp[0] else None, tags=tags, classes=[*model.class_ids, "unknown"])
        _LIBS[tenant_id] = (stamp, lib)
    return lib


def forget_library(tenant_id: str | None = None) -> None:
    """Drop cached libraries (tests; a file written in this process is otherwise seen within ``RECHECK_S``)."""
    with _LIBS_LOCK:
        for key in [tenant_id] if tenant_id else list(_LIBS):
            _LIBS.pop(key, None)
            _LIBS_CHECKED.pop(key, None)
