"""The partitioned live room's members in the deployment files (issue 17, operations): each member the compose
file or a systemd unit runs serves its probes (``--http``) where that file's health check looks, and the docs
name the units."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"


def test_compose_members_probe_their_own_port() -> None:
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))["services"]
    members = {n: s for n, s in services.items() if s.get("command", [])[:4] == ["callops", "live", "cluster", "run"]}
    assert members, "no live-room member in compose.yaml"
    for name, svc in members.items():
        cmd = svc["command"]
        port = cmd[cmd.index("--http") + 1].rsplit(":", 1)[1]
        assert f"127.0.0.1:{port}/readyz" in " ".join(svc["healthcheck"]["test"]), name
        assert cmd[cmd.index("--stream") + 1] in " ".join(services["cluster-stream"]["command"])  # stream made first
        assert svc["depends_on"]["cluster-stream"]["condition"] == "service_completed_successfully"
        assert any(v.endswith(":/var/lib/callops") for v in svc["volumes"])  # one home, shared by the replicas


def test_systemd_member_unit_probes_its_own_port() -> None:
    unit = (DEPLOY / "systemd" / "callops-live-member@.service").read_text(encoding="utf-8")
    start = re.search(r"^ExecStart=(.*)$", unit, re.M).group(1)  # type: ignore[union-attr]
    assert "live cluster run" in start and "--http 127.0.0.1:%i" in start and "--member %l-%i" in start
    assert "127.0.0.1:%i/readyz" in re.search(r"^ExecStartPost=(.*)$", unit, re.M).group(1)  # type: ignore[union-attr]
    probe = (DEPLOY / "systemd" / "callops-live-member-healthz@.service").read_text(encoding="utf-8")
    assert "127.0.0.1:%i/healthz" in probe and "restart callops-live-member@%i" in probe
    env = (DEPLOY / "systemd" / "env" / "live-cluster.env").read_text(encoding="utf-8")
    assert "CALLOPS_HOME=" in env and "CALLOPS_NATS_URL=" in env
    doc = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    for name in ("callops-live-member@", "callops-live-member-healthz@", "live-member", "/readyz"):
        assert name in doc, name
