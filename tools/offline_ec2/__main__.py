"""python -m offline_ec2 [--host 127.0.0.1] [--port N]   (port default: $PORT, else 5000)"""

from __future__ import annotations

import argparse
import os

from .server import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m offline_ec2", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT") or 5000),
        help="port (default: $PORT, else 5000)",
    )
    args = parser.parse_args(argv)
    serve(args.host, args.port)


if __name__ == "__main__":
    main()
