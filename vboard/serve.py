"""``vboard serve``: the emulation behind a gRPC API (``bridge/proto/vboard.proto``).

``vboard serve [--port N] [--bind ADDR] [--token T] [--port-file F] [--paused]
[FIRMWARE|SIMULATION.yaml] [--platform P] [--pace fast|realtime] [--net BACKEND]
[--forward SPEC] [--dns-record NAME=IP] [--pcap FILE] [--cmdline TEXT] [--host-loopback ADDR]``

Listens on 127.0.0.1 and a free port unless told otherwise; prints
``vboard: serving on HOST:PORT`` on stderr and writes ``HOST:PORT`` to
``--port-file``. Any address other than loopback needs ``--token`` (or
``VBOARD_TOKEN``). With a firmware or simulation it loads it and runs it
(``--paused``: loaded, waiting for a client). Ends on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vboard serve", description="Serve a virtual board over gRPC.")
    p.add_argument("firmware", nargs="?", help="firmware image or simulation file (.yaml) to load")
    p.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    p.add_argument("--bind", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    p.add_argument("--token", default=None, help="require 'authorization: Bearer TOKEN' "
                   "(default: $VBOARD_TOKEN; required off loopback)")
    p.add_argument("--port-file", metavar="FILE", help="write HOST:PORT here once listening")
    p.add_argument("--paused", action="store_true", help="load but do not start the emulation")
    p.add_argument("--platform", default="mps2-an385", help="board name or platform YAML")
    p.add_argument("--base", default="0", help="load address of a raw binary")
    p.add_argument("--pace", choices=("fast", "realtime"), default=None,
                   help="default: fast, realtime with --net other than none")
    p.add_argument("--net", default="none", help="user, tap:NAME, socket:URL or none")
    p.add_argument("--forward", action="append", default=[], metavar="PROTO:HOSTPORT:BOARDPORT")
    p.add_argument("--dns-record", action="append", default=[], metavar="NAME=IP")
    p.add_argument("--pcap", metavar="FILE", help="capture every switch port from the start")
    p.add_argument("--cmdline", metavar="TEXT", help="the firmware's semihosting command line")
    p.add_argument("--host-loopback", default="", metavar="ADDR",
                   help="--net user: the host address a Wi-Fi module's 10.0.2.2 reaches (default 127.0.0.1)")
    p.add_argument("-q", "--quiet", action="store_true")
    return p


def main_serve(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from bridge.rpc_runtime import Runtime, RuntimeFailure
    from bridge.rpc_server import ConfigError, RpcServer

    token = args.token if args.token is not None else os.environ.get("VBOARD_TOKEN") or None

    def say(msg: str) -> None:
        if not args.quiet:
            print(f"vboard: {msg}", file=sys.stderr, flush=True)

    try:
        base = int(args.base, 0)
    except ValueError:
        print(f"vboard: error: --base '{args.base}': expected an address", file=sys.stderr)
        return EXIT_BAD_INPUT
    runtime = Runtime()
    try:
        server = RpcServer(runtime, args.bind, args.port, token)
    except ConfigError as e:
        runtime.close()
        print(f"vboard: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        if args.firmware:
            pace = args.pace or ("realtime" if args.net != "none" else "fast")
            runtime.call(lambda: runtime.load(args.firmware, args.platform, base, args.net, args.forward,
                                              args.dns_record, pace, args.cmdline, args.host_loopback),
                         timeout=300)
            if args.pcap:
                runtime.call(lambda: runtime.start_capture(args.pcap))
            if not args.paused:
                runtime.call(runtime.start)
    except RuntimeFailure as e:
        runtime.close()
        print(f"vboard: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    server.start()
    host = f"[{args.bind}]" if ":" in args.bind else args.bind
    address = f"{host}:{server.port}"
    say(f"serving on {address}" + (" (token required)" if token else ""))
    if args.port_file:
        tmp = Path(args.port_file + ".tmp")
        tmp.write_text(address + "\n")
        tmp.replace(args.port_file)
    done = threading.Event()

    def on_signal(_sig: int, _frame: object) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        while not done.wait(0.5):
            pass
    finally:
        say("stopping")
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main_serve())
