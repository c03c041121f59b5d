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


def test_the_members_home_has_one_server_that_can_reach_them() -> None:
    """Their tenants' console, API and landing need a ``callops serve`` on the members' home, with the broker to
    send person's actions to the owning member (follower.py); in compose and in the systemd environment files."""
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))["services"]
    member_home = next(v.split(":")[0] for v in services["live-member"]["volumes"] if v.endswith(":/var/lib/callops"))
    servers = [n for n, s in services.items() if s.get("command", [])[:2] == ["callops", "serve"]
               and any(v.split(":")[0] == member_home for v in s["volumes"])]  # fmt: skip
    assert len(servers) == 1, servers
    env = services[servers[0]]["environment"]
    assert env["CALLOPS_NATS_URL"].startswith("nats://nats:")
    assert servers[0] in " ".join(re.findall(r"server ([\w-]+):8000", (DEPLOY / "nginx.conf").read_text()))

    def env_file(name: str) -> dict[str, str]:
        text = (DEPLOY / "systemd" / "env" / name).read_text(encoding="utf-8")
        return dict(ln.split("=", 1) for ln in text.splitlines() if ln and not ln.startswith("#"))

    members = env_file("live-cluster.env")
    serving = [env_file(p.name) for p in (DEPLOY / "systemd" / "env").glob("api-*.env")]
    theirs = [e for e in serving if e.get("CALLOPS_HOME") == members["CALLOPS_HOME"]]
    assert len(theirs) == 1 and theirs[0].get("CALLOPS_NATS_URL") == members["CALLOPS_NATS_URL"]
