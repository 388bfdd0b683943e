"""`mmkg-tui serve [--host 127.0.0.1] [--port 8000] [--data PATH | --run DIR]`: the
same explorer in a web browser, through textual-serve (each browser tab starts its
own `mmkg-tui` process behind a websocket). Loopback by default: anyone who can
reach the port drives the app, so only pass --host 0.0.0.0 on a trusted network."""

from __future__ import annotations

import shlex
import sys

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def configure(p) -> None:
    from mmkg_tui.cli.main import add_data_arguments

    add_data_arguments(p)
    p.add_argument("--run", metavar="RUN_DIR", default=None, help="reopen a saved run folder (default: none)")
    p.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST}: this machine only)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})")


def app_command(args) -> str:
    """The command line each browser session runs: `python -m mmkg_tui` + the data options."""
    parts = [sys.executable, "-m", "mmkg_tui"]
    for flag, attr in (("--data", "data"), ("--embeddings", "embeddings"), ("--clip-model", "clip_model"),
                       ("--clip-pretrained", "clip_pretrained"), ("--run", "run")):
        value = getattr(args, attr, None)
        if value:
            parts += [flag, str(value)]
    if getattr(args, "strict", False):
        parts.append("--strict")
    return shlex.join(parts)


def run(args) -> int:
    from engine.api import ConfigError

    try:
        from textual_serve.server import Server
    except ImportError:
        raise ConfigError("textual-serve is not installed", hint="pip install textual-serve") from None
    if not 0 < args.port < 65536:
        raise ConfigError(f"port {args.port} is not a TCP port", field="--port", hint="use 1-65535, e.g. --port 8000")
    print(f"serving mmkg-tui on http://{args.host}:{args.port}  (ctrl+c stops)", flush=True)
    Server(app_command(args), host=args.host, port=args.port, title="mmkg-tui").serve()
    return 0
