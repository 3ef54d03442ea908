"""Torch-free core: items, suites, protocols, records, metrics and statistics.

Its modules are the API (`sycolab.core.metrics`, `sycolab.core.suites`, ...); the
package itself exports nothing.
"""

__all__: list[str] = []
