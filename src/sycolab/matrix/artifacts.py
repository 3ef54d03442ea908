"""Build the artifacts arms need (vectors, KTS, SFT/DPO and pinpoint adapters), keyed by their
inputs.

An artifact lives in `artifacts/<name>-<key>/`, where the key hashes the model, the artifact's
spec, the seed and the artifacts it depends on (and a heads file's content); a finished one
(marked `DONE`) is reused. Everything trains on the train split only; KTS adapters on the "train"
half of the benign set; a pinpoint adapter without `heads` locates them first on the train split
(`<artifact>/locate/locate.json`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sycolab.core.selection import select_items
from sycolab.matrix.config import FinetuneSpec, KTSSpec, MatrixConfig, PinpointSpec, VectorSpec

DONE = "DONE"
KTS_HALF = "train"  # side effects are measured on the other half ("measure")


def artifact_key(config: MatrixConfig, name: str, built: dict[str, str]) -> str:
    spec = config.artifacts[name]
    deps: list[str | None] = []
    if isinstance(spec, KTSSpec):  # KTS also depends on the benign prompts it trains on
        from sycolab.evaluation.benign import load_benign

        deps = [built.get(spec.vector), load_benign().half(KTS_HALF).content_hash]
    elif isinstance(spec, PinpointSpec) and isinstance(spec.heads, str):
        deps = [hashlib.sha256(Path(spec.heads).read_bytes()).hexdigest()]
    blob = json.dumps([config.model, config.artifact_kinds[name], spec.model_dump(mode="json"),
                       config.seed, deps], sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def build_artifact(config: MatrixConfig, name: str, root: Path, built: dict[str, str],
                   ) -> Path:
    """Build (or reuse) one artifact; returns the path arms pass as --steer or --adapter."""
    from sycolab.engine.spec import load_backend

    spec = config.artifacts[name]
    kind = config.artifact_kinds[name]
    out = root / f"{name}-{artifact_key(config, name, built)}"
    result = {"vector": out / "vector.safetensors", "kts": out / "adapter",
              "sft": out / "adapter", "dpo": out / "adapter", "pinpoint": out / "adapter"}[kind]
    if (out / DONE).exists():
        return result
    out.mkdir(parents=True, exist_ok=True)
    if isinstance(spec, VectorSpec):
        from sycolab.mitigations.steering import train_vector

        items = select_items(spec.suites, "train", spec.limit or None)
        vector = train_vector(load_backend(config.model), items, spec.layers, seed=config.seed)
        vector.save(result)
    elif isinstance(spec, KTSSpec):
        from sycolab.evaluation.benign import load_benign
        from sycolab.mitigations.kts import KTSConfig, train_kts

        benign = load_benign().half(KTS_HALF)
        train_kts(load_backend(config.model), list(benign.prompts), result,
                  KTSConfig(steps=spec.steps, seed=config.seed), vectors=[built[spec.vector]],
                  benign=benign.describe())
    elif isinstance(spec, FinetuneSpec | PinpointSpec):
        from sycolab.mitigations.data import synthesize
        from sycolab.mitigations.training import TrainConfig, train

        data = out / "data"
        synthesize(source=spec.sources, model=config.model, out=data, seed=config.seed,
                   split="train", max_examples=spec.examples)
        if isinstance(spec, PinpointSpec):
            train("pinpoint", data, model=config.model, out=result,
                  config=TrainConfig(seed=config.seed), resume=True,
                  heads=_heads(config, spec, out), heads_protocol=spec.locate_protocol,
                  top=spec.top)
        else:
            train("sft" if kind == "sft" else "dpo", data, model=config.model, out=result,
                  config=TrainConfig(seed=config.seed), resume=True)
    (out / DONE).write_text("ok\n")
    return result


def _heads(config: MatrixConfig, spec: PinpointSpec, out: Path) -> Any:
    """The spec's heads, or `out/locate/locate.json` from localisation on the train split."""
    if spec.heads is not None:
        return spec.heads
    located = out / "locate" / "locate.json"
    if not located.is_file():
        from sycolab.evaluation.locate import run_locate

        run_locate(config.model, suites=spec.locate_suites,
                          protocols=[spec.locate_protocol], split="train",
                          limit=spec.locate_limit, seed=config.seed, out=out / "locate",
                          progress=False)
    return located
