"""Evaluation: plan trials, run them on a backend, keep the run folder.

Its modules are the API; the public entry points are `sycolab.evaluate`, `sycolab.rescore`
and `sycolab.audit` (`sycolab.workflows`), which add the HTML reports.
"""

__all__: list[str] = []
