"""Sample data shipped for `make demo`."""
