"""New-user sweep for the issue "Failures that tell": each fault case run against a source tree,
printing a markdown row per case (exit code, wall time, first error line).

    python scripts/new_user_sweep.py SRC_DIR SCRATCH_DIR   # e.g. src, or an older checkout's src

Starts `sycolab serve --model mock:stubborn` on a free loopback port for the openai: cases and
stops it; the smollm2 cases must fail before the model loads.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

SRC = sys.argv[1]
TMP = Path(sys.argv[2])
TMP.mkdir(parents=True, exist_ok=True)
ENV = {**os.environ, "PYTHONPATH": SRC, "COLUMNS": "100"}
PY = [sys.executable, "-m", "sycolab"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(name, args, env=None, timeout=240, cwd=None):
    t = time.perf_counter()
    try:
        p = subprocess.run(
            PY + args,
            capture_output=True,
            text=True,
            check=False,
            env={**ENV, **(env or {})},
            timeout=timeout,
            cwd=cwd,
        )
        rc, err, out = p.returncode, p.stderr, p.stdout
    except subprocess.TimeoutExpired:
        rc, err, out = "timeout", "", ""
    dt = time.perf_counter() - t
    line = next((ln for ln in err.splitlines() if ln.startswith("error") or "Traceback" in ln), "")
    tb = "traceback" if "Traceback" in err else ""
    extra = ""
    if "failed; re-run" in out:
        extra = "prints: trials failed; re-run"
    print(f"| {name} | {rc} | {dt:.1f} s | {(line or extra)[:150]} {tb} |", flush=True)
    return rc


port = free_port()
srv = subprocess.Popen(
    [*PY, "serve", "--model", "mock:stubborn", "--served-model-name", "m", "--port", str(port)],
    env={**ENV, "SYCOLAB_API_KEY": "right"},
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
)

for _ in range(300):
    try:
        if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
            break
    except httpx.TransportError:
        pass  # not up yet
    time.sleep(0.2)
url = f"http://127.0.0.1:{port}/v1"
base = ["--suite", "arithmetic", "--limit", "5", "--no-progress"]
ok = {"OPENAI_API_KEY": "right"}
run(
    "lqcd on openai:",
    ["eval", "--model", f"openai:m@{url}", *base, "--decoding", "lqcd", "--out", str(TMP / "lqcd")],
    env=ok,
)
run(
    "wrong OPENAI_API_KEY",
    ["eval", "--model", f"openai:m@{url}", *base],
    env={"OPENAI_API_KEY": "wrong"},
    cwd=TMP,
)
run("model id not served", ["eval", "--model", f"openai:nope@{url}", *base], env=ok, cwd=TMP)
run(
    "base URL without /v1",
    ["eval", "--model", f"openai:m@http://127.0.0.1:{port}", *base],
    env=ok,
    cwd=TMP,
)
srv.terminate()
srv.wait()
# Ctrl-C mid block
out = TMP / "sigint"
args = [
    "eval",
    "--model",
    "mock:sycophant?delay=0.01",
    "--suite",
    "arithmetic",
    "--protocol",
    "pushback",
    "--limit",
    "200",
    "--out",
    str(out),
    "--no-progress",
]
p = subprocess.Popen(PY + args, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(8)
p.send_signal(signal.SIGINT)
p.wait()
n = len((out / "samples.jsonl").read_text().splitlines()) if (out / "samples.jsonl").exists() else 0
print(
    f"| SIGINT after 8 s (pushback, 200 trials) | {p.returncode} | 8.0 s | "
    f"{n} finished trials kept |"
)
# two evals on one folder
out = TMP / "twice"
args = [
    "eval",
    "--model",
    "mock:stubborn?delay=0.02",
    "--suite",
    "arithmetic",
    "--protocol",
    "reask",
    "--limit",
    "80",
    "--out",
    str(out),
    "--no-progress",
]
a = subprocess.Popen(
    PY + args, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
)
time.sleep(2.5)
rc = run("second eval on the same --out", args)
a.wait()
lines = (
    len((out / "samples.jsonl").read_text().splitlines()) if (out / "samples.jsonl").exists() else 0
)
print(f"| (first eval) | {a.returncode} | | samples.jsonl lines for 80 trials: {lines} |")
afile = TMP / "afile"
afile.write_text("x")
run(
    "--out under a file (smollm2)",
    ["eval", "--model", "smollm2", *base, "--out", str(afile / "run")],
)
run("--out in /proc (smollm2)", ["eval", "--model", "smollm2", *base, "--out", "/proc/run"])
(TMP / "notadapter").mkdir(exist_ok=True)
run(
    "--adapter a non-adapter folder",
    [
        "eval",
        "--model",
        "smollm2",
        *base,
        "--adapter",
        str(TMP / "notadapter"),
        "--out",
        str(TMP / "o1"),
    ],
)
half = TMP / "halfadapter"
half.mkdir(exist_ok=True)
(half / "adapter_config.json").write_text(
    json.dumps(
        {
            "peft_type": "LORA",
            "base_model_name_or_path": "x",
            "r": 8,
            "target_modules": ["q_proj"],
            "task_type": "CAUSAL_LM",
        }
    )
)
run(
    "--adapter config without weights",
    ["eval", "--model", "smollm2", *base, "--adapter", str(half), "--out", str(TMP / "o2")],
)
run(
    "hf: folder without a model",
    ["eval", "--model", f"hf:{TMP / 'notadapter'}", *base, "--out", str(TMP / "o3")],
)
run(
    "--tokenizer typo (./path)",
    [
        "eval",
        "--model",
        "openai:m@http://127.0.0.1:9/v1",
        *base,
        "--tokenizer",
        "./SmolLM2-tokenizr",
        "--out",
        str(TMP / "o4"),
    ],
)
run(
    "all trials fail (mock:flaky?fail=1)",
    ["eval", "--model", "mock:flaky?fail=1", *base, "--out", str(TMP / "o5")],
)
