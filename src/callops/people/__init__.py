"""The people loop (issue 19): agents and team leads in the loop.

Self-service (this part): ``links`` (users ↔ roster agents and teams), ``settings`` (a tenant's ``people.yaml``),
``checks`` (a request's effect on the schedule, checked against the contract rules of ``wfm.schedule_validator``
and against coverage with Erlang A), ``requests`` (file, accept, decide; an approval writes a new schedule
version, updates the live room, audits and notifies), ``me`` (my schedule, KPIs, coaching, requests).
Floor (real-time adherence, attendance, HR cases, overtime/VTO) lives in the modules of the same package that
people-floor owns.
"""
