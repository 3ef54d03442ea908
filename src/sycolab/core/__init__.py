"""Torch-free core: items, suites, protocols, records, metrics and statistics."""
