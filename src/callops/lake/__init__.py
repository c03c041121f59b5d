"""The Parquet lake (issue 17): every canonical table of a tenant as Hive-partitioned Parquet, exported
incrementally and verifiably, and readable by the same indicator catalog (DuckDB over Parquet, or Spark).

Layout under the lake root (a local folder or an ``s3://`` URL, through Arrow's file systems)::

    _callops/lake.json                          format version of the lake
    _callops/<tenant>/manifest.json             per tenant: exported loads, per partition rows, hash, file
    _callops/<tenant>/tenant.parquet            the tenant's row of ``tenants`` (id, time zone)
    tenant=<t>/table=<name>/day=<local date>/part-0.parquet

``day`` is the local date (tenant's zone) of the table's first timestamp column; rows without one (and tables
without any, such as ``customers``) go to ``day=__HIVE_DEFAULT_PARTITION__``.
"""
