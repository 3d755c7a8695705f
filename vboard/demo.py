"""``vboard demo``: network firmware talking to real host programs, in a few seconds, without root.

It starts an HTTP server on a free port of 127.0.0.1 and runs the board's
``net_demo`` app (firmware/apps/net_demo) with ``vboard run --net user``:
the board takes its address by DHCP, resolves ``files.demo`` through an
offline DNS record (``--dns-record files.demo=10.0.2.2``; 10.0.2.2 is the
host's loopback seen from the board), fetches a page from that server and
prints the reply, then serves a page of its own on port 80. The demo fetches
that page through a port forward (``--forward tcp:PORT:80``, PORT free on
127.0.0.1) with a host HTTP client, prints it, and the board exits 0.

Exit status: 0 when all of that happened; the board's status when it failed
or faulted; 1 when the board ran but a step did not happen (the line says
which); 2 for bad input (a missing firmware image).
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from vboard.peers import HttpServer, free_port, http_response

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ELF = ROOT / "firmware" / "build" / "net_demo.elf"
HOST_NAME = "files.demo"
HOST_PATH = "/hello.txt"
SERVING = "net_demo: serving http://"
WALL_LIMIT = 60.0  # s: DHCP, one fetch and one served page take a few seconds


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vboard demo", description="Boot the net_demo firmware on --net user: DHCP, an offline DNS "
        "record, a page fetched from a host HTTP server, a page of its own served through a forward.")
    parser.add_argument("--firmware", default=str(DEFAULT_ELF),
                        help="the net_demo image (default: firmware/build/net_demo.elf)")
    parser.add_argument("--trace", metavar="FILE", help="also write the run's timeline (vboard run --trace)")
    return parser


def _say(text: str) -> None:
    print(f"demo: {text}", flush=True)


def _fetch_board_page(url: str) -> tuple[int, str]:
    """GET ``url`` with urllib (a plain host HTTP client); (status, body)."""
    with urllib.request.urlopen(url, timeout=15) as reply:
        return reply.status, reply.read().decode(errors="replace")


class _BoardOutput:
    """The board's stdout, echoed line by line as it comes, with an event when the board serves."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self.serving = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            print(line, end="", flush=True)
            if line.startswith(SERVING):
                self.serving.set()
        self.serving.set()  # the board ended: nobody waits for it any more


def run_demo(firmware: str, trace: str | None = None) -> int:
    elf = Path(firmware)
    if not elf.is_file():
        print(f"vboard demo: error: {elf}: no such firmware image (build it: make -C firmware)",
              file=sys.stderr)
        return 2
    body = (f"Hello from the host! This page was served by vboard demo's HTTP server on 127.0.0.1 "
            f"and reached the board as http://{HOST_NAME}:{{port}}{HOST_PATH}\n")
    with HttpServer(0, b"") as server:
        server.response = http_response(body.format(port=server.port).encode(), "text/plain")
        forward = free_port()
        command = ["vboard", "run", str(_shown(elf)), "--net", "user",
                   "--dns-record", f"{HOST_NAME}=10.0.2.2", "--forward", f"tcp:{forward}:80",
                   "--cmdline", f"net_demo host={HOST_NAME} port={server.port} path={HOST_PATH}",
                   "--max-time", "60s", "-q"]
        if trace:
            command += ["--trace", trace]
        _say(f"host HTTP server on 127.0.0.1:{server.port}, the board sees it as {HOST_NAME}:{server.port}")
        _say(shlex.join(command))
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "vboard.cli", *command[1:]], stdout=subprocess.PIPE,
                                text=True, cwd=Path.cwd())
        try:
            return _drive(proc, _BoardOutput(proc), server, forward, started)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)


def _drive(proc: subprocess.Popen[str], out: _BoardOutput, server: HttpServer, forward: int,
           started: float) -> int:
    out.serving.wait(WALL_LIMIT)
    if not any(line.startswith(SERVING) for line in out.lines):
        code = _wait(proc, started)
        _say(f"FAIL: the board did not get to serving its page (status {code})")
        return code or 1
    url = f"http://127.0.0.1:{forward}/"
    _say(f"GET {url} (the forward to the board's port 80)")
    try:
        status, page = _fetch_board_page(url)
    except (urllib.error.URLError, OSError) as e:
        _say(f"FAIL: {url}: {e}")
        _wait(proc, started)
        return 1
    _say(f"{status} from the board:")
    print(page, end="" if page.endswith("\n") else "\n", flush=True)
    code = _wait(proc, started)
    out.thread.join(5)
    asked = [r.request_line for r in server.requests]
    if code != 0:
        _say(f"FAIL: the board exited {code}")
        return code
    if len(asked) != 1 or "<h1>Hello from the board</h1>" not in page:
        _say(f"FAIL: host server saw {asked}, board page {page[:80]!r}")
        return 1
    _say(f"the board exited 0 after {time.monotonic() - started:.1f} s")
    return 0


def _wait(proc: subprocess.Popen[str], started: float) -> int:
    try:
        return proc.wait(max(1.0, WALL_LIMIT - (time.monotonic() - started)))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
        _say(f"FAIL: the board still ran after {WALL_LIMIT:.0f} s")
        return 1


def _shown(path: Path) -> Path:
    """``path`` relative to the working directory when it lies below it (shorter to read)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def main_demo(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    return run_demo(args.firmware, args.trace)
