"""``vboard serve``: the emulation behind a gRPC API (``bridge/proto/vboard.proto``).

``vboard serve [--port N] [--bind ADDR] [--token T | --no-auth] [--port-file F] [--root DIR]
[--allow-model-files] [--paused] [FIRMWARE|SIMULATION.yaml] [--platform P] [--pace fast|idle|realtime]
[--net BACKEND] [--forward SPEC] [--dns-record NAME=IP] [--pcap FILE] [--cmdline TEXT]
[--host-loopback ADDR]``

Listens on 127.0.0.1 and a free port unless told otherwise and prints
``vboard: serving on HOST:PORT`` on stderr. Every call needs a token: a
fresh random one unless ``--token`` (or ``$VBOARD_TOKEN``) gives it; the
address and the token go to the port file (``vboard/portfile.py``: mode
0600, by default ``$XDG_RUNTIME_DIR/vboard/serve.json``), where ``vboard ctl``,
the Robot library and ``vboard.client`` find them. ``--no-auth`` (loopback
only, for a private network namespace) says so loudly. Clients name files
only below ``--root`` (default: the working directory), and device models
only from installed packages unless ``--allow-model-files``. With a firmware
or simulation it loads it and runs it (``--paused``: loaded, waiting for a
client). Ends on SIGINT/SIGTERM/SIGHUP.
"""

from __future__ import annotations

import argparse
import os
import secrets
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
    auth = p.add_mutually_exclusive_group()
    auth.add_argument("--token", default=None, help="require 'authorization: Bearer TOKEN', 16..256 visible "
                      "ASCII characters (default: $VBOARD_TOKEN, else a fresh random one)")
    auth.add_argument("--no-auth", action="store_true", help="no token: ANY local user can drive the "
                      "server; only for a private network namespace, loopback only")
    p.add_argument("--port-file", metavar="FILE", help="write the address and token here, mode 0600 "
                   "(default: $XDG_RUNTIME_DIR/vboard/serve.json or ~/.local/share/vboard/serve.json)")
    p.add_argument("--root", metavar="DIR", default=".", help="clients name files (firmware, platforms, "
                   "simulations, captures, snapshot files) only below this folder (default: the working "
                   "directory)")
    p.add_argument("--allow-model-files", action="store_true", help="let clients' platform files name "
                   "device models by .py file (runs that code as this user); default: installed "
                   "packages only")
    p.add_argument("--paused", action="store_true", help="load but do not start the emulation")
    p.add_argument("--platform", default="mps2-an385", help="board name or platform YAML")
    p.add_argument("--base", default="0", help="load address of a raw binary")
    p.add_argument("--pace", choices=("fast", "idle", "realtime"), default=None,
                   help="default: fast, idle with --net other than none (as vboard run)")
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
    from bridge.rpc_errors import RuntimeFailure
    from bridge.rpc_runtime import Runtime
    from bridge.rpc_server import ConfigError, RpcServer
    from emulator.board.platform import LoadPolicy
    from vboard.portfile import ServerInfo, default_port_file, remove_port_file, write_port_file

    if args.no_auth:
        token = None
    elif args.token is not None:
        token = args.token
    else:
        token = os.environ.get("VBOARD_TOKEN") or secrets.token_urlsafe(32)
    root = Path(args.root).resolve()
    if not root.is_dir():
        print(f"vboard: error: --root '{args.root[:80]}': no such folder", file=sys.stderr)
        return EXIT_BAD_INPUT

    def say(msg: str) -> None:
        if not args.quiet:
            print(f"vboard: {msg}", file=sys.stderr, flush=True)

    try:
        base = int(args.base, 0)
    except ValueError:
        print(f"vboard: error: --base '{args.base}': expected an address", file=sys.stderr)
        return EXIT_BAD_INPUT
    runtime = Runtime(LoadPolicy(root, allow_model_files=args.allow_model_files))
    try:
        server = RpcServer(runtime, args.bind, args.port, token)
    except ConfigError as e:
        runtime.close()
        print(f"vboard: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        if args.firmware:
            pace = args.pace or ("idle" if args.net != "none" else "fast")
            firmware = str(Path(args.firmware).resolve())
            runtime.call(lambda: runtime.load(firmware, args.platform, base, args.net, args.forward,
                                              args.dns_record, pace, args.cmdline, args.host_loopback,
                                              trusted=True),
                         timeout=300)
            if args.pcap:
                runtime.call(lambda: runtime.start_capture(args.pcap, trusted=True))
            if not args.paused:
                runtime.call(runtime.start)
    except RuntimeFailure as e:
        runtime.close()
        print(f"vboard: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    server.start()
    host = f"[{args.bind}]" if ":" in args.bind else args.bind
    address = f"{host}:{server.port}"
    port_file = Path(args.port_file) if args.port_file else default_port_file()
    try:
        write_port_file(port_file, ServerInfo(address, token, os.getpid()))
    except OSError as e:
        server.stop()
        print(f"vboard: error: port file {port_file}: {e.strerror or e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if token is None:
        print(f"vboard: WARNING: --no-auth: ANY local user or process that reaches {address} can drive "
              "this server (load firmware, write files below --root); use it only in a private network "
              "namespace", file=sys.stderr, flush=True)
    say(f"serving on {address}" + (" (token in " + str(port_file) + ")" if token else " WITHOUT a token"))
    done = threading.Event()

    def on_signal(_sig: int, _frame: object) -> None:
        done.set()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    try:
        while not done.wait(0.5):
            pass
    finally:
        say("stopping")
        server.stop()
        remove_port_file(port_file, os.getpid())
    return 0


if __name__ == "__main__":
    sys.exit(main_serve())
