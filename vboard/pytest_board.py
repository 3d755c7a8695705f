"""Boards for pytest: what the ``board`` and ``simulation`` fixtures give a test.

A ``Session`` is one ``vboard serve`` process with one firmware (a
``Board``) or a simulation file (several ``Board``s on one switch) loaded,
paused. ``board.uart.expect(pattern, timeout=...)`` runs the board until
its UART prints something matching ``pattern`` (a regular expression, as
pytest-embedded's ``dut.expect``) and returns the ``re.Match``; the timeout
is seconds of virtual time and each match consumes the output up to its
end. ``board.run_for(seconds)`` runs virtual time; ``board.start()`` lets the
board run freely (what a host client talking to it needs; ``expect`` then
watches it). ``board.net`` has the port forwards, captures and link faults.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from vboard.client import ClientError
from vboard.peers import free_port
from vboard.robot_core import ANY_BYTE, observe
from vboard.robot_serve import ServeProcess, safe_name

DEFAULT_EXPECT_S = 30.0   # pytest-embedded's default expect timeout


class ExpectTimeout(AssertionError):
    """``expect`` saw no match within its virtual timeout (or the board stopped)."""


def _ns(seconds: float) -> str:
    return f"{int(seconds * 1e9)}ns"


class Uart:
    def __init__(self, session: Session, board: str, name: str) -> None:
        self.session = session
        self.board = board
        self.name = name
        self.cursor = 0

    def _read(self, offset: int) -> bytes:
        return self.session.client.uart_read(offset, self.board, self.name).data

    @property
    def text(self) -> str:
        """Everything the UART printed since power-on."""
        return self._read(0).decode("utf-8", "replace")

    def expect(self, pattern: str | bytes | re.Pattern, timeout: float = DEFAULT_EXPECT_S) -> re.Match:
        """Run until the output after the last match matches ``pattern``; the match (str or bytes)."""
        rx = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern)
        return self._expect(rx, timeout, str(rx.pattern))

    def expect_exact(self, text: str | bytes, timeout: float = DEFAULT_EXPECT_S) -> re.Match:
        """``expect`` for a literal text."""
        rx = re.compile(re.escape(text))
        return self._expect(rx, timeout, repr(text))

    def _expect(self, rx: re.Pattern, timeout: float, what: str) -> re.Match:
        client = self.session.client
        binary = isinstance(rx.pattern, bytes)
        deadline = int(client.state().time_ns) + int(timeout * 1e9)
        while True:
            data = self._read(self.cursor)
            hay: Any = data if binary else data.decode("utf-8", "surrogateescape")
            m = rx.search(hay)
            if m is not None:
                used = hay[:m.end()]
                self.cursor += len(used) if binary else len(used.encode("utf-8", "surrogateescape"))
                return m
            state = client.state()
            now = int(state.time_ns)
            me = [b for b in state.boards if b.name == self.board or not self.board]
            if now >= deadline or all(b.state in ("exited", "faulted") for b in me):
                why = (f"board {me[0].state}" if me and me[0].state in ("exited", "faulted")
                       else f"{timeout:g} s of virtual time passed")
                tail = data[-800:].decode("utf-8", "replace")
                raise ExpectTimeout(f"{self.board}.{self.name}: no match for {what} ({why}); output since "
                                    f"the last match ends with:\n{tail}")
            client.wait_for(ANY_BYTE, offset=self.cursor + len(data), timeout=f"{deadline - now}ns",
                            regex=True, prompt=True, board=self.board, uart=self.name)

    def write(self, data: str | bytes) -> None:
        raw = data.encode() if isinstance(data, str) else data
        self.session.client.uart_write(raw, self.board, self.name)

    def write_line(self, text: str, end: str = "\n") -> None:
        self.write(text + end)


class Net:
    """The board's Ethernet on the virtual switch, and the host side of it."""

    def __init__(self, session: Session, port: str, forwards: dict[int, int]) -> None:
        self.session = session
        self.port = port
        self.forwards = forwards        # board TCP port -> host port on 127.0.0.1
        self.capture_path = ""

    def host_port(self, board_port: int) -> int:
        if board_port not in self.forwards:
            raise KeyError(f"board port {board_port} is not forwarded (forwards: {sorted(self.forwards)})")
        return self.forwards[board_port]

    def url(self, board_port: int = 80, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.host_port(board_port)}{path}"

    def capture(self, path: str | Path) -> str:
        """Capture every switch port to a pcapng file (virtual time stamps) until ``stop_capture``."""
        self.capture_path = str(Path(path).resolve())
        self.session.client.start_capture(self.capture_path)
        return self.capture_path

    def stop_capture(self) -> str:
        info = self.session.client.stop_capture()
        self.capture_path = ""
        return info.path

    def link_down(self) -> None:
        self.session.client.set_link(self.port, up=False)

    def link_up(self) -> None:
        self.session.client.set_link(self.port, up=True)

    def set_loss(self, probability: float) -> None:
        self.session.client.set_link(self.port, loss=probability)

    def set_delay(self, seconds: float) -> None:
        self.session.client.set_link(self.port, delay_ns=int(seconds * 1e9))

    def counters(self) -> dict[str, Any]:
        for p in self.session.client.ports().ports:
            if p.name == self.port:
                return {"rx_frames": p.rx_frames, "tx_frames": p.tx_frames, "rx_bytes": p.rx_bytes,
                        "tx_bytes": p.tx_bytes, "dropped": dict(p.dropped), "up": p.up}
        raise KeyError(f"no switch port {self.port}")

    def sent_frames(self, since: int = 0) -> list[tuple[float, bytes]]:
        """(virtual seconds, frame) of what the board sent since it was loaded (the last few thousand)."""
        reply = observe(self.session.client, "Frames", since=since, port=self.port)
        return [(f.time_ns / 1e9, bytes(f.data)) for f in reply.frames]


class Board:
    def __init__(self, session: Session, name: str, forwards: dict[int, int]) -> None:
        self.session = session
        self.name = name
        uarts = [u.uart for u in session.client.uarts().uarts if u.board == name]
        self.uarts = {u: Uart(session, name, u) for u in uarts}
        self.uart = self.uarts.get("uart0") or next(iter(self.uarts.values()))
        port = "eth0" if len(session.boards_named) == 1 else f"{name}.eth0"
        self.net = Net(session, port, forwards)

    def _state(self) -> Any:
        for b in self.session.client.state().boards:
            if b.name == self.name:
                return b
        raise KeyError(self.name)

    @property
    def state(self) -> str:
        """running, paused, exited or faulted."""
        return self._state().state

    @property
    def exit_code(self) -> int | None:
        b = self._state()
        return b.exit_code if b.state == "exited" else None

    @property
    def fault_report(self) -> str:
        return self._state().fault_report

    @property
    def time(self) -> float:
        """Virtual time in seconds."""
        return self._state().time_ns / 1e9

    def run_for(self, seconds: float) -> None:
        """Run ``seconds`` of virtual time (the whole session, paused first if it ran freely)."""
        self.session.run_for(seconds)

    def start(self) -> None:
        self.session.start()

    def pause(self) -> None:
        self.session.client.pause()

    def reset(self) -> None:
        self.session.client.reset(self.name)

    def leds(self) -> dict[str, bool]:
        return {x.name: x.on for x in observe(self.session.client, "Leds", board=self.name).leds}

    def log(self) -> list[str]:
        """The board's log so far: ``[level] source: message`` lines."""
        reply = observe(self.session.client, "Log", board=self.name)
        return [f"[{e.level}] {e.source}: {e.message}" for e in reply.entries]


class Session:
    """One ``vboard serve`` with a board or a simulation loaded (paused)."""

    def __init__(self, log_dir: Path, label: str) -> None:
        self.serve = ServeProcess(log_dir, label)
        self.client = self.serve.client
        self.boards: dict[str, Board] = {}
        self.boards_named: list[str] = []

    def load_board(self, firmware: str | Path, platform: str = "", net: str = "none",
                   forwards: list[int | str] | None = None, dns_records: list[str] | None = None,
                   pace: str = "", cmdline: str | None = None) -> Board:
        """``forwards``: board TCP ports (a free host port each) or ``tcp:HOST:BOARD`` specs."""
        specs, mapping = [], {}
        for f in forwards or []:
            if isinstance(f, int) or str(f).isdigit():
                host = free_port()
                specs.append(f"tcp:{host}:{int(f)}")
                mapping[int(f)] = host
            else:
                specs.append(str(f))
                parts = str(f).split(":")
                mapping[int(parts[-1])] = int(parts[-2])
        pace = pace or ("realtime" if net == "user" else "fast")
        try:
            self.client.load(str(Path(firmware).resolve()), platform=platform, net=net, forwards=specs,
                             dns_records=dns_records or [], pace=pace, cmdline=cmdline)
        except ClientError as e:
            raise RuntimeError(f"vboard could not load {firmware}: {e.message}") from None
        self._loaded()
        board = Board(self, self.boards_named[0], mapping)
        self.boards = {board.name: board}
        return board

    def load_simulation(self, path: str | Path) -> dict[str, Board]:
        try:
            self.client.load(str(Path(path).resolve()))
        except ClientError as e:
            raise RuntimeError(f"vboard could not load {path}: {e.message}") from None
        self._loaded()
        self.boards = {n: Board(self, n, {}) for n in self.boards_named}
        return self.boards

    def _loaded(self) -> None:
        self.boards_named = [b.name for b in self.client.state().boards]
        observe(self.client, "Frames", since=1 << 62)  # record sent frames from now on (Net.sent_frames)

    def run_for(self, seconds: float) -> None:
        if self.client.state().state == "running":
            self.client.pause()
        self.client.run_for(_ns(seconds))

    def start(self) -> None:
        if self.client.state().state != "running":
            self.client.start()

    def save_artifacts(self, folder: Path) -> None:
        """UART transcripts, state, fault reports and the board log of every board."""
        folder.mkdir(parents=True, exist_ok=True)
        try:
            for u in self.client.uarts().uarts:
                data = self.client.uart_read(0, u.board, u.uart).data
                if data:
                    (folder / f"{safe_name(u.board)}.{u.uart}.txt").write_bytes(data)
            st = self.client.state()
            (folder / "state.txt").write_text(str(st))
            reports = [f"[{b.name}]\n{b.fault_report}\n" for b in st.boards if b.fault_report]
            if reports:
                (folder / "fault-report.txt").write_text("\n".join(reports))
            log = [f"{e.time_ns / 1e9:12.6f} [{e.level}] {e.board} {e.source}: {e.message}"
                   for e in observe(self.client, "Log").entries]
            if log:
                (folder / "board-log.txt").write_text("\n".join(log) + "\n")
        except (ClientError, AssertionError, OSError) as e:
            (folder / "artifact-error.txt").write_text(str(e))

    def close(self) -> None:
        self.serve.stop()
