"""Ingest: readers, declarative mappings, validation, rejects, atomic idempotent loads."""
