"""Causal localisation of sycophancy: which attention heads and MLP blocks carry the pressure's
effect on the answer (attribution patching over every component, real activation patching of the
top ones).

    from sycolab.evaluation.locate import run_locate, read_heads
    doc = run_locate("smollm2", suites=["arithmetic"], protocols=["suggest-incorrect"],
                     limit=100, out="locate/")
    heads = read_heads("locate/locate.json", top=4)

Modules: `prompt_pairs` (each trial's baseline and pressured prompts as token ids), `patching`
(attribution patching and real activation patching through the engine's hook points).
"""

from sycolab.evaluation.locate._heads import (
    Head,
    heads_from_doc,
    load_heads_file,
    parse_heads,
    read_heads,
    take_heads,
)
from sycolab.evaluation.locate._run import LOCATE_FILE, run_locate

__all__ = ["LOCATE_FILE", "Head", "heads_from_doc", "load_heads_file", "parse_heads", "read_heads",
           "run_locate", "take_heads"]
