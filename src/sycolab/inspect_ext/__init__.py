"""sycolab inside Inspect (UK AISI's `inspect_ai`): one task per protocol, a model provider that
serves Inspect from a sycolab backend with its mitigations, and the conversion of an Inspect log
of those tasks into a sycolab run folder (docs/inspect.md).

Installed with ``pip install sycolab[inspect]``; Inspect finds the tasks (``sycolab/<protocol>``)
and the provider (``--model sycolab/<spec>``) through the ``inspect_ai`` entry point, which
imports `sycolab.inspect_ext._registry`. Nothing here is imported by the rest of sycolab except
the ``import-inspect`` command.
"""

__all__: list[str] = []
