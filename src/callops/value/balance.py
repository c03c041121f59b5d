"""Traffic balancing (A4): what diverting low-value demand to self-service does to a queue's service level.

The decision routes low-value customers to ``self_service_first`` and billing-suspended ones to
``ivr_payment``; a share of that demand is then served without an agent. The what-if simulates the
queue (FCFS, Erlang A by simulation: :func:`callops.sim.single_queue.simulate_single_queue`) with the
agents' offered load reduced by each diversion share, with the simulator's 95 % confidence intervals.
The tenant's own share comes from the latest snapshot: the customers whose route avoids an agent,
times the take-up (the fraction of them who do finish in self-service).
"""

from __future__ import annotations

from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq

from callops.errors import CallopsError
from callops.sim.single_queue import simulate_single_queue
from callops.value import snapshot

SELF_SERVICE_ROUTES = ("self_service_first", "ivr_payment")


def tenant_diversion_share(tenant_id: str, take_up: float = 0.5) -> dict[str, float]:
    """Share of the tenant's customers routed away from agents, and the diversion it implies at ``take_up``."""
    if not 0.0 <= take_up <= 1.0:
        raise CallopsError("take-up must be between 0 and 1")
    version = snapshot.require_snapshot(tenant_id)
    routes = pq.read_table(snapshot.value_dir(tenant_id) / f"v{version:04d}.parquet", columns=["route"])
    n = routes.num_rows
    routed = int(pc.sum(pc.is_in(routes.column("route"), pa_array(SELF_SERVICE_ROUTES))).as_py() or 0) if n else 0
    share = routed / n if n else 0.0
    return {"customers": n, "routed_to_self_service": routed, "routed_share": share, "take_up": take_up,
            "diversion_share": share * take_up}  # fmt: skip


def pa_array(values: tuple[str, ...]) -> Any:
    """A pyarrow string array (kept here so the module imports pyarrow lazily once)."""
    import pyarrow as pa

    return pa.array(list(values), pa.string())


def diversion_whatif(calls: float, interval_s: float, aht_s: float, agents: int, patience_s: float | None,
                     shares: list[float], threshold_s: float = 20.0, replications: int = 5,
                     seed: int = 0) -> list[dict[str, Any]]:  # fmt: skip
    """Service level, abandon rate and ASA of the queue for each diversion share (0 = no diversion)."""
    if not shares:
        raise CallopsError("give at least one diversion share")
    out = []
    for share in shares:
        if not 0.0 <= share < 1.0:
            raise CallopsError(f"diversion share {share!r} must be at least 0 and below 1")
        offered = calls * (1.0 - share)
        r = simulate_single_queue(offered, interval_s, aht_s, agents, patience_s, threshold_s, replications, seed,
                                  arrivals_per_replication=5_000)  # fmt: skip
        out.append({"share": share, "calls_to_agents": offered, "diverted": calls - offered,
                    "service_level": r.service_level.as_dict(), "abandon_rate": r.abandon_rate.as_dict(),
                    "asa_s": r.asa_s.as_dict(), "occupancy": r.occupancy.as_dict()})  # fmt: skip
    return out
