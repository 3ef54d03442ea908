"""Shared helpers for the benchmarks in this folder (stdlib only, so drivers that run inside the
peers' virtualenvs can import it too).

Conventions every benchmark follows:
- one model for every tool: the embedded SmolLM2 dequantized into a local Hugging Face folder
  (`sycolab.engine.smollm2.ensure_dequantized()`), float32, CPU;
- one thread count for every tool (`THREADS`, default: all cores; override with
  SYCOLAB_BENCH_THREADS), pinned through OMP_NUM_THREADS / MKL_NUM_THREADS in the child's
  environment and `torch.set_num_threads` inside each driver;
- every measured tool runs in its own child process, measured from outside (`run_measured`: wall
  time around the child, CPU seconds as the RUSAGE_CHILDREN delta, peak RSS from os.wait4, load
  average before and after, the exact argv); peer comparisons also mark evaluation-only time
  inside each child with the same boundaries for every tool (`_marks.py`, `run_timed`) and
  alternate the tools over several rounds (`alternate`, `timing`);
- peers are pinned and installed in their own virtualenvs under benchmarks/.venvs/ (created with
  --system-site-packages, so they use the same torch and transformers as sycolab);
- each benchmark writes benchmarks/out/<name>.json and benchmarks/out/<name>.md.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = Path(os.environ.get("SYCOLAB_BENCH_OUT", BENCH / "out"))
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
def monotonic() -> float:
    """CLOCK_MONOTONIC seconds: the clock the children's marks use too (_marks.py)."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run_measured(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
                 log: Path | None = None) -> dict[str, Any]:
    """Run `cmd` as a child, measured from outside: the whole process.

    wall_s: from just before the child is started to just after it is reaped (CLOCK_MONOTONIC,
    `t_start`/`t_end`); cpu_s: user + system seconds of the child and its descendants (the
    delta of resource.getrusage(RUSAGE_CHILDREN) around the run); peak_rss_mb: the child's
    ru_maxrss (os.wait4); load: os.getloadavg() before and after. `argv` is the exact argv that
    ran, `command` the same shlex-joined. Output goes to `log`.
    """
    cmd = [str(c) for c in cmd]
    env = env or child_env()
    log_fh = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    load_before = loadavg()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t_start = monotonic()
    try:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log_fh, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        t_end = monotonic()
        proc.returncode = rc = os.waitstatus_to_exitcode(status)
    finally:
        if log:
            log_fh.close()  # type: ignore[union-attr]
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return {"argv": cmd, "command": shlex.join(cmd), "cmd": cmd, "rc": rc,
            "t_start": t_start, "t_end": t_end, "wall_s": round(t_end - t_start, 3),
            "cpu_s": round(cpu, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "load_before": load_before, "load_after": loadavg()}


def run_timed(cmd: list[str], marks: Path, *, log: Path, env: dict[str, str] | None = None,
              cwd: Path | None = None) -> dict[str, Any]:
    """`run_measured` of a child that writes evaluation marks (_marks.py) to `marks`: whole
    process and evaluation-only seconds of one run, with the same clock."""
    marks.unlink(missing_ok=True)
    run = run_measured(cmd, env=env, cwd=cwd, log=log)
    check(run, log)
    m = read_json(marks)
    if "eval_start" not in m or "eval_end" not in m:
        raise SystemExit(f"{marks}: the evaluation boundaries were not marked ({sorted(m)}); "
                         f"the wrapped function was not called. Log: {log}")
    run["eval_s"] = round(m["eval_end"] - m["eval_start"], 3)
    run["before_eval_s"] = round(m["eval_start"] - run["t_start"], 3)
    run["after_eval_s"] = round(run["t_end"] - m["eval_end"], 3)
    run["load_s"] = round(m["load_s"], 3) if "load_s" in m else None
    return run


def sycolab_timed(cli_args: list[str], marks: Path) -> list[str]:
    """argv of the real sycolab CLI run through _marks.py (evaluation boundaries marked)."""
    return [sys.executable, str(BENCH / "_marks.py"), "sycolab", str(marks), *cli_args]


def alternate(tools: dict[str, Callable[[int], dict[str, Any]]],
              repeats: int) -> dict[str, list[dict[str, Any]]]:
    """Run the tools in turn, A B A B ... (`repeats` rounds); each callable gets the round."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in tools}
    for rep in range(repeats):
        for name, fn in tools.items():
            print(f"[bench] round {rep + 1}/{repeats}: {name} ...", flush=True)
            run = fn(rep)
            print(f"[bench]   whole process {run['wall_s']:.2f} s, evaluation-only "
                  f"{run.get('eval_s', float('nan')):.2f} s, CPU {run['cpu_s']:.1f} s, "
                  f"load {run['load_before'][0]} -> {run['load_after'][0]}", flush=True)
            runs[name].append(run)
    return runs


def med(values: list[float | None]) -> float | None:
    xs = [v for v in values if v is not None]
    return round(statistics.median(xs), 3) if xs else None


RUN_KEYS = ("command", "rc", "wall_s", "eval_s", "before_eval_s", "after_eval_s", "load_s",
            "cpu_s", "peak_rss_mb", "load_before", "load_after")


def timing(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the repeats of one tool, plus every run."""
    return {
        "repeats": len(runs),
        "whole_process_s": med([r["wall_s"] for r in runs]),
        "evaluation_only_s": med([r.get("eval_s") for r in runs]),
        "before_eval_s": med([r.get("before_eval_s") for r in runs]),
        "after_eval_s": med([r.get("after_eval_s") for r in runs]),
        "model_load_s": med([r.get("load_s") for r in runs]),
        "cpu_s": med([r["cpu_s"] for r in runs]),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "argv": runs[0]["argv"], "command": runs[0]["command"],
        "runs": [{k: r.get(k) for k in RUN_KEYS} for r in runs],
    }


def speedups(peer: dict[str, Any], ours: dict[str, Any]) -> dict[str, float | None]:
    """peer / sycolab for both time boundaries and CPU (> 1: sycolab faster)."""
    return {"whole_process": ratio(peer["whole_process_s"], ours["whole_process_s"]),
            "evaluation_only": ratio(peer["evaluation_only_s"], ours["evaluation_only_s"]),
            "cpu_whole_process": ratio(peer["cpu_s"], ours["cpu_s"])}


def timing_table(tools: dict[str, dict[str, Any]], work: float | None = None,
                 work_unit: str = "items") -> str:
    """One row per tool: both time boundaries (medians), CPU, RSS, load averages."""
    rows = []
    for name, t in tools.items():
        loads = [r["load_before"][0] for r in t["runs"]] + [r["load_after"][0] for r in t["runs"]]
        row: list[Any] = [name, t["whole_process_s"], t["evaluation_only_s"],
                          t["before_eval_s"], t["after_eval_s"], t["model_load_s"], t["cpu_s"]]
        if work:
            row.append(round(work / t["evaluation_only_s"], 2) if t["evaluation_only_s"] else "")
        row += [t["peak_rss_mb"], f"{min(loads)}-{max(loads)}"]
        rows.append(row)
    header = ["tool", "whole process s", "evaluation-only s", "before evaluation s",
              "after evaluation s", "model load s", "CPU s"]
    if work:
        header.append(f"{work_unit}/s (evaluation-only)")
    header += ["peak RSS MB", "load avg (1 min)"]
    return md_table(rows, header)


PROTOCOL_NOTE = (
    "Both tools alternate (A B A B ...), each run its own process; values are medians over the "
    "repeats. **Whole process s**: wall time from just before the harness starts the command to "
    "just after it is reaped (imports, model and data loading, evaluation, output writing, "
    "exit). **Evaluation-only s**: from entry into the tool's evaluation call, with the model "
    "loaded and the data rows read, to the return of the call that computes the metrics "
    "(benchmarks/_marks.py names the function of each tool). Before / after evaluation s: the "
    "rest of the whole process on either side, same clock. CPU s: user + system seconds of the "
    "process tree (RUSAGE_CHILDREN delta), whole process. Load avg: os.getloadavg() before and "
    "after each run (range).")


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
            "argv": [sys.executable, *sys.argv],
            "command": shlex.join([sys.executable, *sys.argv]), "machine": machine(),
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

    names = ("lm_eval", "inspect", "ceiling", "default_eval", "interventions", "batch8", "gpu")
    lm, ins, ceil, dflt, iv, b8, gpu = (load(n) for n in names)
    yes = {True: "yes", False: "**no**", None: "n/a"}
    rows: list[list[Any]] = []

    def peer_rows(d: dict[str, Any], peer_key: str, label: str, target: float) -> None:
        P, S, sp = d[peer_key], d["sycolab"], d["speedup"]
        for bound, key, what in (("whole process", "whole_process_s", "whole_process"),
                                 ("evaluation-only", "evaluation_only_s", "evaluation_only")):
            rows.append([f"{label}: {bound} s, peer / sycolab (median of {d['repeats']})",
                         f"{P[key]} / {S[key]}", f"{sp[what]}x", f">= {target:g}x",
                         yes[sp[what] is not None and sp[what] >= target]])

    if lm:
        a = lm["agreement"]
        peer_rows(lm, "lm_eval", f"choice scoring, {lm['rows']} Perez rows, lm-eval", 2.5)
        rows.append(["  same chosen answer", f"{a['agree']}/{a['compared']}", f"{a['rate']:.2%}",
                     ">= 99%", yes[a["rate"] >= 0.99]])
    if ins:
        a = ins["agreement"]
        peer_rows(ins, "inspect", f"are-you-sure, {ins['items']} facts items x 2 turns, Inspect",
                  3.0)
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
                if a.get("ratio_of_median_ms_per_generated_token"):
                    rows.append([f"  {arm} / base eval s per generated token (mean reply "
                                 f"{a['mean_reply_tokens']} vs "
                                 f"{m['arms']['base']['mean_reply_tokens']} tokens)",
                                 f"{a['ms_per_generated_token']['median']} / "
                                 f"{m['arms']['base']['ms_per_generated_token']['median']} ms",
                                 f"{a['ratio_of_median_ms_per_generated_token']}x", "", ""])
            rows.append([f"  same trials in all {3 * iv['repeats']} `{mode}` runs",
                         m["trials"], "", "identical", yes[m["trials_match"]]])
    first = next((d for d in (lm, ins, ceil, dflt, iv, b8) if d), None)
    m = first["machine"] if first else machine()
    text = ["# Benchmark results", ""]
    text.append(f"{m.get('cpus')} CPUs ({m.get('cpu', '?')}), torch {m.get('torch')}, "
                f"transformers {m.get('transformers')}, float32, "
                f"{m.get('threads')} torch thread(s) for every tool. Each benchmark is one "
                "command; `bash benchmarks/run_all.sh` runs them all and rebuilds this file. "
                "Nothing else should run meanwhile: the load average (1 min) at the start and "
                "end of each benchmark is listed (a benchmark's own threads count in it; the "
                "first row starts from an idle machine), and ratios compare runs made minutes "
                "apart.")
    env = f"SYCOLAB_BENCH_THREADS={m.get('threads')} " if m.get("threads") != os.cpu_count() else ""
    when = [[n, d["date"], f"`{env}{d.get('command', 'python benchmarks/bench_' + n + '.py')}`",
             d["machine"].get("loadavg_start", ["?"])[0],
             d["machine"].get("loadavg_end", ["?"])[0]]
            for n, d in zip(names, (lm, ins, ceil, dflt, iv, b8, gpu), strict=True) if d]
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
    return ("Peer comparisons give both time boundaries: whole process (the harness's wall time "
            "around each command) and evaluation-only (the same boundaries for both tools, "
            "benchmarks/_marks.py). The interventions' eval s is results.json `wall_seconds` "
            "(sycolab against itself). Peak RSS is the whole process's. Every tool runs with "
            "the same torch thread count.")


if __name__ == "__main__" and sys.argv[1:] == ["summarize"]:
    print(summarize())
