"""``retrain console``: the operator console and the HTTP API, served here on the configured
stores (the embedded default after ``make demo``), with a function key printed at start."""

from __future__ import annotations

import argparse

from retrain.entrypoints.cli import EXIT_OK, Command, Context


def console(ctx: Context) -> int:
    from retrain.entrypoints.local_server import serve

    serve(ctx.args.host, ctx.args.port, settings=ctx.settings)
    return EXIT_OK


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=7071, help="port (default 7071)")


COMMANDS = [
    Command(
        "console",
        "serve the operator console and the API here (prints its function key)",
        console,
        _arguments,
        offers_json=False,
        reads=False,
    )
]
