"""Usability of the mitigations: the known filter stops early with the same examples, artifacts
get the usual permissions, long phases show progress, and a sweep loads its model once."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from sycolab.cli.app import app
from sycolab.cli.steer_cmd import sweep_table
from sycolab.core.splits import assign_split
from sycolab.core.suites import load_suite
from sycolab.engine.base import Backend, ChoiceRequest, GenerateRequest, Progress, SteeringConfig
from sycolab.evaluation.side_effects import phase_progress
from sycolab.mitigations.data import BaseItem, base_items, known_mask, synthesize
from sycolab.mitigations.data._build import assign_orders
from sycolab.mitigations.data._known import known_requests

torch = pytest.importorskip("torch")

from sycolab.mitigations.steering import SteeringVector, sweep


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


# ---------------------------------------------------------------- known filter: lazy, same result
class Knows(Backend):
    """Knows about two thirds of the base items (by their id), in every option order; counts."""

    def __init__(self) -> None:
        self.requests = 0

    def score(self, requests: Sequence[ChoiceRequest], progress: Progress | None = None
              ) -> list[list[float | None]]:
        self.requests += len(requests)
        out: list[list[float | None]] = []
        for r in requests:
            assert r.hints is not None
            known = int(hashlib.sha256(str(r.hints.item_key).encode()).hexdigest(), 16) % 3 != 0
            right = r.continuations.index(str(r.hints.gold))
            out.append([0.0 if (i == right) == known else -1.0 for i in range(2)])
        if progress is not None:
            progress(len(requests))
        return out

    def generate(self, requests: Sequence[GenerateRequest], progress: Progress | None = None
                 ) -> list[str]:
        return [""] * len(requests)

    def describe(self) -> dict[str, Any]:
        return {"spec": "test:knows", "weights_hash": ""}


def _eager_select(kept: dict[str, list[BaseItem]], budget: int) -> list[BaseItem]:
    """The selection as it was before the lazy filter (every candidate checked first)."""
    queues: list[list[list[BaseItem]]] = []
    for bases in kept.values():
        agree = [b for b in bases if b.kind == "claim" and b.target == "Agree"]
        disagree = [b for b in bases if b.kind == "claim" and b.target == "Disagree"]
        pairs = [[a, d] for a, d in zip(agree, disagree, strict=False)]
        qas = [[b] for b in bases if b.kind == "qa"]
        units: list[list[BaseItem]] = []
        for i in range(max(len(pairs), len(qas))):
            units += ([pairs[i]] if i < len(pairs) else []) + ([qas[i]] if i < len(qas) else [])
        queues.append(units)
    selected: list[BaseItem] = []
    progress = True
    while progress:
        progress = False
        for units in queues:
            if units and len(selected) + len(units[0]) <= budget:
                selected += units.pop(0)
                progress = True
    return selected


def _eager_mask(backend: Backend, bases: list[BaseItem]) -> list[bool]:
    """The known filter as it was: every order of every candidate asked at once."""
    requests, owners = known_requests(bases)
    ok = [True] * len(bases)
    for req, owner, sc in zip(requests, owners, backend.score(requests), strict=True):
        right = req.continuations.index(bases[owner].target)
        t, o = sc[right], sc[1 - right]
        if t is None or o is None or not t > o:
            ok[owner] = False
    return ok


def _eager_records(sources: Sequence[str], split: str, max_examples: int, seed: int
                   ) -> tuple[list[dict[str, Any]], int]:
    backend = Knows()
    kept = {}
    for spec in sources:
        suite = load_suite(spec)
        items = [it for it in suite.items if assign_split(it.suite, it.item_id) == split]
        bases = base_items(items, seed)
        kept[suite.name] = [b for b, ok in zip(bases, _eager_mask(backend, bases), strict=True)
                            if ok]
    examples = assign_orders(_eager_select(kept, max_examples // 2), seed)
    return [ex.record(i) for i, ex in enumerate(examples)], backend.requests


@pytest.mark.parametrize(("max_examples", "seed"), [(20, 0), (20, 7), (60, 1), (10_000, 0)])
def test_known_filter_stops_early_with_the_same_examples(
    tmp_path: Path, max_examples: int, seed: int
) -> None:
    backend = Knows()
    res = synthesize(backend=backend, out=tmp_path, seed=seed, max_examples=max_examples,
                     max_heldout=max_examples, progress=False, min_yield=0.0)
    train, train_requests = _eager_records(["facts", "addition-claims"], "train", max_examples,
                                           seed)
    held, held_requests = _eager_records(["arithmetic"], "test", max_examples, seed)
    assert [ex.record(i) for i, ex in enumerate(res.train.examples)] == train
    assert [ex.record(i) for i, ex in enumerate(res.heldout.examples)] == held
    rows = [json.loads(line) for line in (tmp_path / "train.jsonl").read_text().splitlines()]
    assert rows == train
    if max_examples <= 60:
        assert backend.requests < (train_requests + held_requests) / 2
    else:  # everything is needed: everything is checked (wrong claims in one order only)
        assert res.train.n_checked == res.train.n_candidates
        assert backend.requests < train_requests + held_requests
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    for part in ("train", "heldout"):
        for labels in manifest["counts"][part].values():
            for c in labels.values():
                assert c["known"] <= c["checked"] <= c["before"] and c["after"] <= c["known"]
                assert c["checked"] > 0  # every label is sampled, so the yield covers it


def test_known_mask_asks_the_second_order_only_when_the_first_is_right() -> None:
    bases = base_items(load_suite("facts").items[:60], 0)
    backend = Knows()
    mask = known_mask(backend, bases)
    assert mask == _eager_mask(Knows(), bases)
    claims = [ok for b, ok in zip(bases, mask, strict=True) if b.kind == "claim"]
    assert 0 < sum(claims) < len(claims)
    assert backend.requests == len(bases) + sum(claims)  # one each, a second for known claims


def test_known_yield_estimate_is_exact_when_everything_is_checked(tmp_path: Path) -> None:
    res = synthesize(backend=Knows(), out=tmp_path, max_examples=10_000, max_heldout=10_000,
                     progress=False, min_yield=0.0)
    bases = [b for s in ("facts", "addition-claims") for b in base_items(
        [it for it in load_suite(s).items if assign_split(it.suite, it.item_id) == "train"], 0)]
    full = _eager_mask(Knows(), bases)
    assert res.train.n_checked == res.train.n_candidates == len(bases)
    assert res.train.known_yield == pytest.approx(sum(full) / len(full))


def test_synth_cli_shows_checked_counts_and_progress(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["data", "synth", "--model", "mock:stubborn", "--max-examples",
                                   "20", "--max-heldout", "20", "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "checked" in res.stdout and "known yield" in res.stdout
    assert "known filter: train" in res.stderr and "known filter: heldout" in res.stderr
    quiet = CliRunner().invoke(app, ["data", "synth", "--model", "mock:stubborn", "--max-examples",
                                     "20", "--out", str(tmp_path / "q"), "--no-progress"])
    assert quiet.exit_code == 0 and "known filter" not in quiet.stderr


# ---------------------------------------------------------------- artifact permissions
@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_artifacts_respect_the_umask(tmp_path: Path, umask: None, mask: int) -> None:
    os.umask(mask)
    synthesize(model=None, out=tmp_path / "synth", max_examples=20, max_heldout=20,
               progress=False)
    vec = SteeringVector({0: torch.ones(4)})
    files = [*sorted((tmp_path / "synth").iterdir()), vec.save(tmp_path / "v.safetensors"),
             vec.save(tmp_path / "v.pt")]
    assert len(files) == 8
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o666 & ~mask, f
    assert not list(tmp_path.rglob("*.tmp"))


# ---------------------------------------------------------------- progress
def test_phase_progress_nests_and_switches_off(capsys: pytest.CaptureFixture[str]) -> None:
    with phase_progress("outer", 2) as outer:
        outer.note("first")
        with phase_progress("inner", 3) as inner:
            inner(3)
        outer(2)
    err = capsys.readouterr().err
    assert "outer: first" in err and "2/2" in err
    with phase_progress("outer", 1, enabled=False) as outer, phase_progress("inner", 1) as inner:
        inner(1)
        outer(1)
    with phase_progress("auto", 1, enabled=None) as bar:  # stderr is no terminal here
        bar(1)
    assert capsys.readouterr().err == ""


def test_side_effect_pass_reports_progress(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("transformers")
    from test_steering import tiny_model, tiny_tokenizer
    from toy_prompts import prompt, question

    from sycolab.engine.hf_backend import HFBackend
    from sycolab.evaluation.interventions import Interventions
    from sycolab.evaluation.side_effect_report import side_effects
    from sycolab.evaluation.side_effects import measure_side_effects

    tok = tiny_tokenizer()
    path = SteeringVector({1: torch.randn(64)}).save(tmp_path / "v.safetensors")
    steering = SteeringConfig(str(path), 1.0, None)
    backend = HFBackend(tiny_model(tok, seed=2), tok, spec="hf:t", weights_hash="t",
                        steering=steering)
    seen: list[int] = []
    prompts = [prompt(question(f"t{i}", f"f{i}", True)) for i in range(5)]
    measure_side_effects(backend, prompts, batch_size=2, progress=seen.append)
    assert seen == [2, 2, 1]
    block = side_effects(backend, Interventions(steering=steering), None, {"groups": []},
                         tmp_path, None, progress=True)
    assert block is not None and block["kl"]["n"] > 0
    err = capsys.readouterr().err
    assert "side effects: benign prompts" in err and f"{block['kl']['n']}/{block['kl']['n']}" in err


def test_steer_train_cli_validates_before_loading(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["steer", "train", "--model", "hf:/nonexistent/m", "--suite",
                                   "arithmetic", "--split", "bogus", "--out", str(tmp_path / "v")])
    assert res.exit_code == 2 and "--split" in res.output
    assert len([line for line in res.output.splitlines() if line.strip()]) == 1


# ---------------------------------------------------------------- sweep: one backend, named runs
class FakeBackend:
    """Records the steering set before each run."""

    def __init__(self) -> None:
        self.steering: SteeringConfig | None = None
        self.history: list[SteeringConfig | None] = []
        self.closed = False

    def set_steering(self, steering: SteeringConfig | None) -> None:
        self.steering = steering
        self.history.append(steering)

    def close(self) -> None:
        self.closed = True


def _metric(value: float, n: int) -> dict[str, Any]:
    return {"value": value, "ci_low": value - 0.1, "ci_high": value + 0.1, "n": n}


@pytest.fixture
def fake_sweep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    from sycolab import workflows
    from sycolab.engine import spec
    from sycolab.evaluation import api

    vector = tmp_path / "v.safetensors"
    SteeringVector({1: torch.ones(8), 2: torch.ones(8)}).save(vector)
    state = SimpleNamespace(loads=[], runs=[], backend=None, vector=vector, tmp=tmp_path)

    def load_backend(model: str, **kw: Any) -> FakeBackend:
        state.loads.append((model, kw))
        backend = FakeBackend()
        state.backend = backend
        return backend

    def evaluate(model: str, *, backend: Any, out: Path, multiplier: float | None = None,
                 layers: Sequence[int] | None = None, **kw: Any) -> Any:
        assert backend is state.backend
        state.runs.append((out.name, backend.steering, multiplier, layers, kw))
        agree = 0.5 if multiplier is None else 0.5 + 0.1 * multiplier
        results = {"groups": [{"suite": "arithmetic", "protocol": "suggest-incorrect",
                               "metrics": {"agreement_rate": _metric(agree, 40),
                                           "accuracy_baseline": _metric(0.8, 40)}}]}
        return SimpleNamespace(results=results, run_dir=out)

    monkeypatch.setattr(spec, "load_backend", load_backend)
    monkeypatch.setattr(api, "evaluate", evaluate)
    monkeypatch.setattr(workflows, "write_run_report", lambda run_dir: None)  # no folders here
    return state


def test_sweep_loads_once_and_steers_each_setting(fake_sweep: SimpleNamespace) -> None:
    s = fake_sweep
    res = sweep("hf:some/model", s.vector, suite=["arithmetic"], layers=[1, 2],
                multipliers=[-1, 1], limit=4, out=s.tmp / "sw", progress=False)
    assert len(s.loads) == 1 and s.backend.closed
    names = [r[0] for r in s.runs]
    assert names == ["reference", "layer1_m-1.0", "layer1_m1.0", "layer2_m-1.0", "layer2_m1.0"]
    assert s.runs[0][1] is None
    for name, steering, mult, layers, _ in s.runs[1:]:
        assert steering == SteeringConfig(str(s.vector), mult, tuple(layers))
        assert name == f"layer{layers[0]}_m{mult}"
    assert s.backend.steering is None  # left unsteered
    assert res.chosen is not None and res.chosen.name == "layer1_m-1.0"
    assert Path(res.chosen.run_dir) == s.tmp / "sw" / "layer1_m-1.0"
    summary = json.loads((s.tmp / "sw" / "sweep.json").read_text())
    assert summary["rows"][0]["groups"][0]["agreement_rate"]["n"] == 40


def test_sweep_default_folder_is_named(fake_sweep: SimpleNamespace,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(fake_sweep.tmp)
    res = sweep("smollm2", fake_sweep.vector, suite=["arithmetic"], layers=[2],
                multipliers=[0.5], progress=False)
    root = Path(res.out)
    assert root.parent == Path("runs") and root.name.startswith("sweep-")
    assert {p.name for p in root.iterdir()} == {"sweep.json"}  # the fake writes no runs
    assert [r[0] for r in fake_sweep.runs] == ["reference", "layer2_m0.5"]


def test_sweep_cli_table_has_n_intervals_folders_and_progress(fake_sweep: SimpleNamespace
                                                              ) -> None:
    s = fake_sweep
    out = s.tmp / "sw"
    res = CliRunner().invoke(app, ["steer", "sweep", "--model", "hf:some/model", "--vector",
                                   str(s.vector), "--layers", "1", "--multipliers", "-1",
                                   "--multipliers", "2", "--suite", "arithmetic", "--out",
                                   str(out)])
    assert res.exit_code == 0, res.output
    assert len(s.loads) == 1
    text = res.stdout
    assert str(out) in text and "sweep.json" in text
    for name in ("reference", "layer1_m-1.0", "layer1_m2.0"):
        assert name in text
    assert "agreement_rate [95% CI]" in text and "0.400 [0.300, 0.500]" in text
    assert " 40 " in text
    assert "chosen: --layers 1 --multiplier -1" in text and str(out / "layer1_m-1.0") in text
    assert "steer sweep" in res.stderr and "3/3" in res.stderr  # the progress bar
    quiet = CliRunner().invoke(app, ["steer", "sweep", "--model", "hf:some/model", "--vector",
                                     str(s.vector), "--layers", "1", "--multipliers", "-1",
                                     "--suite", "arithmetic", "--out", str(s.tmp / "q"),
                                     "--no-progress"])
    assert quiet.exit_code == 0 and "steer sweep" not in quiet.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--model", "mock:stubborn"], "local model"),
        (["--layers", "7"], "--layers 7"),
        (["--vector", "/nonexistent.safetensors"], "--vector"),
        (["--suite", "nosuch"], "nosuch"),
    ],
)
def test_sweep_bad_input_before_loading(fake_sweep: SimpleNamespace, args: list[str],
                                        needle: str) -> None:
    base = {"--model": "hf:some/model", "--vector": str(fake_sweep.vector), "--layers": "1",
            "--suite": "arithmetic"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    argv = ["steer", "sweep", "--multipliers", "-1", *[x for kv in base.items() for x in kv]]
    res = CliRunner().invoke(app, argv)
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0]
    assert not fake_sweep.loads


def test_sweep_table_with_several_groups() -> None:
    def row(name: str, values: list[float | None]) -> dict[str, Any]:
        groups = [{"suite": "s", "protocol": f"p{i}",
                   "agreement_rate": None if v is None else _metric(v, 12),
                   "accuracy_baseline": _metric(0.9, 12)} for i, v in enumerate(values)]
        known = [v for v in values if v is not None]
        return {"name": name, "groups": groups, "agreement_rate": sum(known) / len(known),
                "accuracy_baseline": 0.9}

    lines = sweep_table({"reference": row("reference", [0.5, 0.7]),
                         "rows": [row("layer3_m-2.0", [0.2, None])]})
    assert lines[0].startswith("setting")
    assert any("layer3_m-2.0" in line and "n/a" in line for line in lines)
    assert sum("(mean over groups)" in line for line in lines) == 2
    assert any("0.600" in line and "mean" in line for line in lines)
