"""Rule management: a tenant's own value model, tag and strategy libraries, validated, previewed and audited.

A tenant starts on the shipped files; saving a definition writes the tenant's copy under
``$CALLOPS_HOME/value/<tenant>/`` (after validation) and records the change, with the text before and
after, in the audit log. The decision picks the new version up within a couple of seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from callops import tenancy
from callops.errors import CallopsError
from callops.store import audit
from callops.value import decide as dec
from callops.value import features as feat
from callops.value.model import default_model_path, parse_model, score
from callops.value.rules import _shipped, compute_tags, parse_strategies, parse_tags
from callops.warehouse import Warehouse

FILES = {"model": "model.yaml", "tags": "tags.yaml", "strategies": "strategies.yaml"}
SHIPPED = {"model": "default_model.yaml", "tags": "default_tags.yaml", "strategies": "default_strategies.yaml"}


def _text(tenant_id: str, kind: str) -> tuple[str, str]:
    own = dec.library_file(tenant_id, FILES[kind])
    path = own if own.exists() else (default_model_path() if kind == "model" else _shipped(SHIPPED[kind]))
    return path.read_text(encoding="utf-8"), "tenant" if own.exists() else "shipped"


def _parse(tenant_id: str, kind: str, text: str) -> Any:
    origin = FILES[kind]
    if kind == "model":
        return parse_model(text, origin)
    if kind == "tags":
        return parse_tags(text, origin)
    model, tags, _ = dec.libraries(tenant_id)
    return parse_strategies(text, origin, tags=tags, classes=model.class_ids)


def current_rules(tenant_id: str, kind: str) -> dict[str, Any]:
    """The definition in force (text, whose copy, parsed items)."""
    text, source = _text(tenant_id, kind)
    parsed = _parse(tenant_id, kind, text)
    out: dict[str, Any] = {"kind": kind, "source": source, "text": text, "id": parsed.id, "version": parsed.version}
    if kind == "tags":
        out["items"] = [{"id": t.id, "when": t.when, "owner": t.owner, "version": t.version, "label": t.label,
                         "valid_from": t.valid_from, "valid_to": t.valid_to} for t in parsed.tags]  # fmt: skip
    elif kind == "strategies":
        out["items"] = [{"id": r.id, "strategy": r.strategy, "priority": r.priority, "owner": r.owner,
                         "version": r.version, "tags_all": sorted(r.tags_all), "tags_any": sorted(r.tags_any),
                         "reasons": sorted(r.reasons), "channels": sorted(r.channels), "classes": sorted(r.classes)}
                        for r in parsed.rules]  # fmt: skip
    else:
        out["items"] = [{"id": d.id, "weight": d.weight, "indicators": [i.id for i in d.indicators]}
                        for d in parsed.dimensions]  # fmt: skip
    return out


def preview_rules(wh: Warehouse, tenant: tenancy.Tenant, kind: str, text: str) -> dict[str, Any]:
    """Validate ``text``; for tags, how many customers each would tag today; for a model, the class counts."""
    parsed = _parse(tenant.tenant_id, kind, text)
    out: dict[str, Any] = {"valid": True, "kind": kind, "id": parsed.id, "version": parsed.version}
    if kind in ("tags", "model"):
        at = feat.AsOf.of(None, tenant.timezone)
        features = feat.customer_features(wh, tenant, at)
        out["customers"] = features.num_rows
        if kind == "tags":
            hits = compute_tags(features, parsed, at.day)
            out["tagged"] = {k: int(np.sum(v)) for k, v in hits.items()}
        else:
            out["classes"] = score(features, parsed).classes()
    return out


def save_rules(session: Session, tenant_id: str, actor: str, kind: str, text: str, comment: str = "") -> dict[str, Any]:
    """Validate and save the tenant's copy of a definition; audited with the text before and after."""
    if kind not in FILES:
        raise CallopsError(f"unknown definition {kind!r}; expected one of: {', '.join(FILES)}")
    parsed = _parse(tenant_id, kind, text)
    before, _ = _text(tenant_id, kind)
    path = dec.library_file(tenant_id, FILES[kind])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    audit.record(session, tenant_id, actor, f"value.{kind}.save", f"value_{kind}", parsed.id,
                 {"text": before}, {"text": text, "version": parsed.version, "comment": comment})  # fmt: skip
    return {"saved": True, "kind": kind, "id": parsed.id, "version": parsed.version,
            "at": datetime.now(UTC).isoformat()}  # fmt: skip
