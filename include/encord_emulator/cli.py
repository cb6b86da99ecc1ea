"""``encord-emulator serve --host 127.0.0.1 --port N --data-dir DIR [--seed FILE] [--faults FILE]``."""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from encord_emulator.core.app import create_app
from encord_emulator.core.seed import SeedError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="encord-emulator", description="Local Encord API emulator")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument(
        "--data-dir", required=True, help="directory for emulator.sqlite3 (state survives restarts)"
    )
    serve.add_argument("--seed", help="seed YAML: users, integrations, folders, datasets, ...")
    serve.add_argument(
        "--faults", help="fault-injection YAML: {seed, rules: [{pattern, error_rate, status, latency_ms}]}"
    )
    serve.add_argument("--log-level", default="warning")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper())
    try:
        app = create_app(args.data_dir, seed=args.seed, faults=args.faults)
    except (SeedError, ValueError, OSError) as exc:
        print(f"encord-emulator: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
