"""Residual-stream steering with plain forward hooks (engine level: no import from mitigations).

Layer `l` means the output of decoder layer `l` (0-based), i.e. the residual stream after it.
`ResidualSteerer.installed()` adds ``multiplier * vectors[l]`` to that output, scoped by a context
manager so a hook never outlives its block. Which positions are steered is a per-sequence mask
given to `begin()` before each fresh (uncached) forward: each layer keeps its own column offset,
so KV-cache generation steers the new tokens beyond the mask (generated assistant tokens) while
the prompt columns follow the mask; left padding is simply mask 0.

Vector files (`read_steering_file`):
- ``*.safetensors``: one tensor ``layers.<l>`` per layer, sycolab metadata as JSON under the
  header key ``sycolab`` (written by `sycolab.mitigations.steering`).
- ``*.pt`` / ``*.pth``: lm-evaluation-harness's steered-model dict
  ``{hookpoint: {"steering_vector", "steering_coefficient", "action", "bias"}}`` read with
  ``torch.load(weights_only=True)``; hookpoints ``layers.<l>`` (any prefix), action ``add`` only;
  the stored vector is ``steering_coefficient * steering_vector``.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sycolab.core.errors import UserInputError
from sycolab.engine.base import SteeringConfig

_HOOKPOINT = re.compile(r"(?:^|\.)layers\.(\d+)$")
META_KEY = "sycolab"


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_steering_file(path: str | Path) -> tuple[dict[int, Any], dict[str, Any]]:
    """Per-layer float32 vectors and metadata from a `.safetensors` or lm-eval `.pt` file."""
    import torch

    p = Path(path).expanduser()
    if not p.is_file():
        raise UserInputError("no such file", param="steer", value=path)
    if p.suffix in (".pt", ".pth"):
        try:
            with open(p, "rb") as f:
                raw = torch.load(f, weights_only=True)
        except Exception as exc:
            raise UserInputError(f"cannot read the file: {exc}", param="steer", value=path) from exc
        if not isinstance(raw, dict):
            raise UserInputError("expected a dict of hookpoints (lm-eval format)",
                                 param="steer", value=path)
        vectors: dict[int, Any] = {}
        for hookpoint, info in raw.items():
            m = _HOOKPOINT.search(str(hookpoint))
            if m is None or not isinstance(info, dict):
                raise UserInputError(f"unsupported hookpoint {hookpoint!r}",
                                     param="steer", value=path)
            if info.get("action", "add") != "add":
                raise UserInputError(f"action {info.get('action')!r} of "
                                     f"{hookpoint!r} is not supported (only add)",
                                     param="steer", value=path)
            coef = float(info.get("steering_coefficient", 1.0))
            vec = torch.as_tensor(info["steering_vector"]).float().reshape(-1)
            vectors[int(m.group(1))] = coef * vec
        return vectors, {"format": "lm-eval"}
    if p.suffix != ".safetensors":
        raise UserInputError("expected a .safetensors or lm-eval .pt file",
                             param="steer", value=path)
    from safetensors import safe_open

    try:
        with safe_open(str(p), framework="pt") as f:
            header = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - not a dict
    except Exception as exc:
        raise UserInputError(f"cannot read the file: {exc}", param="steer", value=path) from exc
    vectors = {}
    for name, t in tensors.items():
        m = _HOOKPOINT.search(name)
        if m is None:
            raise UserInputError(f"unexpected tensor {name!r}", param="steer", value=path)
        vectors[int(m.group(1))] = t.float().reshape(-1)
    meta = json.loads(header[META_KEY]) if META_KEY in header else {}
    return vectors, meta


def decoder_layers(model: Any) -> list[Any]:
    """The decoder blocks of a causal LM (through a peft wrapper), in order."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    try:
        decoder = base.get_decoder()
    except (AttributeError, NotImplementedError, ValueError):
        decoder = None
    for owner in (decoder, getattr(base, "model", None), getattr(base, "transformer", None)):
        for attr in ("layers", "h", "blocks"):
            layers = getattr(owner, attr, None) if owner is not None else None
            if layers is not None and hasattr(layers, "__len__") and len(layers) > 0:
                return list(layers)
    raise UserInputError(f"steering: cannot find the decoder layers of {type(base).__name__}")


def middle_third(n_layers: int) -> list[int]:
    """Default steering layers: the middle third of the decoder (at least one layer)."""
    start, stop = n_layers // 3, max(n_layers // 3 + 1, (2 * n_layers) // 3)
    return list(range(start, min(stop, n_layers)))


class ResidualSteerer:
    """Adds ``multiplier * vectors[l]`` to decoder layer outputs while `installed()` is active.

    `mask` (set by `begin`) is a (batch, width) float tensor: 1 = steer this column, 0 = leave it;
    columns beyond `width` (tokens fed later through a KV cache) are steered. `mask=None` steers
    every position. `enabled = False` makes the hooks no-ops (for unmodified reference passes).
    """

    def __init__(
        self, model: Any, vectors: Mapping[int, Any], multiplier: float = 1.0
    ) -> None:
        self.layers = decoder_layers(model)
        self.vectors: dict[int, Any] = {}
        self.set_vectors(vectors)
        self.multiplier = float(multiplier)
        self.enabled = True
        self._cache: dict[tuple[int, Any, Any], Any] = {}
        # mask and column offsets are per thread: the engine runs batches on several threads
        self._local = threading.local()
        self._lock = threading.Lock()
        self._depth = 0
        self._handles: list[Any] = []

    @property
    def mask(self) -> Any:
        return getattr(self._local, "mask", None)

    @property
    def _offsets(self) -> dict[int, int]:
        offsets: dict[int, int] | None = getattr(self._local, "offsets", None)
        if offsets is None:
            offsets = self._local.offsets = {}
        return offsets

    def set_vectors(self, vectors: Mapping[int, Any]) -> None:
        n = len(self.layers)
        for layer in vectors:
            if not 0 <= layer < n:
                raise UserInputError(f"the model has layers 0..{n - 1}",
                                     param="layers", value=layer)
        self.vectors = dict(vectors)
        self._cache = {}

    def begin(self, mask: Any = None) -> None:
        """Start a fresh sequence batch (in this thread): its steering mask, offsets back to 0."""
        self._local.mask = mask
        self._local.offsets = {}

    def _delta(self, layer: int, hidden: Any) -> Any:
        key = (layer, hidden.dtype, hidden.device)
        vec = self._cache.get(key)
        if vec is None:
            vec = self.vectors[layer].to(device=hidden.device, dtype=hidden.dtype)
            self._cache[key] = vec
        return vec * self.multiplier

    def _hook(self, layer: int) -> Callable[[Any, Any, Any], Any]:
        def hook(module: Any, args: Any, output: Any) -> Any:
            if not self.enabled or self.multiplier == 0.0:
                return None
            hidden = output[0] if isinstance(output, tuple) else output
            width = hidden.shape[1]
            add = self._delta(layer, hidden)
            offsets, mask = self._offsets, self.mask
            start = offsets.get(layer, 0)
            offsets[layer] = start + width
            if mask is None or start >= mask.shape[1]:
                # beyond the mask: generated tokens (the batch may have shrunk since `begin`)
                steered = hidden + add
            else:
                import torch

                cols = mask[:, start : start + width]
                if cols.shape[1] < width:
                    ones = torch.ones(
                        (cols.shape[0], width - cols.shape[1]), dtype=cols.dtype,
                        device=cols.device,
                    )
                    cols = torch.cat([cols, ones], dim=1)
                cols = cols.to(device=hidden.device, dtype=hidden.dtype)
                steered = hidden + cols[:, :, None] * add
            if isinstance(output, tuple):
                return (steered, *output[1:])
            return steered

        return hook

    @contextmanager
    def installed(self) -> Iterator[ResidualSteerer]:
        """Hooks on the steered layers for the duration of the block (re-entrant, shared by
        threads: the hooks go on at the first entry and come off at the last exit)."""
        with self._lock:
            if self._depth == 0:
                self._handles = [self.layers[layer].register_forward_hook(self._hook(layer))
                                 for layer in sorted(self.vectors)]
            self._depth += 1
        try:
            yield self
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0:
                    for handle in self._handles:
                        handle.remove()
                    self._handles = []


# ---------------------------------------------------------------------- assistant-turn masks
def assistant_char_spans(
    render: Callable[[list[dict[str, str]], bool], str],
    messages: Sequence[Mapping[str, str]],
    text: str,
) -> list[tuple[int, int]]:
    """Character spans of every assistant turn in `text` (the full rendered prompt).

    `render(messages, add_generation_prompt)` is the chat template. An earlier assistant turn
    spans from the end of the conversation before it to the end of the conversation including
    it (header, content, end-of-turn marker); the final span runs from the end of the rendered
    conversation without generation prompt to the end of `text` (the generation header and any
    prefill). Raises `UserInputError` when the template is not prefix-stable.
    """
    msgs = [dict(m) for m in messages]
    spans: list[tuple[int, int]] = []

    def prefix(k: int) -> str:
        if k == 0:
            return ""
        out = render(msgs[:k], False)
        if not text.startswith(out):
            raise UserInputError(
                "steering: the chat template does not render conversations prefix by prefix, so "
                "assistant turns cannot be located"
            )
        return out

    for i, m in enumerate(msgs):
        if m["role"] == "assistant":
            spans.append((len(prefix(i)), len(prefix(i + 1))))
    spans.append((len(prefix(len(msgs))), len(text)))
    return [(s, e) for s, e in spans if e > s]


def token_mask_from_spans(
    tokenizer: Any, text: str, ids: Sequence[int], spans: Sequence[tuple[int, int]]
) -> list[float]:
    """1.0 for each token of `ids` (= the tokenization of `text`) that starts inside a span."""
    starts: list[int] | None = None
    try:
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        if [int(i) for i in enc["input_ids"]] == list(ids):
            starts = [int(a) for a, _ in enc["offset_mapping"]]
    except (NotImplementedError, TypeError, ValueError, KeyError):
        starts = None
    if starts is None:  # slow tokenizer: token counts of the text before each boundary
        flags = [0.0] * len(ids)
        for s, e in spans:
            a = len(tokenizer.encode(text[:s], add_special_tokens=False))
            b = len(tokenizer.encode(text[:e], add_special_tokens=False))
            for j in range(a, min(b, len(ids))):
                flags[j] = 1.0
        return flags
    return [1.0 if any(s <= c < e for s, e in spans) else 0.0 for c in starts]


# ---------------------------------------------------------------------- a backend's steerer
def build_steerer(model: Any, steering: SteeringConfig, *, weights_hash: str, hidden_size: int
                  ) -> tuple[ResidualSteerer, dict[str, Any]]:
    """The steerer a `SteeringConfig` asks for on `model`, checked against the model (layers,
    hidden size, the weights the vector was trained on), and its facts for config.json."""
    vectors, meta = read_steering_file(steering.path)
    layers = sorted(vectors) if steering.layers is None else list(steering.layers)
    missing = [layer for layer in layers if layer not in vectors]
    if missing:
        raise UserInputError(
            f"not in {steering.path} "
            f"(it holds layers {', '.join(map(str, sorted(vectors)))})",
            param="layers", value=' '.join(map(str, missing)))
    if not layers:
        raise UserInputError("the file holds no vectors", param="steer", value=steering.path)
    for layer in layers:
        if hidden_size and vectors[layer].numel() != hidden_size:
            raise UserInputError(
                f"layer {layer} vector has size "
                f"{vectors[layer].numel()}, the model's hidden size is {hidden_size}",
                param="steer", value=steering.path)
    trained_on = meta.get("weights_hash")
    if trained_on and trained_on != weights_hash and not steering.allow_foreign:
        raise UserInputError(
            "the vector was trained on "
            f"{meta.get('model') or 'another model'} (weights {str(trained_on)[:12]}), not on "
            f"this model (weights {weights_hash[:12]}); pass --allow-foreign-vector to apply "
            "it anyway", param="steer", value=steering.path)
    steerer = ResidualSteerer(model, {k: vectors[k] for k in layers}, steering.multiplier)
    info = {
        "path": str(steering.path),
        "file_sha256": file_sha256(steering.path),
        "multiplier": float(steering.multiplier),
        "layers": layers,
        "positions": "assistant turns (headers, content, continuations, generated tokens)",
        "vector_model": meta.get("model"),
        "vector_weights_hash": trained_on,
        "vector_data_hash": meta.get("data_hash"),
        "vector_n_pairs": meta.get("n_pairs"),
        "vector_matches_weights": None if trained_on is None else trained_on == weights_hash,
        "allow_foreign_vector": steering.allow_foreign,
    }
    return steerer, info
