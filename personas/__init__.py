"""Bundled persona YAML files (data, not code)."""
