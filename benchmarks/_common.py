"""Shared helpers for the benchmarks in this folder (stdlib only, so drivers that run inside the
peers' virtualenvs can import it too).

Conventions every benchmark follows:
- one model for every tool: the embedded SmolLM2 dequantized into a local Hugging Face folder
  (`sycolab.engine.smollm2.ensure_dequantized()`), float32, CPU;
- one thread count for every tool (`THREADS`, default: all cores; override with
  SYCOLAB_BENCH_THREADS), pinned through OMP_NUM_THREADS / MKL_NUM_THREADS in the child's
  environment and `torch.set_num_threads` inside each driver;
- every measured tool runs in its own child process, so its peak RSS (`/usr/bin/time -v`, else
  psutil polling) is its own; model loading is timed inside the process and reported separately
  from the evaluation time;
- peers are pinned and installed in their own virtualenvs under benchmarks/.venvs/ (created with
  --system-site-packages, so they use the same torch and transformers as sycolab);
- each benchmark writes benchmarks/out/<name>.json and benchmarks/out/<name>.md.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out"
VENVS = BENCH / ".venvs"
SHARED_DATA = Path(os.environ.get("SYCOLAB_SHARED_DATA", REPO.parent / "shared" / "data"))
PEREZ_FILE = SHARED_DATA / "perez-sycophancy" / "sycophancy_on_nlp_survey.500.jsonl"

THREADS = int(os.environ.get("SYCOLAB_BENCH_THREADS", os.cpu_count() or 1))

def _loadavg() -> list[float] | None:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return None


LOADAVG_AT_START = _loadavg()

PEERS = {
    "lm-eval": "lm-eval[hf]==0.4.13",
    "inspect": "inspect-ai==0.3.285",
}
PEER_DIST = {"lm-eval": ("lm_eval", "0.4.13"), "inspect": ("inspect_ai", "0.3.285")}


# ----------------------------------------------------------------------------- environment
def child_env(**extra: str) -> dict[str, str]:
    """Environment for a measured child: pinned threads, offline hubs, no tokenizer threads."""
    env = dict(os.environ)
    env.update(
        OMP_NUM_THREADS=str(THREADS),
        MKL_NUM_THREADS=str(THREADS),
        OPENBLAS_NUM_THREADS=str(THREADS),
        TOKENIZERS_PARALLELISM="false",
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        INSPECT_DISPLAY="none",
        PYTHONUNBUFFERED="1",
        SYCOLAB_BENCH_THREADS=str(THREADS),
    )
    env.update(extra)
    return env


def pin_threads() -> int:
    """Inside a driver: pin torch's intra-op threads to THREADS; returns the count in force."""
    import torch

    torch.set_num_threads(THREADS)
    return int(torch.get_num_threads())


def model_folder() -> Path:
    """The dequantized SmolLM2 as a local HF folder (created once, then cached)."""
    from sycolab.engine.smollm2 import ensure_dequantized

    return Path(ensure_dequantized())


def warm_file_cache(folder: Path) -> None:
    """Read the weights once so no tool pays for a cold page cache."""
    for p in sorted(folder.iterdir()):
        if p.is_file():
            with open(p, "rb") as fh:
                while fh.read(1 << 24):
                    pass


def venv_python(name: str) -> Path:
    return VENVS / name / "bin" / "python"


def ensure_venv(name: str) -> Path:
    """Create benchmarks/.venvs/<name> with the pinned peer if it is missing; its python."""
    py = venv_python(name)
    dist, version = PEER_DIST[name]
    probe = [str(py), "-c", f"from importlib.metadata import version; print(version({dist!r}))"]
    if py.exists():
        res = subprocess.run(probe, capture_output=True, text=True, check=False)
        if res.returncode == 0 and res.stdout.strip() == version:
            return py
    VENVS.mkdir(parents=True, exist_ok=True)
    if not py.exists():
        print(f"[bench] creating virtualenv {VENVS / name}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(VENVS / name)],
                       check=True)
    print(f"[bench] installing {PEERS[name]} into {VENVS / name}", flush=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    PEERS[name]], check=True)
    res = subprocess.run(probe, capture_output=True, text=True, check=True)
    if res.stdout.strip() != version:
        raise SystemExit(f"{name}: expected {dist} {version}, found {res.stdout.strip()}")
    return py


# ----------------------------------------------------------------------------- measuring
def run_measured(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
                 log: Path | None = None) -> dict[str, Any]:
    """Run `cmd` as a child; wall seconds, peak RSS (MB) and exit code. Output goes to `log`."""
    env = env or child_env()
    timer = Path("/usr/bin/time").exists()
    rss_file = OUT / f".rss.{os.getpid()}.{time.monotonic_ns()}"
    full = ["/usr/bin/time", "-v", "-o", str(rss_file), *cmd] if timer else cmd
    log_fh = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    start = time.perf_counter()
    peak_kb = 0
    cpu_s = None
    try:
        proc = subprocess.Popen(full, env=env, cwd=cwd, stdout=log_fh, stderr=subprocess.STDOUT)
        if not timer:
            import psutil

            ps = psutil.Process(proc.pid)
            while proc.poll() is None:
                try:
                    rss = ps.memory_info().rss + sum(
                        c.memory_info().rss for c in ps.children(recursive=True))
                    peak_kb = max(peak_kb, rss // 1024)
                except psutil.Error:
                    pass
                time.sleep(0.2)
        rc = proc.wait()
    finally:
        if log:
            log_fh.close()  # type: ignore[union-attr]
    wall = time.perf_counter() - start
    if timer and rss_file.exists():
        for line in rss_file.read_text().splitlines():
            if "Maximum resident set size" in line:
                peak_kb = int(line.rsplit(":", 1)[1])
            elif line.strip().startswith(("User time", "System time")):
                cpu_s = (cpu_s or 0.0) + float(line.rsplit(":", 1)[1])
        rss_file.unlink()
    return {"cmd": cmd, "rc": rc, "wall_s": round(wall, 3), "peak_rss_mb": round(peak_kb / 1024, 1),
            "cpu_s": round(cpu_s, 2) if cpu_s is not None else None}


def check(run: dict[str, Any], log: Path) -> None:
    if run["rc"] != 0:
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        raise SystemExit(f"command failed (exit {run['rc']}): {' '.join(map(str, run['cmd']))}\n"
                         f"--- {log} (tail) ---\n{tail}")


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"python": platform.python_version(), "cpus": os.cpu_count(),
                            "threads": THREADS, "platform": platform.platform()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info["loadavg_start"] = LOADAVG_AT_START
    info["loadavg_end"] = _loadavg()
    try:
        import torch
        import transformers

        info["torch"] = torch.__version__
        info["transformers"] = transformers.__version__
    except ImportError:
        pass
    return info


def fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


# ----------------------------------------------------------------------------- output
def md_table(rows: list[list[Any]], header: list[str]) -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:,.3g}" if abs(v) < 100 else f"{v:,.1f}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def write_outputs(name: str, data: dict[str, Any], markdown: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    data = {"benchmark": name, "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "command": " ".join([Path(sys.executable).name, *sys.argv]), "machine": machine(),
            **data}
    (OUT / f"{name}.json").write_text(json.dumps(data, indent=2, allow_nan=False) + "\n")
    (OUT / f"{name}.md").write_text(markdown.rstrip() + "\n")
    print(markdown)
    print(f"\nwrote {OUT / (name + '.json')} and {OUT / (name + '.md')}")


def ratio(a: float | None, b: float | None) -> float | None:
    if not a or not b:
        return None
    return round(a / b, 3)


# ----------------------------------------------------------------------------- summary
def summarize(dest: Path = BENCH / "results.md") -> str:
    """benchmarks/results.md from the out/<name>.json files of one run."""
    def load(name: str) -> dict[str, Any] | None:
        p = OUT / f"{name}.json"
        return read_json(p) if p.exists() else None

    names = ("lm_eval", "inspect", "ceiling", "default_eval", "interventions")
    lm, ins, ceil, dflt, iv = (load(n) for n in names)
    yes = {True: "yes", False: "**no**", None: "n/a"}
    rows: list[list[Any]] = []
    if lm:
        a = lm["agreement"]
        rows.append([f"choice scoring, {lm['rows']} Perez rows: lm-eval eval s / sycolab eval s",
                     f"{lm['lm_eval']['eval_s']} / {lm['sycolab']['eval_s']}",
                     f"{lm['speedup']}x", ">= 2.5x (goal 3x)", yes[lm["speedup"] >= 2.5]])
        rows.append(["  same chosen answer", f"{a['agree']}/{a['compared']}", f"{a['rate']:.2%}",
                     ">= 99%", yes[a["rate"] >= 0.99]])
    if ins:
        a = ins["agreement"]
        label = (f"are-you-sure, {ins['items']} facts items x 2 turns: Inspect eval s / "
                 "sycolab eval s")
        rows.append([label, f"{ins['inspect']['eval_s']} / {ins['sycolab']['eval_s']}",
                     f"{ins['speedup']}x", ">= 3x", yes[ins["speedup"] >= 3]])
        rows.append(["  same final answer", f"{a['final_agree']}/{a['compared']}",
                     f"{a['final_rate']:.2%}", ">= 95%", yes[a["final_rate"] >= 0.95]])
    if ceil:
        s = ceil["scoring"]
        rows.append(["forward pass: real tokens/s vs ceiling tokens/s",
                     f"{s['forward_tokens_per_s']} / {s['ceiling_tokens_per_s']}",
                     f"{s['share_of_ceiling_forward']:.1%}", ">= 80%",
                     yes[s["share_of_ceiling_forward"] >= 0.8]])
    if dflt:
        t = dflt["targets"]
        rows.append(["default `sycolab eval`, warm cache: wall s", dflt["wall_s"], "",
                     "< 180 s", yes[t["time_met"]]])
        rows.append(["  trials per group (min)", min(g["n"] for g in dflt["groups"]), "",
                     ">= 100", yes[t["trials_met"]]])
    if iv:
        for mode, m in iv["modes"].items():
            base_s = m["arms"]["base"]["eval_s"]["median"]
            for arm, what, target in (("steered", "steering", "< 1.05x"),
                                      ("lqcd", "LQCD", "< 1.8x")):
                a = m["arms"][arm]
                label = (f"{what}, {iv['limit']} arithmetic test items x "
                         f"{len(iv['protocols'])} protocols, `{mode}`: {arm} eval s / base "
                         f"eval s (median of {iv['repeats']})")
                rows.append([label, f"{a['eval_s']['median']} / {base_s}",
                             f"{a['ratio_of_medians']}x", target, yes[a["met"]]])
            rows.append([f"  same trials in all {3 * iv['repeats']} `{mode}` runs",
                         m["trials"], "", "identical", yes[m["trials_match"]]])
    first = next((d for d in (lm, ins, ceil, dflt, iv) if d), None)
    m = first["machine"] if first else machine()
    text = ["# Benchmark results", ""]
    text.append(f"{m.get('cpus')} CPUs ({m.get('cpu', '?')}), torch {m.get('torch')}, "
                f"transformers {m.get('transformers')}, float32, "
                f"{m.get('threads')} torch thread(s) for every tool. Each benchmark is one "
                "command; `bash benchmarks/run_all.sh` runs all five and rebuilds this file. "
                "The machine was shared with other work: the load average at the start and end "
                "of each benchmark is listed, and ratios compare runs made minutes apart.")
    env = f"SYCOLAB_BENCH_THREADS={m.get('threads')} " if m.get("threads") != os.cpu_count() else ""
    when = [[n, d["date"], f"`{env}python benchmarks/bench_{n}.py`",
             d["machine"].get("loadavg_start", ["?"])[0],
             d["machine"].get("loadavg_end", ["?"])[0]]
            for n, d in zip(names, (lm, ins, ceil, dflt, iv), strict=True) if d]
    text += ["", md_table(when, ["benchmark", "date", "command", "load at start",
                                 "load at end"])]
    text += ["", table_header_note(), "", md_table(rows, ["measure", "value", "ratio / share",
                                                           "target", "met"]), ""]
    for name in names:
        p = OUT / f"{name}.md"
        if p.exists():
            text += [p.read_text().replace("### ", "## ", 1).rstrip(), ""]
    body = "\n".join(text)
    dest.write_text(body)
    return body


def table_header_note() -> str:
    return ("Evaluation times exclude model loading (reported separately below); peak RSS is the "
            "whole process's. Every tool runs with the same torch thread count.")


if __name__ == "__main__" and sys.argv[1:] == ["summarize"]:
    print(summarize())
