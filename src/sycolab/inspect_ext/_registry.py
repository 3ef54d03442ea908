"""The ``inspect_ai`` entry point: importing this registers the tasks and the provider."""

from sycolab.inspect_ext.provider import SycolabAPI
from sycolab.inspect_ext.tasks import TASKS

__all__ = ["TASKS", "SycolabAPI"]
