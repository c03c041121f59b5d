"""Tests of the operational store (a package, so its conftest and module names do not clash with tests/)."""
