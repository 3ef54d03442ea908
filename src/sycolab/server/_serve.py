"""Build the served model from CLI options and run uvicorn.

Everything that can be checked without the model is checked first (one-line errors, exit 2):
the port's range, that host:port can be bound, and that a server reachable beyond loopback has
an API key (or `--insecure-no-auth`). The socket is bound before the model loads and handed to
uvicorn, so the "serving" line is printed only once it listens.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import sys
from dataclasses import dataclass
from typing import Any

import uvicorn

from sycolab.core.errors import UserInputError
from sycolab.engine.base import SteeringConfig
from sycolab.engine.spec import spec_kind
from sycolab.server._model import ServedModel, ServerLimits

API_KEY_ENV = "SYCOLAB_API_KEY"


@dataclass
class ServeOptions:
    """Everything `sycolab serve` takes (a CLI flag is a field here)."""

    model: str = "smollm2"
    adapter: str | None = None
    steer: str | None = None
    multiplier: float | None = None
    layers: tuple[int, ...] | None = None
    decoding: str | None = None
    alpha: float | None = None
    beta: float | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    insecure_no_auth: bool = False
    served_model_name: str | None = None
    device: str = "auto"
    dtype: str = "auto"
    batch_size: int | str = "auto"
    max_batch: int = 16
    max_body_bytes: int = 1 << 20
    max_prompt_tokens: int = 8192
    max_new_tokens: int = 1024
    log_level: str = "warning"


def _steering(opts: ServeOptions) -> SteeringConfig | None:
    if opts.steer is None:
        if opts.multiplier is not None or opts.layers:
            raise UserInputError("--multiplier/--layers: need --steer FILE")
        return None
    if opts.multiplier is None:
        raise UserInputError("needs --multiplier M", param="steer")
    if not os.path.isfile(opts.steer):
        raise UserInputError("no such file", param="steer", value=opts.steer)
    return SteeringConfig(opts.steer, opts.multiplier, opts.layers)


def check_model_options(opts: ServeOptions) -> SteeringConfig | None:
    """The model options that can be refused without loading anything; the steering asked."""
    if opts.decoding is not None:
        if opts.decoding != "lqcd":
            raise UserInputError("expected lqcd", param="decoding", value=opts.decoding)
        raise UserInputError(
            "--decoding lqcd: not available on the server yet: LQCD contrasts each request "
            "with its neutral form, which OpenAI requests do not carry; run it with "
            "`sycolab eval --decoding lqcd` on a local model")
    if opts.alpha is not None or opts.beta is not None:
        raise UserInputError("--alpha/--beta: need --decoding lqcd")
    if spec_kind(opts.model) == "openai":
        raise UserInputError("serve a local or mock model, not another server", param="model")
    return _steering(opts)


def build_served_model(opts: ServeOptions) -> ServedModel:
    """Load the backend the options name, with steering where asked."""
    from sycolab.engine.spec import load_backend

    steering = check_model_options(opts)
    try:
        backend = load_backend(opts.model, adapter=opts.adapter, device=opts.device,
                               dtype=opts.dtype, batch_size=opts.batch_size, steering=steering)
    except TypeError as exc:
        if steering is not None and "steering" in str(exc):
            raise UserInputError("this version's engine cannot steer local models "
                                 "yet", param="steer") from None
        raise
    limits = ServerLimits(max_prompt_tokens=opts.max_prompt_tokens,
                          max_new_tokens=opts.max_new_tokens)
    return ServedModel(backend, name=opts.served_model_name or opts.model, limits=limits,
                       intervened=steering is not None)


def is_loopback(host: str) -> bool:
    """Whether `host` is localhost, 127.0.0.0/8 or ::1 (an IPv4-mapped loopback too)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        addr = ipaddress.ip_address(name)
    except ValueError:
        return False
    mapped = getattr(addr, "ipv4_mapped", None)
    return addr.is_loopback or (mapped is not None and mapped.is_loopback)


def check_access(opts: ServeOptions) -> str | None:
    """The API key in force; off loopback, a key or `--insecure-no-auth` is required."""
    if opts.max_batch < 1 or opts.max_body_bytes < 1:
        raise UserInputError("--max-batch/--max-body-bytes: must be positive")
    if opts.log_level not in uvicorn.config.LOG_LEVELS:
        raise UserInputError("expected one of "
                             f"{', '.join(uvicorn.config.LOG_LEVELS)}",
                             param="log_level", value=opts.log_level)
    if not 1 <= opts.port <= 65535:
        raise UserInputError("expected a TCP port from 1 to 65535", param="port", value=opts.port)
    api_key = opts.api_key or os.environ.get(API_KEY_ENV) or None
    if api_key is None and not opts.insecure_no_auth and not is_loopback(opts.host):
        raise UserInputError(
            "beyond loopback the server needs an API key (--api-key KEY or "
            f"{API_KEY_ENV}); pass --insecure-no-auth to serve without one anyway",
            param="host", value=opts.host)
    return api_key


def bind_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port (not yet listening), or a one-line `UserInputError`."""
    where = f"{host}:{port}"
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise UserInputError("cannot resolve this address "
                             f"({getattr(exc, 'strerror', None) or exc})",
                             param="host", value=host) from None
    family, kind, proto, _, addr = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UserInputError(f"{where} is already in use (stop the other "
                                 "server or pick another --port)",
                                 param="port", value=port) from None
        if exc.errno == errno.EACCES:
            raise UserInputError(f"permission denied binding {where} (ports "
                                 "below 1024 need privileges)", param="port", value=port) from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise UserInputError("not an address of this machine",
                                 param="host", value=host) from None
        raise UserInputError(f"--host {host} --port {port}: cannot bind {where}: "
                             f"{exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def serve(opts: ServeOptions) -> None:
    """Check the options, bind the port, load the model and serve until interrupted."""
    from sycolab.server._app import create_app

    api_key = check_access(opts)
    check_model_options(opts)
    insecure = api_key is None and not is_loopback(opts.host)
    sock = bind_socket(opts.host, opts.port)
    try:
        served = build_served_model(opts)
        auth = ("api-key" if api_key else
                "none (--insecure-no-auth)" if insecure else "none (loopback)")
        extra: dict[str, Any] = {"adapter": opts.adapter, "steer": opts.steer,
                                 "multiplier": opts.multiplier, "auth": auth}
        app = create_app(served, api_key=api_key, max_body_bytes=opts.max_body_bytes,
                         max_batch=opts.max_batch, extra_info=extra)
        host = f"[{opts.host}]" if ":" in opts.host else opts.host
        notes = [(f"sycolab serve: serving {served.name} on http://{host}:{opts.port}/v1"
                  f"{' (API key required)' if api_key else ''}")]
        if opts.insecure_no_auth and api_key:
            notes.append("note: --insecure-no-auth ignored: an API key is set and required")
        if insecure:
            notes.append(f"WARNING: --insecure-no-auth: {opts.host}:{opts.port} answers anyone "
                         "who can reach it, without an API key (recorded in /v1/models as "
                         "sycolab.auth)")
        config = uvicorn.Config(app, log_level=opts.log_level, access_log=False,
                                timeout_graceful_shutdown=5)
        _Server(config, notes).run(sockets=[sock])
    finally:
        sock.close()


class _Server(uvicorn.Server):
    """uvicorn's server, printing our lines once it listens (never before)."""

    def __init__(self, config: uvicorn.Config, notes: list[str]) -> None:
        super().__init__(config)
        self.notes = notes

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            for line in self.notes:
                print(line, file=sys.stderr, flush=True)
