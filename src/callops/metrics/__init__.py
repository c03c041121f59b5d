"""Indicators: a declarative catalog of measures and metrics, compiled to Ibis and queried at any grain.

Public entry points: :func:`callops.metrics.catalog.load_catalog` (the validated catalog),
:func:`callops.metrics.query.query` (numbers as Arrow) and the ``metrics_app`` Typer app in
:mod:`callops.metrics.cli`.
"""
