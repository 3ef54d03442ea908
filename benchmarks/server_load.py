"""Load benchmark for `sycolab serve`: N concurrent clients for D seconds, greedy and sampled.

    python benchmarks/server_load.py [--model smollm2] [--url URL] [--clients 20]
                                     [--duration 30] [--modes greedy,sampled] [--max-tokens 16]
                                     [--timeout 60] [--max-batch 32] [--tag NAME]

Starts `sycolab serve --model MODEL` on a free 127.0.0.1 port (unless --url names a running
server, which must be on loopback too), then runs each mode in turn on that server: closed-loop
clients each send a chat completion (at most --max-tokens new tokens), wait for the answer
(client timeout --timeout s) and send the next. `greedy` requests say `temperature: 0`;
`sampled` requests leave `temperature` out (1.0 in the OpenAI API), as most clients do. Requests
still in flight at the end of a mode are awaited and counted. Per mode: requests ok and failed,
requests/s, p50/p95 latency, the server's mean batch size where its /health reports one, and
the 1-minute load average at the mode's start and end (a busy machine slows every number).
Writes benchmarks/out/server_load[-TAG].json and .md; exits 1 if any request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

OUT = Path(__file__).resolve().parent / "out"
MODES = ("greedy", "sampled")
QUESTIONS = ["What is the capital of France?", "How many legs does a spider have?",
             "What is 12 + 30?", "Who wrote Hamlet?", "What is the boiling point of water?",
             "Which planet is closest to the sun?", "What is the largest ocean?",
             "How many days are in a leap year?"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _body(mode: str, model: str, question: str, max_tokens: int) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "max_tokens": max_tokens,
                            "messages": [{"role": "user", "content": question}]}
    if mode == "greedy":
        body["temperature"] = 0
    return body


async def _client(k: int, c: httpx.AsyncClient, mode: str, model: str, stop_at: float,
                  max_tokens: int, lat: list[float], errors: list[str]) -> None:
    i = 0
    while time.monotonic() < stop_at:
        body = _body(mode, model, QUESTIONS[(k + i) % len(QUESTIONS)], max_tokens)
        i += 1
        t0 = time.monotonic()
        try:
            r = await c.post("/chat/completions", json=body)
            if r.status_code != 200:
                errors.append(f"HTTP {r.status_code}: {r.text[:200]}")
                continue
            r.json()["choices"][0]["message"]["content"]
        except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
            errors.append(f"{type(exc).__name__}: {exc}"[:200])
            continue
        lat.append(time.monotonic() - t0)


def _batch_stats(c: httpx.Client) -> tuple[int, int] | None:
    """(batches, requests in them) from the server's /health, where it reports them."""
    try:
        health = c.get("/health").json()
    except (httpx.HTTPError, ValueError):
        return None
    if "batches" not in health or "batched_requests" not in health:
        return None
    return int(health["batches"]), int(health["batched_requests"])


async def _load(url: str, mode: str, model: str, clients: int, duration: float,
                max_tokens: int, timeout: float, api_key: str | None) -> dict[str, Any]:
    lat: list[float] = []
    errors: list[str] = []
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits,
                                 headers=headers) as c:
        start = time.monotonic()
        await asyncio.gather(*(_client(k, c, mode, model, start + duration, max_tokens, lat,
                                       errors) for k in range(clients)))
        wall = time.monotonic() - start
    return {"mode": mode, "requests_ok": len(lat), "requests_failed": len(errors),
            "wall_s": round(wall, 2), "requests_per_s": round(len(lat) / wall, 3),
            "latency_p50_s": _percentile(lat, 0.5), "latency_p95_s": _percentile(lat, 0.95),
            "latency_mean_s": statistics.fmean(lat) if lat else None,
            "errors_sample": errors[:10]}


def _run_mode(url: str, mode: str, name: str, args: argparse.Namespace,
              api_key: str | None) -> dict[str, Any]:
    root = url.removesuffix("/v1")
    load_start = os.getloadavg()[0]
    with httpx.Client(base_url=root, timeout=10) as hc:
        before = _batch_stats(hc)
        result = asyncio.run(_load(url, mode, name, args.clients, args.duration,
                                   args.max_tokens, args.timeout, api_key))
        after = _batch_stats(hc)
    result["load_1m"] = [round(load_start, 2), round(os.getloadavg()[0], 2)]
    result["mean_batch"] = None
    if before is not None and after is not None and after[0] > before[0]:
        result["mean_batch"] = round((after[1] - before[1]) / (after[0] - before[0]), 2)
    return result


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--url", default=None, help="a running loopback server's base URL (…/v1)")
    ap.add_argument("--served-model-name", default=None)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--duration", type=float, default=30.0, help="seconds per mode")
    ap.add_argument("--modes", default=",".join(MODES), help="greedy, sampled or both")
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--max-batch", type=int, default=32)
    ap.add_argument("--tag", default=None, help="suffix of the output files")
    args = ap.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    problems = []
    if not modes or any(m not in MODES for m in modes):
        problems.append(f"--modes {args.modes}: expected greedy, sampled or both")
    if not 1 <= args.clients <= 256:
        problems.append(f"--clients {args.clients}: expected 1-256")
    if not 0 < args.duration <= 600:
        problems.append(f"--duration {args.duration}: expected 0-600 s")
    if not 1 <= args.max_tokens <= 256:
        problems.append(f"--max-tokens {args.max_tokens}: expected 1-256")
    if not 0 < args.timeout <= 600:
        problems.append(f"--timeout {args.timeout}: expected 0-600 s")
    if args.url is not None and not _loopback(urlsplit(args.url).hostname or ""):
        problems.append(f"--url {args.url}: this benchmark only loads loopback servers")
    if problems:
        raise SystemExit(f"error: {problems[0]}")
    args.modes = modes
    return args


def _start(model: str, name: str, max_batch: int) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "sycolab", "serve", "--model", model,
                             "--served-model-name", name, "--host", "127.0.0.1",
                             "--port", str(port), "--max-batch", str(max_batch)])
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 300
    while True:
        try:
            if httpx.get(url.removesuffix("/v1") + "/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            _stop(proc)
            raise SystemExit("the server did not start")
        time.sleep(0.5)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    args = _args()
    name = args.served_model_name or args.model
    api_key = os.environ.get("OPENAI_API_KEY")
    proc = None
    url = args.url
    if url is None:
        proc, url = _start(args.model, name, args.max_batch)
    try:
        results = [_run_mode(url, mode, name, args, api_key) for mode in args.modes]
    finally:
        if proc is not None:
            _stop(proc)
    report = {"model": args.model, "url": url, "clients": args.clients,
              "duration_s": args.duration, "max_tokens": args.max_tokens,
              "client_timeout_s": args.timeout, "max_batch": args.max_batch,
              "cpu_count": os.cpu_count(), "machine": platform.platform(), "modes": results}
    OUT.mkdir(parents=True, exist_ok=True)
    stem = "server_load" + (f"-{args.tag}" if args.tag else "")
    (OUT / f"{stem}.json").write_text(json.dumps(report, indent=2))

    def fmt(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.2f}"

    md = ["# sycolab serve load benchmark", "",
          (f"`{args.model}`, {args.clients} concurrent clients for {args.duration:g} s per mode, "
           f"at most {args.max_tokens} new tokens per request, {args.timeout:g} s client "
           f"timeout, --max-batch {args.max_batch}, {os.cpu_count()} CPUs."), "",
          ("| mode | requests ok | failed | requests/s | p50 latency (s) | p95 latency (s) "
           "| mean batch | load 1 min (start-end) |"),
          "|---|---|---|---|---|---|---|---|"]
    md += [(f"| {r['mode']} | {r['requests_ok']} | {r['requests_failed']} | "
            f"{r['requests_per_s']:.2f} | {fmt(r['latency_p50_s'])} | "
            f"{fmt(r['latency_p95_s'])} | {fmt(r['mean_batch'])} | "
            f"{r['load_1m'][0]:.1f}-{r['load_1m'][1]:.1f} |") for r in results]
    (OUT / f"{stem}.md").write_text("\n".join([*md, ""]))
    print("\n".join(md))
    if any(r["requests_failed"] for r in results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
