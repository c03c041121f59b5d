"""Discrete-event simulation of a multi-skill, multi-channel contact center (``callops simulate``).

* :mod:`callops.sim.engine` - the event loop (:func:`simulate` a :class:`Model` with a seed);
* :mod:`callops.sim.arrivals`, :mod:`callops.sim.agents`, :mod:`callops.sim.routing`,
  :mod:`callops.sim.state` - the parts of a model;
* :mod:`callops.sim.records` - canonical output rows and :func:`write_to_warehouse`;
* :mod:`callops.sim.single_queue` - the fast single-queue what-if (Erlang C/A by simulation);
* :mod:`callops.sim.scenario` - scenario files (YAML, pydantic-validated) and the shipped demo hotline;
* :mod:`callops.sim.runner` - :func:`run_scenario` (all canonical tables) and :func:`generate_demo`
  (into a tenant), built from :mod:`~callops.sim.customers`, :mod:`~callops.sim.roster`,
  :mod:`~callops.sim.repeats`, :mod:`~callops.sim.surveys`, :mod:`~callops.sim.marketing`,
  :mod:`~callops.sim.quality` and :mod:`~callops.sim.journeys`;
* :mod:`callops.sim.demo` - :func:`generate_demo_tenant` for ``make demo``.
"""

from callops.sim.engine import Model, simulate
from callops.sim.records import Records, write_to_warehouse
from callops.sim.single_queue import SingleQueueResult, simulate_single_queue

__all__ = ["Model", "Records", "SingleQueueResult", "simulate", "simulate_single_queue", "write_to_warehouse"]
