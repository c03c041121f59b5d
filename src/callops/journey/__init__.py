"""Journeys across channels (issue 13): process views, funnels, failure reasons, replays, perception and cost.

Every read goes through :func:`callops.tenancy.scoped`; the process views run as one DuckDB query each over
the tenant's ``journey_events``. Steps of a session are ordered by ``seq``, which the loader derives by time
then file order when the source has none (see ``docs/journeys.md``).
"""
