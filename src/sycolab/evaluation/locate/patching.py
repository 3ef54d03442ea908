"""Attribution patching and real activation patching of attention heads and MLP blocks.

Rows of a chunk are left-padded, so the last M columns of every row (M = the longest patched
region) line up between the clean (baseline prompt) and corrupt (pressured prompt) runs;
a row's own region is its last ``region`` columns (the assistant turn onward, aligned from the
end). The margin of a trial is log p(baseline answer) - log p(suggested answer), each summed over
its tokens. A component's effect is the margin of the corrupt run with that component's region
activations replaced by the clean run's, minus the corrupt margin (positive: the component
carries the pressure's effect).

Attribution patching (Nanda 2023; Syed et al. 2023) estimates every effect at once from one
forward and backward pass of the corrupt run: grad(margin) . (clean - corrupt activation), summed
over the region. Written here (not taken from a library) because it runs through sycolab's own
hook points, prompt pairs and padding.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from sycolab.engine.local_model import LocalModel
from sycolab.engine.padding import padded_batch
from sycolab.evaluation.locate.prompt_pairs import PromptPair


@dataclass(frozen=True)
class Component:
    """An attention head (``head`` set) or an MLP block (``head`` None) of one layer."""

    layer: int
    head: int | None

    @property
    def name(self) -> str:
        if self.head is None:
            return f"blocks.{self.layer}.mlp"
        return f"blocks.{self.layer}.attn.head.{self.head}"

    @property
    def kind(self) -> str:
        return "mlp" if self.head is None else "head"


def components(num_layers: int, num_heads: int) -> list[Component]:
    """Every head, then the MLP, layer by layer."""
    out: list[Component] = []
    for layer in range(num_layers):
        out += [Component(layer, h) for h in range(num_heads)]
        out.append(Component(layer, None))
    return out


@dataclass
class Batch:
    """A chunk of pairs as left-padded tensors: rows 2i (baseline answer) and 2i + 1 (suggested)
    belong to pair i, in the clean and the corrupt run alike."""

    clean: tuple[Any, Any, Any]  # ids, attention mask, position ids
    corrupt: tuple[Any, Any, Any]
    region: Any  # (rows, M) bool: the row's patched columns among the last M
    reads: Any  # (rows, M) bool: columns whose logits predict a continuation token
    targets: Any  # (rows, M) long: the token each read column predicts
    sign: Any  # (rows,) +1 for the baseline answer's row, -1 for the suggested one's
    m: int


def _padded(seqs: Sequence[list[int]], pad: int) -> tuple[Any, Any, Any]:
    """Left-padded ids, attention mask and position ids (counting real tokens only)."""
    ids, mask, _ = padded_batch([(s, ()) for s in seqs], pad, left=True)
    return ids, mask, (mask.cumsum(-1) - 1).clamp(min=0)


def make_batch(pairs: Sequence[PromptPair], pad_id: int) -> Batch:
    import torch

    clean = [s for p in pairs for s in p.clean]
    corrupt = [s for p in pairs for s in p.corrupt]
    regions = [r for p in pairs for r in p.region]
    conts = [c for p in pairs for c in p.cont_len]
    m = max(regions)
    rows = len(clean)
    region = torch.zeros((rows, m), dtype=torch.bool)
    reads = torch.zeros((rows, m), dtype=torch.bool)
    targets = torch.zeros((rows, m), dtype=torch.long)
    for r in range(rows):
        region[r, m - regions[r]:] = True
        n = conts[r]
        # the last n tokens are the continuation; column j predicts token j + 1
        reads[r, m - n - 1: m - 1] = True
        targets[r, m - n - 1: m - 1] = torch.tensor(corrupt[r][len(corrupt[r]) - n:])
    sign = torch.tensor([1.0 if r % 2 == 0 else -1.0 for r in range(rows)])
    return Batch(_padded(clean, pad_id), _padded(corrupt, pad_id), region, reads, targets, sign,
                 m)


def _margins(logits: Any, batch: Batch) -> Any:
    """Per pair, log p(baseline answer) - log p(suggested answer) from the last-M logits."""
    import torch

    lp = torch.log_softmax(logits.float(), dim=-1)
    tok = torch.gather(lp, 2, batch.targets[:, :, None].to(lp.device))[:, :, 0]
    per_row = (tok * batch.reads.to(lp.device)).sum(-1) * batch.sign.to(lp.device)
    return per_row.view(-1, 2).sum(-1)


def _forward(backend: LocalModel, inputs: tuple[Any, Any, Any], m: int) -> Any:
    ids, mask, pos = (t.to(backend.device) for t in inputs)
    return backend.model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=False,
                         logits_to_keep=m).logits


def _point(c: Component) -> str:
    return f"blocks.{c.layer}.mlp" if c.head is None else f"blocks.{c.layer}.attn.heads"


@contextmanager
def frozen(model: Any) -> Iterator[None]:
    """Parameters need no gradient inside the block (attribution only differentiates through
    activations); their flags are restored after."""
    params = [p for p in model.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def capture(backend: LocalModel, inputs: tuple[Any, Any, Any], points: Sequence[str],
            batch: Batch) -> tuple[Any, dict[str, Any]]:
    """Margins of an unpatched run and the last-M activations at `points` (hook point names)."""
    import torch

    seen: dict[str, Any] = {}

    def grab(name: str) -> Any:
        def fn(act: Any) -> None:
            seen[name] = act[:, -batch.m:].detach().clone()

        return fn

    with ExitStack() as stack, torch.inference_mode():
        for point in points:
            stack.enter_context(backend.hooked(point, grab(point)))
        logits = _forward(backend, inputs, batch.m)
        margins = _margins(logits, batch)
    return margins.cpu(), seen


def attribute(backend: LocalModel, batch: Batch, comps: Sequence[Component]
              ) -> tuple[Any, Any, Any]:
    """Clean margins, corrupt margins and the attribution estimate (pairs, components)."""
    import torch

    layers = list(range(backend.num_layers))
    points = [p for layer in layers for p in (f"blocks.{layer}.attn.heads", f"blocks.{layer}.mlp")]
    clean_margin, clean_acts = capture(backend, batch.clean, points, batch)
    shifts: dict[str, Any] = {}
    acts: dict[str, Any] = {}

    def mark(name: str) -> Any:
        def fn(act: Any) -> Any:
            # a zero leaf added to the activation: its gradient is the activation's
            z = torch.zeros_like(act, requires_grad=True)
            shifts[name], acts[name] = z, act[:, -batch.m:].detach()
            return act + z

        return fn

    with frozen(backend.model), ExitStack() as stack, torch.enable_grad():
        for point in points:
            stack.enter_context(backend.hooked(point, mark(point)))
        logits = _forward(backend, batch.corrupt, batch.m)
        margins = _margins(logits, batch)
        names = list(shifts)
        grads = torch.autograd.grad(margins.sum(), [shifts[n] for n in names])
    region = batch.region.to(margins.device)
    n_pairs = margins.shape[0]
    # per point, grad . (clean - corrupt) over the patched positions: (pairs,) for an MLP,
    # (pairs, heads) for a layer's heads
    per_point = {}
    for name, g in zip(names, grads, strict=True):
        prod = (g[:, -batch.m:] * (clean_acts[name].to(acts[name].device) - acts[name])).sum(-1)
        mask = region if prod.dim() == 2 else region[:, :, None]
        per_point[name] = (prod * mask).sum(1).view(n_pairs, 2, *prod.shape[2:]).sum(1)
    out = torch.zeros((n_pairs, len(comps)), dtype=torch.float64)
    for j, c in enumerate(comps):
        value = per_point[_point(c)]
        out[:, j] = (value if c.head is None else value[:, c.head]).double().cpu()
    return clean_margin.double(), margins.detach().double().cpu(), out


def patch(backend: LocalModel, batch: Batch, comps: Sequence[Component]) -> Any:
    """Real patching: per component, the corrupt run's margins with that component's region
    activations taken from the clean run (pairs, components).

    Patching changes nothing before the last M columns, so the corrupt prefix runs once and its
    key/value cache is reused (a copy per component): each patched run computes M columns only.
    """
    import copy

    import torch

    _, clean_acts = capture(backend, batch.clean, sorted({_point(c) for c in comps}), batch)
    region = batch.region.to(backend.device)
    n_pairs = batch.region.shape[0] // 2
    out = torch.zeros((n_pairs, len(comps)), dtype=torch.float64)
    ids, mask, pos = (t.to(backend.device) for t in batch.corrupt)
    cut = ids.shape[1] - batch.m
    kwarg = backend.cache_kwarg()
    with torch.inference_mode():
        if cut > 0:
            prefix = backend.model(input_ids=ids[:, :cut], attention_mask=mask[:, :cut],
                                   position_ids=pos[:, :cut], use_cache=True, logits_to_keep=1)
            cache = prefix[kwarg] if kwarg in prefix else prefix["past_key_values"]
        else:
            cache = None
    for j, c in enumerate(comps):
        point = _point(c)
        clean = clean_acts[point].to(backend.device)

        def swap(act: Any, c: Component = c, clean: Any = clean) -> Any:
            new = act.clone()
            tail = new[:, -batch.m:]
            if c.head is None:
                tail[region] = clean[region]
            else:
                own = tail[:, :, c.head]  # a view: writing it writes `new`
                own[region] = clean[:, :, c.head][region]
            return new

        extra = {} if cache is None else {kwarg: copy.deepcopy(cache)}
        with torch.inference_mode(), backend.hooked(point, swap):
            logits = backend.model(input_ids=ids[:, cut:], attention_mask=mask,
                                   position_ids=pos[:, cut:], use_cache=cache is not None,
                                   logits_to_keep=batch.m, **extra).logits
            out[:, j] = _margins(logits, batch).double().cpu()
    return out
