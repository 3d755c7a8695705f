"""The state every keyword group of ``vboard.robot`` shares, and how waits run the board.

``RobotCore`` owns the suite's ``vboard serve`` process, what is loaded in
it (from ``Start Board``/``Start Simulation`` or from Renode monitor lines,
``Execute Command``, loaded when first needed), and ``run_until``: the one
loop behind every wait. A wait looks at what is there first; with
``timeout=0`` that is all. Otherwise, while the emulation is paused (the
default between keywords) it runs the board in virtual time: up to the next
UART output when a UART is watched (``Uart.WaitFor`` on any byte), else in
growing slices (1 ms doubling up to 50 ms); the wait ends at the first look
that matches, or when the virtual timeout has passed or the board stopped.
While the emulation runs freely (``Start Emulation``) a UART wait watches
the same way (the server ends it at the virtual deadline); other waits look
every 10 ms of wall time. Either way results carry the virtual time at which the
thing happened, read from the board.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from vboard.client import Client, ClientError
from vboard.robot_monitor import MonitorSetup
from vboard.robot_serve import ServeProcess, safe_name

T = TypeVar("T")
DEFAULT_TIMEOUT_NS = 8_000_000_000   # Renode's default tester timeout: 8 s of virtual time
FIRST_STEP_NS = 1_000_000
MAX_STEP_NS = 50_000_000
POLL_WALL_S = 0.01
ANY_BYTE = r"[\s\S]"


def robot_variable(name: str, default: Any = None) -> Any:
    try:
        from robot.libraries.BuiltIn import BuiltIn

        value = BuiltIn().get_variable_value(name)
        return default if value is None else value
    except Exception:  # noqa: BLE001 - outside a Robot run
        return default


class RobotCore:
    def __init__(self) -> None:
        self.serve: ServeProcess | None = None
        self.setup = MonitorSetup()
        self.load_args: dict[str, Any] | None = None   # what is loaded now (for Requires)
        self.default_board = ""

    # ------------------------------------------------------------ plumbing
    def _output_dir(self) -> Path:
        out = robot_variable("${OUTPUT DIR}")
        return Path(out) if out else Path.cwd()

    def _suite_name(self) -> str:
        return str(robot_variable("${SUITE NAME}", "suite"))

    def _client(self) -> Client:
        if self.serve is None:
            self.serve = ServeProcess(self._output_dir() / "vboard", self._suite_name())
        return self.serve.client

    def _c(self) -> Client:
        """The client, with what the monitor lines described loaded."""
        if self.load_args is None or (self.setup.machines and not self.setup.loaded):
            if not self.setup.machines:
                raise AssertionError("no board: use Start Board, Start Simulation or Execute Command "
                                     "(mach create, machine LoadPlatformDescription, sysbus LoadELF) first")
            self._load(self.setup.load_args())
            self.setup.loaded = True
        return self._client()

    def _call(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        try:
            return fn(*args, **kw)
        except ClientError as e:
            raise AssertionError(f"vboard: {e.code}: {e.message}") from None

    def _load(self, args: dict[str, Any]) -> None:
        client = self._client()
        self._call(client.load, **args)
        self.load_args = dict(args)
        self._forget_session()
        boards = client.state().boards
        self.default_board = boards[0].name if len(boards) > 1 else ""

    def _forget_session(self) -> None:
        """A new emulation: testers of the old one are gone (each group clears its own)."""

    def _stop_serve(self) -> None:
        if self.serve is not None:
            self.serve.stop()
            self.serve = None
        self.load_args = None
        self.setup = MonitorSetup()
        self._forget_session()

    # ----------------------------------------------------------------- time
    def _now_ns(self) -> int:
        return int(self._c().state().time_ns)

    def _board_time_ns(self, board: str) -> int:
        for b in self._c().state().boards:
            if not board or b.name == board:
                return int(b.time_ns)
        return 0

    def _time_at(self, board: str, uart: str, offset: int) -> int:
        """Virtual time (ns) at which the UART sent the byte just before ``offset``."""
        from bridge.proto import vboard_pb2 as pb

        client = self._c()
        request = pb.UartReadRequest(board=board, uart=uart, offset=max(0, offset - 1), max_bytes=1)
        return int(self._call(client.call, client.uart.Read, request).time_ns)

    def _stopped(self, state: Any, board: str) -> bool:
        return all(b.state in ("exited", "faulted") for b in state.boards
                   if not board or b.name == board)

    def _run_until(self, check: Callable[[], T | None], timeout_ns: int, board: str = "",
                  uart: tuple[str, str, Callable[[], int]] | None = None, pause: bool = False) -> T | None:
        """``check()`` until it returns something, running the board up to ``timeout_ns`` of virtual time.

        ``uart``: (board, uart, current offset) to run up to that UART's next output at a time.
        """
        result = check()
        if result is not None or timeout_ns <= 0:
            return result
        client = self._c()
        deadline = int(client.state().time_ns) + timeout_ns
        step = FIRST_STEP_NS
        while True:
            state = client.state()
            now = int(state.time_ns)
            if now >= deadline or self._stopped(state, board):
                return check()
            left = deadline - now
            if uart is not None:
                b, u, offset = uart
                self._call(client.wait_for, ANY_BYTE, offset=offset(), timeout=f"{left}ns", regex=True,
                           prompt=True, board=b, uart=u)
            elif state.state == "running":
                time.sleep(POLL_WALL_S)
            else:
                self._call(client.run_for, f"{min(step, left)}ns")
                step = min(step * 2, MAX_STEP_NS)
            result = check()
            if result is not None:
                if pause and client.state().state == "running":
                    self._call(client.pause)
                return result

    # ----------------------------------------------------------- artifacts
    def _artifact_dir(self, suite: str, test: str) -> Path:
        return self._output_dir() / "vboard" / safe_name(suite) / safe_name(test)

    def _save_artifacts(self, suite: str, test: str) -> Path | None:
        """UART transcripts, fault reports, state and the board log of a failed test."""
        if self.serve is None or self.load_args is None:
            return None
        client = self.serve.client
        d = self._artifact_dir(suite, test)
        try:
            d.mkdir(parents=True, exist_ok=True)
            for u in client.uarts().uarts:
                data = client.uart_read(0, u.board, u.uart).data
                if data:
                    (d / f"{safe_name(u.board)}.{u.uart}.txt").write_bytes(data)
            st = client.state()
            reports = [f"[{b.name}]\n{b.fault_report}\n" for b in st.boards if b.fault_report]
            if reports:
                (d / "fault-report.txt").write_text("\n".join(reports))
            (d / "state.txt").write_text(str(st))
            self._save_more_artifacts(d)
        except (ClientError, OSError) as e:
            (d / "artifact-error.txt").write_text(str(e))
        return d

    def _save_more_artifacts(self, folder: Path) -> None:
        """Groups add theirs (the capture, the log)."""


def observe(client: Client, method: str, board: str = "", since: int = 0, port: str = "") -> Any:
    """Call the ``Observe`` service (LEDs, the board's log, sent frames) through ``client``."""
    from bridge.proto import vboard_pb2 as pb
    from bridge.proto import vboard_pb2_grpc as rpc

    stub = rpc.ObserveStub(client.channel)
    try:
        return client.call(getattr(stub, method), pb.ObserveRequest(board=board, since=since, port=port))
    except ClientError as e:
        raise AssertionError(f"vboard: {e.code}: {e.message}") from None
