"""The deployment files (deploy/, docs/deploy.md) stay true to the code: the compose file parses and hangs
together, every probe points at a route the app has, and every ``CALLOPS_*`` variable they set or document is one
the code reads (no invented settings). Docker and systemd are not needed (``systemd-analyze verify`` runs when
present).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
VAR = re.compile(r"\bCALLOPS_[A-Z][A-Z0-9_]*\b")


def _read_by_code() -> set[str]:
    return {m for p in (REPO / "src" / "callops").rglob("*.py") for m in VAR.findall(p.read_text(encoding="utf-8"))}


def test_every_callops_variable_in_the_deployment_is_read_by_the_code() -> None:
    known = _read_by_code()
    files = [*DEPLOY.rglob("*"), REPO / "docs" / "deploy.md"]
    for f in files:
        if f.is_file():
            unknown = set(VAR.findall(f.read_text(encoding="utf-8"))) - known
            assert not unknown, f"{f.relative_to(REPO)} names variables no code reads: {sorted(unknown)}"


def test_compose_file_hangs_together() -> None:
    doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    services = doc["services"]
    assert {"postgres", "nats", "migrate", "proxy"} <= set(services)
    for name, svc in services.items():
        assert "image" in svc or "build" in svc, name
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in services, (name, dep)
            assert cond["condition"] in ("service_started", "service_healthy", "service_completed_successfully")
            if cond["condition"] == "service_healthy":
                assert not services[dep].get("healthcheck", {}).get("disable"), (name, dep)
        for vol in svc.get("volumes", []):
            source = vol.split(":")[0]
            assert source.startswith(".") or source in doc["volumes"], (name, vol)
    servers = [n for n, s in services.items() if s.get("command", [None])[0] == "callops"
               and "serve" in s["command"]]  # fmt: skip
    assert len(servers) >= 2
    homes = [next(v for v in services[n]["volumes"] if v.endswith(":/var/lib/callops")) for n in servers]
    assert len(set(homes)) == len(homes), "two servers on one home would fight over its warehouse file"
    for n in servers:
        assert "/readyz" in " ".join(services[n]["healthcheck"]["test"])
        assert "/srv/lake" in " ".join(services[n]["volumes"])  # the lake on the shared volume
    assert "-js" in services["nats"]["command"]
    upstreams = re.findall(r"server ([\w-]+):8000", (DEPLOY / "nginx.conf").read_text(encoding="utf-8"))
    assert sorted(upstreams) == sorted(servers)


def test_probes_point_at_routes_the_app_has() -> None:
    from callops.api.app import create_app
    from callops.api.deps import iter_routes

    paths = {p for p, _m, _r in iter_routes(create_app("sqlite://", console=False, warehouse_url="duckdb://"))}
    text = "".join(p.read_text(encoding="utf-8") for p in DEPLOY.rglob("*") if p.is_file())
    probed = set(re.findall(r"127\.0\.0\.1:(?:8000|%i|\$\{PORT\})(/\w+)", text))
    assert probed == {"/healthz", "/readyz"} and probed <= paths


def test_systemd_units_verify() -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not available")
    units = sorted((DEPLOY / "systemd").glob("*.service")) + sorted((DEPLOY / "systemd").glob("*.timer"))
    assert len(units) >= 5
    out = subprocess.run(["systemd-analyze", "verify", *map(str, units)], capture_output=True, text=True, timeout=60)
    # a machine without the install paths (/opt/callops, nats-server) only lacks the programs; nothing else
    problems = [ln for ln in out.stderr.splitlines() if ln.strip() and "is not executable" not in ln
                and "Unit name" not in ln and "template" not in ln.lower()]  # fmt: skip
    assert not problems, problems
