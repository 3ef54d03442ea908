"""The planted-mechanism model (tests/planted.py) does what it claims, checked with plain
ablations through sycolab's own evaluation and hook points: the planted head alone carries the
suggest-incorrect effect, the control head does not, and patching the planted head's output at the
assistant-turn positions (aligned from the end) with its baseline output restores the baseline
margin, the operation `sycolab locate` performs."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

import planted

from sycolab.core.suites import load_suite
from sycolab.engine.base import ChoiceRequest
from sycolab.engine.hf_backend import HFBackend
from sycolab.engine.spec import load_backend
from sycolab.evaluation.api import evaluate
from sycolab.evaluation.plan import build_plan
from sycolab.evaluation.runner import Runner, TrialState

PROTOCOL = "suggest-incorrect"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> planted.Planted:
    return planted.build_planted(tmp_path_factory.mktemp("planted"))


@pytest.fixture(scope="module")
def backend(built: planted.Planted) -> Iterator[HFBackend]:
    b = load_backend(f"hf:{built.model_dir}", device="cpu")
    assert isinstance(b, HFBackend)
    yield b
    b.close()


def head(point: tuple[int, int]) -> str:
    return f"blocks.{point[0]}.attn.head.{point[1]}"


def components(b: HFBackend) -> list[str]:
    return [p for p in b.hook_points() if not p.endswith(".residual")]


def requests(b: HFBackend, suite: Path, limit: int | None = None
             ) -> list[tuple[ChoiceRequest, ChoiceRequest]]:
    """(baseline, pressured) choice requests of each suggest-incorrect trial, as the runner
    builds them."""
    plan = build_plan([load_suite(f"jsonl:{suite}")], [PROTOCOL], scoring="choice", limit=limit)
    runner = Runner(b, system_prompt=None, max_new_tokens=4)
    out = []
    for trial in plan.trials:
        state = TrialState(trial)
        first = runner.request(state)
        state.answers.append(trial.item.gold)
        second = runner.request(state)
        assert isinstance(first, ChoiceRequest) and isinstance(second, ChoiceRequest)
        out.append((first, second))
    return out


def rates(b: HFBackend, built: planted.Planted, out: Path) -> dict[str, float]:
    run = evaluate(f"hf:{built.model_dir}", backend=b, suite=[f"jsonl:{built.paint}"],
                   protocol=[PROTOCOL], scoring="choice", out=out, device="cpu", progress=False)
    (group,) = run.results["groups"]
    return {k: float(group["metrics"][k]["value"])
            for k in ("accuracy_baseline", "agreement_rate")}


def test_build_is_fast_deterministic_and_shaped_as_documented(
        built: planted.Planted, backend: HFBackend, tmp_path: Path) -> None:
    start = time.perf_counter()
    again = planted.build_planted(tmp_path / "a")
    assert time.perf_counter() - start < 5.0
    weights = "model.safetensors"
    assert (again.model_dir / weights).read_bytes() == (built.model_dir / weights).read_bytes()
    other = planted.build_planted(tmp_path / "b", seed=1, texts=["Hello, my name is Maria."])
    assert (other.model_dir / weights).read_bytes() != (built.model_dir / weights).read_bytes()
    bigger = load_backend(f"hf:{other.model_dir}", device="cpu")
    assert isinstance(bigger, HFBackend)
    assert "Maria" in bigger.tokenizer.get_vocab()
    assert "Maria" not in backend.tokenizer.get_vocab()
    seeded = rates(bigger, other, tmp_path / "seed1")  # another seed, a larger vocabulary
    assert seeded["accuracy_baseline"] >= 0.9 and seeded["agreement_rate"] >= 0.8
    bigger.close()
    assert (built.num_layers, built.num_heads) == (backend.num_layers, backend.num_heads) == (4, 4)
    assert (backend.hidden_size, backend.head_dim) == (128, 32)
    assert len(components(backend)) == 20
    assert built.planted[0] == built.control[0] and built.planted != built.control
    attn = backend.model.model.layers[built.planted[0]].self_attn
    rows = slice(built.planted[1] * 32, (built.planted[1] + 1) * 32)
    assert float(attn.q_proj.weight[rows].detach().abs().sum()) == 0.0  # uniform causal attention
    control = slice(built.control[1] * 32, (built.control[1] + 1) * 32)
    assert 0.0 < float(attn.o_proj.weight[:, control].detach().abs().max()) < 0.1  # small, not zero


def test_the_planted_head_alone_carries_the_suggestion(
        built: planted.Planted, backend: HFBackend, tmp_path: Path) -> None:
    plain = rates(backend, built, tmp_path / "plain")
    with backend.hooked(head(built.planted), lambda a: a * 0):
        ablated = rates(backend, built, tmp_path / "planted")
    with backend.hooked(head(built.control), lambda a: a * 0):
        control = rates(backend, built, tmp_path / "control")
    print(f"paint/{PROTOCOL}: plain {plain}, planted head zeroed {ablated}, "
          f"control head zeroed {control}")
    assert plain["accuracy_baseline"] >= 0.9 and plain["agreement_rate"] >= 0.8
    assert ablated["accuracy_baseline"] >= 0.9 and ablated["agreement_rate"] <= 0.1
    assert control["accuracy_baseline"] >= 0.9
    assert abs(control["agreement_rate"] - plain["agreement_rate"]) <= 0.05


def test_every_other_component_barely_moves_the_pressured_margin(
        built: planted.Planted, backend: HFBackend) -> None:
    pairs = requests(backend, built.paint)

    def mean_margin() -> float:
        scores = backend.score([pressured for _, pressured in pairs])
        return sum(float(s[0] or 0) - float(s[1] or 0) for s in scores) / len(scores)

    plain = mean_margin()
    effects = {}
    for point in components(backend):
        with backend.hooked(point, lambda a: a * 0):
            effects[point] = mean_margin() - plain
    print(f"pressured margin {plain:.3f}; zeroing effects: "
          + ", ".join(f"{p} {e:+.3f}" for p, e in effects.items()))
    top = effects.pop(head(built.planted))
    assert top > 5.0
    assert max(abs(e) for e in effects.values()) < 0.1 * top


def _run(b: HFBackend, ids: list[int], hooks: dict[str, Callable[[Any], Any]], *,
         grad: bool = False) -> Any:
    """Log-probabilities at the last position of `ids`, with `hooks` at their points."""
    with ExitStack() as stack:
        for point, fn in hooks.items():
            stack.enter_context(b.hooked(point, fn))
        return torch.log_softmax(b.forward_logits(torch.tensor([ids]), grad=grad)[0, -1], -1)


def _tail(b: HFBackend, ids: list[int], names: list[str], n: int) -> tuple[Any, dict[str, Any]]:
    """Log-probabilities, and each point's activation at the last `n` positions."""
    acts: dict[str, Any] = {}

    def keep(point: str) -> Callable[[Any], None]:
        def fn(a: Any) -> None:
            acts[point] = a.detach()[0, -n:].clone()
        return fn

    return _run(b, ids, {p: keep(p) for p in names}), acts


def _replaced(b: HFBackend, ids: list[int], point: str, tail: Any) -> Any:
    """Log-probabilities with `point`'s activation at the last positions replaced by `tail`."""
    def fn(a: Any) -> Any:
        out = a.clone()
        out[0, -len(tail):] = tail
        return out

    return _run(b, ids, {point: fn})


def _gradients(b: HFBackend, ids: list[int], shapes: dict[str, Any],
               margin: Callable[[Any], Any]) -> dict[str, Any]:
    """d margin / d activation at the last positions (`shapes`: point -> tail activation)."""
    deltas = {p: torch.zeros_like(t, requires_grad=True) for p, t in shapes.items()}

    def shift(point: str) -> Callable[[Any], Any]:
        def fn(a: Any) -> Any:
            d = deltas[point]
            return a + torch.cat([torch.zeros_like(a[0, : a.shape[1] - len(d)]), d])[None]
        return fn

    margin(_run(b, ids, {p: shift(p) for p in shapes}, grad=True)).backward()
    b.model.zero_grad(set_to_none=True)
    return {p: d.grad for p, d in deltas.items()}


def test_patching_the_planted_head_at_the_assistant_turn_restores_the_baseline_margin(
        built: planted.Planted, backend: HFBackend) -> None:
    """Margin = log p(gold) - log p(wrong) at the answer position; the planted head's output on
    the pressured prompt is replaced, from the assistant turn onward (aligned from the end), by its
    output on the baseline prompt. Attribution patching (gradient x activation difference at
    those positions) is computed for every component as well."""
    start_turn = backend.tokenizer.convert_tokens_to_ids("<|im_start|>")
    names = components(backend)
    target, control = head(built.planted), head(built.control)
    for base_req, pres_req in requests(backend, built.paint, limit=6):
        (base_ids, conts), (pres_ids, _) = (backend.encode_choice(base_req),
                                            backend.encode_choice(pres_req))
        assert all(len(c) == 1 for c in conts)
        gold, wrong = conts[0][0], conts[1][0]

        def margin(logprobs: Any, gold: int = gold, wrong: int = wrong) -> Any:
            return logprobs[gold] - logprobs[wrong]

        n = len(pres_ids) - max(i for i, t in enumerate(pres_ids) if t == start_turn)
        assert n == len(base_ids) - max(i for i, t in enumerate(base_ids) if t == start_turn)
        base_lp, base_acts = _tail(backend, base_ids, names, n)
        pres_lp, pres_acts = _tail(backend, pres_ids, names, n)
        base_m, pres_m = float(margin(base_lp)), float(margin(pres_lp))
        assert base_m > 0 > pres_m
        effect = {p: float(margin(_replaced(backend, pres_ids, p, base_acts[p]))) - pres_m
                  for p in (target, control)}
        recovered = effect[target] / (base_m - pres_m)
        grads = _gradients(backend, pres_ids, pres_acts, margin)
        attribution = {p: float(((base_acts[p] - pres_acts[p]) * grads[p]).sum()) for p in names}
        ranked = sorted(names, key=lambda p: -attribution[p])
        print(f"margins base {base_m:.3f} pressured {pres_m:.3f}; patching planted "
              f"{effect[target]:.3f} ({recovered:.1%} recovered), control {effect[control]:.4f};"
              f" attribution planted {attribution[target]:.3f}, control "
              f"{attribution[control]:.4f}, next {ranked[1]} {attribution[ranked[1]]:.4f}")
        assert recovered >= 0.9
        assert abs(effect[control]) < 0.01 * (base_m - pres_m)
        assert ranked[0] == target
        assert abs(attribution[control]) < 0.01 * attribution[target]
