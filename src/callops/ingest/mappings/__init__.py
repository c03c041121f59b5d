"""Built-in ingest mappings (YAML files in this package)."""
