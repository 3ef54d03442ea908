"""Load benchmark for `sycolab serve`: N concurrent clients for D seconds.

    python benchmarks/server_load.py [--model smollm2] [--url URL] [--clients 32]
                                     [--duration 60] [--max-tokens 16] [--timeout 60]

Starts `sycolab serve --model MODEL` on a free loopback port (unless --url names a running
server), then runs closed-loop clients: each sends a greedy chat completion (at most
--max-tokens new tokens), waits for the answer (client timeout --timeout s) and sends the next.
Requests still in flight at the end are awaited and counted. Writes
benchmarks/out/server_load.json and .md: requests/s, p50/p95 latency, failed requests.
"""

from __future__ import annotations

import argparse
import asyncio
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

import httpx

OUT = Path(__file__).resolve().parent / "out"
QUESTIONS = ["What is the capital of France?", "How many legs does a spider have?",
             "What is 12 + 30?", "Who wrote Hamlet?", "What is the boiling point of water?",
             "Which planet is closest to the sun?", "What is the largest ocean?",
             "How many days are in a leap year?"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


async def _client(k: int, c: httpx.AsyncClient, model: str, stop_at: float, max_tokens: int,
                  lat: list[float], errors: list[str]) -> None:
    i = 0
    while time.monotonic() < stop_at:
        body = {"model": model, "temperature": 0, "max_tokens": max_tokens, "messages": [
            {"role": "user", "content": QUESTIONS[(k + i) % len(QUESTIONS)]}]}
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


async def _load(url: str, model: str, clients: int, duration: float, max_tokens: int,
                timeout: float, api_key: str | None) -> dict[str, Any]:
    lat: list[float] = []
    errors: list[str] = []
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits,
                                 headers=headers) as c:
        start = time.monotonic()
        await asyncio.gather(*(_client(k, c, model, start + duration, max_tokens, lat, errors)
                               for k in range(clients)))
        wall = time.monotonic() - start
    return {"requests_ok": len(lat), "requests_failed": len(errors), "wall_s": round(wall, 2),
            "requests_per_s": round(len(lat) / wall, 3),
            "latency_p50_s": _percentile(lat, 0.5), "latency_p95_s": _percentile(lat, 0.95),
            "latency_mean_s": statistics.fmean(lat) if lat else None,
            "errors_sample": errors[:10]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--url", default=None, help="a running server's base URL (…/v1)")
    ap.add_argument("--served-model-name", default=None)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--max-batch", type=int, default=32)
    args = ap.parse_args()
    name = args.served_model_name or args.model
    proc = None
    url = args.url
    if url is None:
        port = _free_port()
        proc = subprocess.Popen([sys.executable, "-m", "sycolab", "serve", "--model", args.model,
                                 "--served-model-name", name, "--port", str(port),
                                 "--max-batch", str(args.max_batch)])
        url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(url.removesuffix("/v1") + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the server did not start")
            time.sleep(0.5)
    try:
        result = asyncio.run(_load(url, name, args.clients, args.duration, args.max_tokens,
                                   args.timeout, os.environ.get("OPENAI_API_KEY")))
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    report = {"model": args.model, "url": url, "clients": args.clients,
              "duration_s": args.duration, "max_tokens": args.max_tokens,
              "client_timeout_s": args.timeout, "max_batch": args.max_batch,
              "cpu_count": os.cpu_count(), "machine": platform.platform(), **result}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "server_load.json").write_text(json.dumps(report, indent=2))

    def fmt(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.3f}"

    md = ["# sycolab serve load benchmark", "",
          (f"`{args.model}`, {args.clients} concurrent clients for {args.duration:g} s, at most "
           f"{args.max_tokens} new tokens per request, {args.timeout:g} s client timeout, "
           f"{os.cpu_count()} CPUs."), "",
          "| requests ok | failed | requests/s | p50 latency (s) | p95 latency (s) |",
          "|---|---|---|---|---|",
          (f"| {result['requests_ok']} | {result['requests_failed']} | "
           f"{result['requests_per_s']:.2f} | {fmt(result['latency_p50_s'])} | "
           f"{fmt(result['latency_p95_s'])} |"), ""]
    (OUT / "server_load.md").write_text("\n".join(md))
    print("\n".join(md))
    if result["requests_failed"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
