"""Timelines of a run in virtual time: ``vboard run --trace FILE``.

The file is the Chrome/Perfetto JSON trace-event format (``ui.perfetto.dev``
and ``chrome://tracing`` open it): an object with ``traceEvents`` and
``displayTimeUnit``. Timestamps are microseconds of the board's virtual
time, so the same run gives the same trace.

Each board is a process (``pid``, named after the board); its tracks are
threads (``tid``):

- ``exceptions`` (tid 1): one complete slice (``ph: X``) per handler run,
  named after the exception (``SysTick``, ``IRQ13 eth0.irq``), nested as
  the handlers preempted each other; ``args.exception`` is the number;
- ``faults`` (tid 2): instants for every fault taken (``UNDEFINSTR ->
  UsageFault``) and the fault report that stopped the board;
- ``uart0``..``uart4`` (tid 10+N): one instant per line the firmware wrote;
- ``<port> frames`` (tid 100+K): one instant per frame the board sent
  (``tx``) or received (``rx``) on a switch port, with its size and a
  one-line summary (ARP, IPv4 TCP/UDP/ICMP with ports);
- ``links`` (tid 3): carrier up/down of the board's switch ports; resets;
- ``board log`` (tid 4): the board's log records (``emulator/boardlog.py``:
  faults, accesses nothing serves, device guest errors), all levels;
- ``IRQ<n> <device.line> line`` (tid 200 + exception number): one slice
  per time a device held that NVIC input high (a track per line, made at
  its first assertion), so the wait from a device's request to its handler
  shows between this track and ``exceptions``.

Everything is recorded on the emulation thread through observer hooks
(``Machine.observe_exceptions``, byte ports, switch-port taps, board-log
subscriptions) and written to the file as it happens; ``close()`` ends the
handlers still running and the JSON document.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator.cpu.nvic import IRQ0, exception_name

if TYPE_CHECKING:  # the CLI imports TraceError before anything heavy
    from emulator.board.machine import Machine, StopReason
    from emulator.boardlog import LogRecord
    from emulator.net.network import SwitchPort

TID_EXCEPTIONS = 1
TID_FAULTS = 2
TID_LINKS = 3
TID_LOG = 4
TID_UART0 = 10
TID_FRAMES0 = 100
TID_LINES0 = 200
FAULT_EXCEPTIONS = (2, 3, 4, 5, 6)  # NMI, HardFault, MemManage, BusFault, UsageFault
MAX_TEXT = 200


class TraceError(Exception):
    """The trace file cannot be written; says which and why."""


def frame_summary(frame: bytes) -> str:
    """``ARP``, ``IPv4 UDP 10.0.2.15:68 > 255.255.255.255:67``, ``EtherType 0x88b5``..."""
    if len(frame) < 14:
        return "runt"
    ethertype = struct.unpack_from("!H", frame, 12)[0]
    if ethertype == 0x0806:
        return "ARP"
    if ethertype != 0x0800 or len(frame) < 34:
        return f"EtherType 0x{ethertype:04x}"
    ihl = (frame[14] & 0x0F) * 4
    proto = frame[23]
    src, dst = ".".join(map(str, frame[26:30])), ".".join(map(str, frame[30:34]))
    name = {1: "ICMP", 6: "TCP", 17: "UDP"}.get(proto, f"proto {proto}")
    at = 14 + ihl
    if proto in (6, 17) and len(frame) >= at + 4:
        sport, dport = struct.unpack_from("!HH", frame, at)
        text = f"IPv4 {name} {src}:{sport} > {dst}:{dport}"
        if proto == 6 and len(frame) >= at + 14:
            flags = frame[at + 13]
            text += " " + "".join(c for bit, c in ((2, "S"), (16, "."), (8, "P"), (1, "F"), (4, "R"))
                                  if flags & bit)
        return text
    return f"IPv4 {name} {src} > {dst}"


class _BoardTrace:
    """The tracks of one board."""

    def __init__(self, writer: TraceWriter, machine: Machine, pid: int, name: str) -> None:
        self.writer = writer
        self.machine = machine
        self.pid = pid
        self.name = name
        self.clock = machine.clock
        self.open: list[tuple[int, float]] = []  # exceptions entered and not yet returned: (n, ts)
        self.irq_names = {IRQ0 + irq: f"{spec.name}.{line}" for spec in machine.platform.devices
                          for line, irq in spec.irqs.items()}
        self.frame_tracks = 0
        writer.meta(pid, 0, "process_name", name)
        writer.meta(pid, TID_EXCEPTIONS, "thread_name", "exceptions")
        writer.meta(pid, TID_FAULTS, "thread_name", "faults")
        writer.meta(pid, TID_LINKS, "thread_name", "links")
        writer.meta(pid, TID_LOG, "thread_name", "board log")
        machine.board_log.subscribe(self._log_record)
        self.lines_high: dict[int, float] = {}  # exception number of a line held high -> since
        self.line_tracks: set[int] = set()
        machine.observe_exceptions(self._exception)
        machine.observe_irqs(self._irq_line)
        machine.on_reset.append(self._reset)
        for i in range(5):
            dev = machine.devices.get(f"uart{i}")
            if dev is not None and "serial" in dev.ports:
                dev.ports["serial"].connect(self._uart_lines(TID_UART0 + i, f"uart{i}"))

    def now_us(self) -> float:
        return round(self.clock.now * 1e6 / self.clock.hz, 3)

    def label(self, n: int) -> str:
        name = exception_name(n)
        return f"{name} {self.irq_names[n]}" if n in self.irq_names else name

    def _exception(self, kind: str, n: int) -> None:
        ts = self.now_us()
        if kind == "enter":
            self.open.append((n, ts))
            if n in FAULT_EXCEPTIONS:
                fault = getattr(self.machine.cpu, "last_fault", None)
                what = f"{fault.cfsr_bit} at 0x{fault.pc:08X} -> " if fault is not None else ""
                self.instant(TID_FAULTS, f"{what}{exception_name(n)}", ts, {"exception": n})
            return
        # A return ends the innermost handler run; anything above it was left open by a reset.
        while self.open:
            m, start = self.open.pop()
            self.slice(m, start, ts)
            if m == n:
                break

    def _irq_line(self, irq: int, level: bool) -> None:
        n = IRQ0 + irq  # the NMI input (-14) is exception 2
        if level:
            if n not in self.line_tracks:
                self.line_tracks.add(n)
                self.writer.meta(self.pid, TID_LINES0 + n, "thread_name", f"{self.label(n)} line")
            self.lines_high.setdefault(n, self.now_us())
        elif n in self.lines_high:
            self.line_slice(n, self.lines_high.pop(n), self.now_us())

    def line_slice(self, n: int, start: float, end: float) -> None:
        self.writer.add({"ph": "X", "name": self.label(n), "cat": "irq", "pid": self.pid,
                         "tid": TID_LINES0 + n, "ts": start, "dur": round(max(0.0, end - start), 3),
                         "args": {"exception": n}})

    def slice(self, n: int, start: float, end: float) -> None:
        self.writer.add({"ph": "X", "name": self.label(n), "cat": "exception", "pid": self.pid,
                         "tid": TID_EXCEPTIONS, "ts": start, "dur": round(max(0.0, end - start), 3),
                         "args": {"exception": n}})

    def instant(self, tid: int, name: str, ts: float | None = None,
                args: dict[str, Any] | None = None) -> None:
        event: dict[str, Any] = {"ph": "i", "s": "t", "name": name[:MAX_TEXT], "pid": self.pid, "tid": tid,
                                 "ts": self.now_us() if ts is None else ts}
        if args:
            event["args"] = args
        self.writer.add(event)

    def close_open(self) -> None:
        ts = self.now_us()
        while self.open:
            n, start = self.open.pop()
            self.slice(n, start, ts)
        for n, start in sorted(self.lines_high.items()):
            self.line_slice(n, start, ts)
        self.lines_high.clear()

    def _log_record(self, record: LogRecord) -> None:
        self.instant(TID_LOG, f"{record.level} {record.source}: {record.message}",
                     round(record.time_ns / 1000, 3), {"level": record.level, "source": record.source})

    def _reset(self, reason: str) -> None:
        self.close_open()
        self.instant(TID_LINKS, f"reset ({reason})")

    def _uart_lines(self, tid: int, name: str) -> Callable[[bytes], None]:
        """A byte-port listener: one instant per line; the track is named at its first byte."""
        buf = bytearray()
        named = False

        def on_bytes(data: bytes) -> None:
            nonlocal named
            if not named:
                named = True
                self.writer.meta(self.pid, tid, "thread_name", name)
            buf.extend(data)
            while (end := buf.find(b"\n")) >= 0:
                text = buf[:end].decode(errors="replace").rstrip("\r")
                del buf[:end + 1]
                self.instant(tid, text or "(empty line)", args={"text": text})

        return on_bytes

    def add_switch_port(self, port: SwitchPort) -> None:
        tid = TID_FRAMES0 + self.frame_tracks
        self.frame_tracks += 1
        self.writer.meta(self.pid, tid, "thread_name", f"{port.name} frames")

        def tap(t_ns: int, frame: bytes, direction: str) -> None:
            # "in": the board sent it into the switch; "out": the switch delivered it to the board.
            way = "tx" if direction == "in" else "rx"
            self.instant(tid, f"{way} {frame_summary(frame)}", round(t_ns / 1000, 3),
                         {"bytes": len(frame), "direction": way})

        port.taps.append(tap)
        port.on_link_change.append(
            lambda up: self.instant(TID_LINKS, f"{port.name} link {'up' if up else 'down'}"))

    def stopped(self, stop: StopReason) -> None:
        if stop.kind in ("fault", "lockup"):
            self.instant(TID_FAULTS, f"{stop.kind}: {stop.message}",
                         args={"report": stop.report.text() if stop.report is not None else ""})


class TraceWriter:
    """Writes the trace events of one or more boards to ``path`` as they happen; ``close()`` ends it.

    Events go to the file at once (memory stays bounded on long runs); only
    the handlers still running are kept. A write error (ENOSPC, EIO) stops
    the writing and is kept in ``error`` for the caller to report once; it
    never raises on the emulation thread. Only opening the file raises.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._file = open(self.path, "w")  # for the whole run: close() closes it
        except OSError as e:
            raise TraceError(f"--trace {path}: {e.strerror or e}") from None
        self._separator = ""
        self.error: str | None = None
        self.events_written = 0
        self.boards: list[_BoardTrace] = []
        self.closed = False
        self._write('{"displayTimeUnit": "ns", "otherData": {"clock": "virtual time of the boards", '
                    '"writer": "vboard"},\n"traceEvents": [\n')

    def _write(self, text: str) -> None:
        if self.error is None:
            try:
                self._file.write(text)
            except OSError as e:
                self.error = e.strerror or str(e)

    def add(self, event: dict[str, Any]) -> None:
        self._write(self._separator + json.dumps(event, separators=(",", ":")))
        self._separator = ",\n"
        self.events_written += 1

    def meta(self, pid: int, tid: int, kind: str, name: str) -> None:
        self.add({"ph": "M", "name": kind, "pid": pid, "tid": tid, "args": {"name": name}})

    def add_board(self, machine: Machine, name: str) -> _BoardTrace:
        board = _BoardTrace(self, machine, len(self.boards) + 1, name)
        self.boards.append(board)
        return board

    def close(self) -> None:
        """Close the handlers still running at the end and finish the file (once); see ``error``."""
        if self.closed:
            return
        self.closed = True
        for board in self.boards:
            board.close_open()
        self._write("\n]}\n")
        try:
            self._file.close()
        except OSError as e:
            self.error = self.error or e.strerror or str(e)
