"""``vboard run SIMULATION.yaml``: several boards on one virtual switch.

Each board's UART0 goes to stdout, line by line, prefixed with the board's
name; ``--pcap`` captures every switch port (one pcapng interface each).
Runs are in ``fast`` pacing: a closed simulation has no wall clock to follow.
Board log lines go to stderr with the same prefix.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from emulator.board.machine import StopReason
from emulator.board.simulation import Simulation, load_simulation
from vboard import signals
from vboard.log_lines import log_floor, print_records

EXIT_FAULT = 3
EXIT_TIMEOUT = 124


class LinePrefixer:
    """Board bytes to whole ``[name] line`` lines on a writer."""

    def __init__(self, name: str, write: Callable[[str], None]) -> None:
        self.prefix = f"[{name}] "
        self.write = write
        self.buf = bytearray()

    def __call__(self, data: bytes) -> None:
        self.buf += data
        while b"\n" in self.buf:
            line, _, rest = self.buf.partition(b"\n")
            self.write(self.prefix + line.decode(errors="replace").rstrip("\r") + "\n")
            self.buf = bytearray(rest)

    def flush(self) -> None:
        if self.buf:
            self.write(self.prefix + self.buf.decode(errors="replace") + "\n")
            self.buf.clear()


def _stdout(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def run_simulation(args: argparse.Namespace, max_time: float | None,
                   status: Callable[[str], None]) -> int:
    sim: Simulation = load_simulation(args.firmware)
    writers = []
    for board in sim.boards:
        w = LinePrefixer(board.name, _stdout)
        board.machine.port("uart0").connect(w)
        writers.append(w)
        print_records(board.machine.board_log, log_floor(args), f"[{board.name}] ")
        board.machine.strict = args.strict
    trace = _start_trace(args.trace, sim)
    pcap = None
    if args.pcap:
        from bridge.net.pcapng import PcapngWriter

        pcap = PcapngWriter(args.pcap)
        for sp in sim.switch.ports:
            pcap.attach(sp)
    chunk_ns = 10_000_000
    end_ns = None if max_time is None else int(max_time * 1e9)
    try:
        while True:
            step = chunk_ns if end_ns is None else min(chunk_ns, end_ns - sim.now_ns)
            with signals.current.deferred():
                stops = sim.run(step)
            signals.current.check()
            if all(s is not None for s in stops.values()):
                break
            if end_ns is not None and sim.now_ns >= end_ns:
                break
    finally:
        for w in writers:
            w.flush()
        if pcap is not None:
            pcap.close()
            if pcap.error:
                print(f"vboard: error: --pcap {args.pcap}: {pcap.error} (output after it is lost)",
                      file=sys.stderr, flush=True)
                args.output_lost = True
        if trace is not None:
            for board, traced in zip(sim.boards, trace.boards, strict=True):
                if board.stop is not None:
                    traced.stopped(board.stop)
            trace.close()
            if trace.error:
                print(f"vboard: error: --trace {args.trace}: {trace.error} (output after it is lost)",
                      file=sys.stderr, flush=True)
                args.output_lost = True
    return _exit_status(sim, end_ns, status)


def _start_trace(path: str | None, sim: Simulation) -> Any:
    """``--trace FILE``: each board a process of the trace, with its own switch ports' frames."""
    if not path:
        return None
    from bridge.trace import TraceWriter

    writer = TraceWriter(path)
    for board in sim.boards:
        traced = writer.add_board(board.machine, board.name)
        for port in sim.switch.ports:
            if port.name.startswith(f"{board.name}."):
                traced.add_switch_port(port)
    return writer


def _exit_status(sim: Simulation, end_ns: int | None, status: Callable[[str], None]) -> int:
    code = 0
    for board in sim.boards:
        stop: StopReason | None = board.stop
        if stop is None:
            status(f"{board.name}: still running at --max-time ({sim.now_ns / 1e9:.6f} s virtual time)")
            code = max(code, EXIT_TIMEOUT) if code != EXIT_FAULT else code
        elif stop.kind in ("fault", "lockup") and stop.report is not None:
            print(f"[{board.name}] " + stop.report.text().replace("\n", f"\n[{board.name}] "),
                  file=sys.stderr)
            code = EXIT_FAULT
        elif stop.kind == "exit":
            status(f"{board.name}: exited with {stop.exit_code}")
            if stop.exit_code and code == 0:
                code = stop.exit_code
    counters = sim.switch.counters()
    for name, c in counters.items():
        dropped = ", ".join(f"{k} {v}" for k, v in sorted(c["dropped"].items())) or "none"  # type: ignore[union-attr]
        status(f"switch port {name}: in {c['rx_frames']} out {c['tx_frames']} dropped {dropped}")
    return code
