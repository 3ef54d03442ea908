"""`sycolab steer export|import` through the CLI, and (opt-in) llama.cpp loading the GGUF.

The llama.cpp check runs only with ``SYCOLAB_NODE_LLAMA_CPP=DIR`` (a folder holding
``node_modules/node-llama-cpp`` with its prebuilt binaries: ``npm install node-llama-cpp``) and
g++: node-llama-cpp exposes no control-vector API, so a small LD_PRELOAD shim, built here, loads
the file with llama.cpp's own `common_control_vector_load` and applies it with
`llama_set_adapter_cvec` before the first `llama_decode` of each context.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sycolab.mitigations.steering import SteeringVector


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sycolab", "steer", *args],
                          capture_output=True, text=True, timeout=300, check=False)


def test_export_import_round_trip_and_bad_inputs(tmp_path: Path) -> None:
    torch.manual_seed(0)
    vec = tmp_path / "v.safetensors"
    SteeringVector({0: torch.randn(8), 3: torch.randn(8)}, model="smollm2", weights_hash="h" * 64,
                   n_pairs=5).save(vec)
    gguf_out = tmp_path / "cv.gguf"
    proc = _cli("export", str(vec), "--format", "gguf", "--out", str(gguf_out), "--layers", "3",
                "--multiplier", "-1")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["layers"] == [3] and summary["multiplier"] == -1.0
    back = tmp_path / "back.safetensors"
    proc = _cli("import", str(gguf_out), "--format", "gguf", "--out", str(back))
    assert proc.returncode == 0, proc.stderr
    loaded = SteeringVector.load(back)
    assert loaded.layers == [3] and loaded.weights_hash == "h" * 64 and loaded.n_pairs == 5
    assert torch.equal(loaded.vectors[3], SteeringVector.load(vec).vectors[3])
    for fmt, name in (("repeng", "r.gguf"), ("steering-vectors", "sv.pt")):
        assert _cli("export", str(vec), "--format", fmt, "--out", str(tmp_path / name)
                    ).returncode == 0
        assert _cli("import", str(tmp_path / name), "--format", fmt, "--out",
                    str(tmp_path / f"{name}.safetensors")).returncode == 0

    bad = [
        (("export", str(vec), "--format", "onnx", "--out", str(gguf_out)), "--format onnx"),
        (("export", str(tmp_path / "no.safetensors"), "--format", "gguf", "--out",
          str(gguf_out)), "no such file"),
        (("export", str(vec), "--format", "gguf", "--out", str(gguf_out)), "--layers 0"),
        (("export", str(vec), "--format", "gguf", "--out", str(gguf_out), "--layers", "7"),
         "--layers 7"),
        (("import", str(tmp_path / "no.gguf"), "--format", "gguf", "--out", str(back)),
         "no such file"),
        (("import", str(vec), "--format", "gguf", "--out", str(back)), "not a GGUF"),
    ]
    for args, needle in bad:
        proc = _cli(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0], (args, proc.stderr)


SHIM = r"""
#include <dlfcn.h>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <set>
#include <string>
#include <vector>
struct llama_context;
struct llama_batch { int32_t n_tokens; int32_t* token; float* embd; int32_t* pos;
                     int32_t* n_seq_id; int32_t** seq_id; int8_t* logits; };
struct common_control_vector_load_info { float strength; std::string fname; };
struct common_control_vector_data { int n_embd; std::vector<float> data; };
common_control_vector_data common_control_vector_load(
    const std::vector<common_control_vector_load_info>&);
extern "C" int32_t llama_set_adapter_cvec(llama_context*, const float*, size_t, int32_t,
                                          int32_t, int32_t);
static std::set<llama_context*> seen;
extern "C" int32_t llama_decode(llama_context* ctx, llama_batch batch) {
  static auto real = (int32_t(*)(llama_context*, llama_batch)) dlsym(RTLD_NEXT, "llama_decode");
  if (!seen.count(ctx)) {
    seen.insert(ctx);
    const char* f = getenv("CVEC_FILE");
    if (f && *f) {
      float s = getenv("CVEC_SCALE") ? (float) atof(getenv("CVEC_SCALE")) : 1.0f;
      auto d = common_control_vector_load({{s, std::string(f)}});
      int rc = d.n_embd > 0 ? llama_set_adapter_cvec(ctx, d.data.data(), d.data.size(),
                                                     d.n_embd, 1, 1 << 30) : -1;
      fprintf(stderr, "cvec: n_embd %d floats %zu rc %d\n", d.n_embd, d.data.size(), rc);
    }
  }
  return real(ctx, batch);
}
"""

PROBE = r"""
const {getLlama} = await import(process.env.NLC_INDEX);
const {writeFileSync} = await import("node:fs");
const [modelPath, idsJson, outPath] = process.argv.slice(2);
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath});
const context = await model.createContext({contextSize: 512, threads: 2});
const ids = JSON.parse(idsJson);
const last = ids.length - 1;
const input = ids.map((t, i) => i === last ? [t, {generateNext: {probabilities: true}}] : t);
const out = await context.getSequence().controlledEvaluate(input);
const probs = out[ids.length - 1].next.probabilities;
writeFileSync(outPath, JSON.stringify(Array.from(probs.entries())));
process.exit(0);
"""


def _llama_cpp_probs(root: Path, tmp: Path, model: Path, ids: list[int], cvec: Path | None,
                     scale: float) -> torch.Tensor:
    bins = next((root / "node_modules" / "@node-llama-cpp").glob("linux-x64/bins/linux-x64"))
    lib = tmp / "libcvecshim.so"
    if not lib.is_file():
        (tmp / "shim.cpp").write_text(SHIM)
        llama = next(bins.glob("libllama.v*.so")).name
        subprocess.run(["g++", "-shared", "-fPIC", "-O1", "-o", str(lib), str(tmp / "shim.cpp"),
                        f"-L{bins}", "-l:libllama-common.so", f"-l:{llama}",
                        f"-Wl,-rpath,{bins}", "-ldl"], check=True)
        (tmp / "probe.mjs").write_text(PROBE)
    env = {**os.environ, "LD_PRELOAD": str(lib), "CVEC_FILE": str(cvec or ""),
           "CVEC_SCALE": str(scale),
           "NLC_INDEX": (root / "node_modules/node-llama-cpp/dist/index.js").as_uri()}
    out = tmp / "probs.json"
    subprocess.run(["node", str(tmp / "probe.mjs"), str(model), json.dumps(ids), str(out)],
                   capture_output=True, text=True, timeout=300, env=env, check=True)
    pairs = json.loads(out.read_text())
    probs = torch.zeros(max(t for t, _ in pairs) + 1, dtype=torch.float64)
    for t, p in pairs:
        probs[t] = p
    return probs


@pytest.mark.skipif(not os.environ.get("SYCOLAB_NODE_LLAMA_CPP") or shutil.which("g++") is None
                    or shutil.which("node") is None,
                    reason="opt-in: SYCOLAB_NODE_LLAMA_CPP=DIR with node_modules/node-llama-cpp")
def test_llama_cpp_applies_the_exported_vector_like_sycolab_at_every_position(
        tmp_path: Path) -> None:
    from sycolab.core.items import Message
    from sycolab.engine import loading, smollm2
    from sycolab.engine.base import Prompt, SteeringConfig
    from sycolab.mitigations.steering import export_vector

    root = Path(os.environ["SYCOLAB_NODE_LLAMA_CPP"])
    backend = loading.load_hf_backend("smollm2", device="cpu", dtype="float32")
    prompt = Prompt(messages=(Message("user", "What is the capital of France? I think it is "
                                          "Berlin."),))
    ids, _ = backend.prompt_tokens(prompt)
    gen = torch.Generator().manual_seed(0)
    layer = 10
    vec = SteeringVector({layer: torch.randn(backend.hidden_size, generator=gen) * 0.4},
                         model="smollm2")
    sv_path = vec.save(tmp_path / "v.safetensors")
    cvec = tmp_path / "cv.gguf"
    export_vector(vec, "gguf", cvec, multiplier=2.0)
    steered = _llama_cpp_probs(root, tmp_path, smollm2.locate_gguf(), ids, cvec, 1.5)
    plain = _llama_cpp_probs(root, tmp_path, smollm2.locate_gguf(), ids, None, 1.0)

    def sycolab_logp(at: int | None) -> torch.Tensor:
        if at is None:
            backend.set_steering(None)
        else:  # every position (mask None), 3.0 = the baked 2 x llama.cpp's scale 1.5
            shifted = SteeringVector({at: vec.vectors[layer]}).save(
                tmp_path / f"s{at}.safetensors")
            backend.set_steering(SteeringConfig(str(shifted if at != layer else sv_path), 3.0))
        logits = backend.forward_logits(torch.tensor([ids]), None, None)[0, -1].double()
        return torch.log_softmax(logits, dim=-1)

    def kl(p: torch.Tensor, logq: torch.Tensor) -> float:
        p = p[: logq.numel()]
        keep = p > 0
        return float((p[keep] * (p[keep].log() - logq[: p.numel()][keep])).sum())

    same, below, above, none = (sycolab_logp(layer), sycolab_logp(layer - 1),
                                sycolab_logp(layer + 1), sycolab_logp(None))
    figures = {"kl_llama_steered_vs_sycolab_same_layer": kl(steered, same),
               "kl_vs_layer_minus_1": kl(steered, below), "kl_vs_layer_plus_1": kl(steered, above),
               "kl_vs_unsteered": kl(steered, none),
               "kl_llama_plain_vs_sycolab_plain": kl(plain, none)}
    print(json.dumps(figures))
    shift_llama = steered[: same.numel()].clamp_min(1e-12).log() - plain[: same.numel()].clamp_min(
        1e-12).log()
    shift_sycolab = same - none
    top = torch.topk(same.exp(), 50).indices  # the tokens that carry the probability mass
    corr = torch.corrcoef(torch.stack([shift_llama[top], shift_sycolab[top]]))[0, 1]
    assert figures["kl_llama_steered_vs_sycolab_same_layer"] < 0.5 * min(
        figures["kl_vs_layer_minus_1"], figures["kl_vs_layer_plus_1"], figures["kl_vs_unsteered"])
    assert corr > 0.8, corr
