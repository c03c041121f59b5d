"""The live control room: events, per-tenant live state, graded alerts, contingency plans and the six-step
playbook (``callops live``).

* :mod:`callops.realtime.events` - the event contract (pydantic), rejections, duplicates;
* :mod:`callops.realtime.state` - the pure, order-insensitive state machine of one tenant;
* :mod:`callops.realtime.alerts` - YAML alert rules with levels, hysteresis and cool-down;
* :mod:`callops.realtime.plans` - contingency plans and the six-step playbook priced with Erlang A;
* :mod:`callops.realtime.engine` - intake + state + alerts + plans, deterministic evaluation;
* :mod:`callops.realtime.demo` - a simulated busy day as a live event stream.
"""
