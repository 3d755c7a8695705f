"""The emulation behind ``vboard serve``: one thread owns the boards; RPC threads ask it.

``Runtime`` holds a session (one board or a simulation of several), runs it
on its own thread and applies every request from other threads there,
between two ``Machine.run`` calls (``call``), so device and core state is
only ever touched by the emulation thread.

The thread runs while the session is *started* (free running, until
``pause``) or while some request waits on it (``RunFor``: a virtual
deadline; ``WaitFor`` on a UART: a line or a virtual timeout). When nothing
wants it to run it is paused, and virtual time stands still. Boards of a
simulation advance in lockstep quanta, as ``emulator.board.simulation`` does, a
single board in turns of ``CHUNK_NS``; a wait that is satisfied ends the run
at the end of the turn it was satisfied in (so the firmware gets on past its
prompt, e.g. enables its receiver, as it would while a person types), which
depends on virtual time only: scripts that alternate waits and writes are
deterministic.

UART output is kept whole per UART (``Transcript``: bytes plus the virtual
time of each byte); streams and waits read it by offset. Events (exit,
fault, link changes, ...) go to an ``EventHub`` with history. A board's
Wi-Fi station is looked at after every turn and every Wi-Fi request: a
change (joined with an IP, disconnected) is a ``wifi`` event, stamped with
the board's time at the end of the turn it was seen in.

Host networking of a single board (``net``): the Ethernet goes through
``bridge.net.attach``; with ``user``, a Wi-Fi module's links become host
sockets (``bridge.host_sockets.HostSocketProvider``, as ``vboard run`` gives
them), its names come from the load's DNS records, and the board's 10.0.2.2
is ``host_loopback`` (127.0.0.1 by default). Otherwise the module keeps its
in-simulation loopback provider. Host sockets are closed with the session.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from array import array
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.net.packets import require_loopback
from bridge.rpc_errors import RuntimeFailure, cut, invalid, not_found, precondition
from bridge.rpc_observe import SessionObserver
from emulator.board.machine import Machine, StopReason
from emulator.board.platform import TRUSTED, LoadPolicy, OutsideRoot
from emulator.net.network import Switch

log = logging.getLogger("vboard.rpc")

DEFAULT_WAIT_NS = 8_000_000_000  # Renode's default UART tester timeout: 8 s virtual
CHUNK_NS = 2_000_000             # a free-running single board: 2 ms of virtual time per turn
MAX_ACCESS_POINTS = 64           # per Wi-Fi module (default BSSIDs come from 255)
MAX_CMDLINE = 1024               # characters of a semihosting command line
_CMDLINE_RE = re.compile(r"[ -~]*")
DEFAULT_HOST_LOOPBACK = "127.0.0.1"
MAX_PATH = 4096                          # characters of a file name a client sends
MAX_SNAPSHOTS = 16                       # kept in memory by name
MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024   # one snapshot, in memory or in a file
MAX_SNAPSHOTS_BYTES = 1024 * 1024 * 1024  # all kept in memory together


def check_cmdline(cmdline: str) -> None:
    """A semihosting command line: printable ASCII, bounded (the firmware copies it into a buffer)."""
    if len(cmdline) > MAX_CMDLINE or not _CMDLINE_RE.fullmatch(cmdline):
        raise invalid(f"cmdline {cmdline[:40]!r}: expected at most {MAX_CMDLINE} printable ASCII "
                      "characters (no control characters)")


def check_host_loopback(address: str) -> None:
    """The host address the board's 10.0.2.2 stands for: a loopback IPv4 address ("": the default)."""
    if not address:
        return
    try:
        require_loopback(address, "host_loopback")
    except ValueError as e:
        raise invalid(str(e)) from None


# ------------------------------------------------------------------ transcripts
class Transcript:
    """Everything one UART sent, with the virtual time (ns) of each byte."""

    def __init__(self, board: str, uart: str, cond: threading.Condition) -> None:
        self.board = board
        self.uart = uart
        self.data = bytearray()
        self.times = array("Q")
        self.cond = cond

    def append(self, data: bytes, t_ns: int) -> None:
        with self.cond:
            self.data += data
            self.times.extend([t_ns] * len(data))
            self.cond.notify_all()

    def read(self, offset: int, max_bytes: int = 0) -> tuple[bytes, int, int]:
        """(data, time of data[0], end) from ``offset``."""
        with self.cond:
            end = len(self.data)
            offset = min(offset, end)
            stop = end if not max_bytes else min(end, offset + max_bytes)
            t = self.times[offset] if offset < end else 0
            return bytes(self.data[offset:stop]), t, end

    def __len__(self) -> int:
        return len(self.data)


@dataclass
class Watcher:
    """A wait for a line (or a prompt) on a UART after ``pos``."""

    transcript: Transcript
    text: str
    regex: re.Pattern[str] | None
    prompt: bool
    pos: int
    deadline_ns: int
    done: threading.Event = field(default_factory=threading.Event)
    reason: str = ""
    line: str = ""
    groups: list[str] = field(default_factory=list)
    end: int = 0
    time_ns: int = 0

    def check(self) -> bool:
        """Scan new output (emulation thread); True when matched."""
        data = self.transcript.data
        if self.prompt:
            text = data[self.pos:].decode("utf-8", "replace")
            m = self.regex.search(text) if self.regex else None
            idx = (m.start() if m else -1) if self.regex else text.find(self.text)
            if idx < 0:
                return False
            matched = m.group(0) if m else self.text
            end_chars = idx + len(matched)
            self.end = self.pos + len(text[:end_chars].encode("utf-8", "replace"))
            self.line = matched
            self.groups = [g or "" for g in m.groups()] if m else []
            self._finish("matched")
            return True
        while True:
            nl = data.find(b"\n", self.pos)
            if nl < 0:
                return False
            line = data[self.pos:nl].decode("utf-8", "replace").rstrip("\r")
            start = self.pos
            self.pos = nl + 1
            if self.regex is not None:
                m = self.regex.search(line)
                if m is None:
                    continue
                self.groups = [g or "" for g in m.groups()]
            elif self.text not in line:
                continue
            self.line = line
            self.end = self.pos
            self.time_ns = self.transcript.times[start] if start < len(self.transcript.times) else 0
            self._finish("matched")
            return True

    def _finish(self, reason: str) -> None:
        if not self.done.is_set():
            self.reason = reason
            self.done.set()


@dataclass
class RunGoal:
    """Something the emulation runs for: a virtual deadline (RunFor)."""

    deadline_ns: int
    done: threading.Event = field(default_factory=threading.Event)
    reason: str = ""


# ----------------------------------------------------------------------- events
@dataclass
class EventRecord:
    seq: int
    time_ns: int
    kind: str
    board: str = ""
    text: str = ""
    exit_code: int = 0
    port: str = ""
    up: bool = False
    ssid: str = ""
    reason: str = ""


class EventHub:
    def __init__(self, cond: threading.Condition, keep: int = 10_000) -> None:
        self.cond = cond
        self.history: list[EventRecord] = []
        self.seq = 0
        self.keep = keep

    def emit(self, time_ns: int, kind: str, **kw: Any) -> None:
        with self.cond:
            self.seq += 1
            self.history.append(EventRecord(self.seq, time_ns, kind, **kw))
            if len(self.history) > self.keep:
                del self.history[: len(self.history) - self.keep]
            self.cond.notify_all()

    def since(self, seq: int) -> list[EventRecord]:
        with self.cond:
            return [e for e in self.history if e.seq > seq]


# ---------------------------------------------------------------------- session
@dataclass
class BoardRt:
    name: str
    machine: Machine
    firmware: str
    stop: StopReason | None = None
    uarts: dict[str, Transcript] = field(default_factory=dict)
    wifi: Any = None             # the board's Wi-Fi module (peripherals.esp8266.Esp8266), if any
    wifi_seen: tuple[str | None, bool] = (None, False)  # (joined SSID, has an IP) last reported

    def time_ns(self) -> int:
        c = self.machine.clock
        return c.now * 1_000_000_000 // c.hz


@dataclass
class Session:
    loaded: str
    boards: list[BoardRt]
    switch: Switch | None
    quantum_ns: int
    network: Any = None          # bridge.net.attach.NetworkAttachment (one board)
    pace: str = "fast"
    pacer: Any = None
    host_input: Any = None
    now_ns: int = 0
    capture: Any = None          # PcapngWriter
    capture_path: str = ""
    host_sockets: list[Any] = field(default_factory=list)  # HostSocketProviders of Wi-Fi modules

    @property
    def single(self) -> bool:
        return len(self.boards) == 1

    def time_ns(self) -> int:
        return self.boards[0].time_ns() if self.single else self.now_ns

    def board(self, name: str) -> BoardRt:
        if not name:
            return self.boards[0]
        for b in self.boards:
            if b.name == name:
                return b
        raise not_found(f"no board '{cut(name)}' (boards: {', '.join(b.name for b in self.boards)})")


def _uart_names(m: Machine) -> list[str]:
    return [n for n, d in m.devices.items() if "serial" in d.ports]


_WIFI_WHY = {"ap_removed": "access point removed", "dropped": "dropped by the access point",
             "left": "the firmware left, or the module reset", "reset": "board reset"}


def _free_bssid(aps: Any) -> str:
    used = {ap.bssid.lower() for ap in aps}
    return next(f"02:00:00:00:00:{n:02x}" for n in range(1, 256) if f"02:00:00:00:00:{n:02x}" not in used)


def _wifi_module(m: Machine) -> Any:
    from peripherals.esp8266 import Esp8266

    return next((d for d in m.devices.values() if isinstance(d, Esp8266)), None)


def _check_board_net(machine: Machine, net: str, forwards: list[str], dns_records: list[str],
                     host_wifi: bool, host_loopback: str) -> None:
    """What one board can do with the load's network settings (INVALID_ARGUMENT otherwise)."""
    name = machine.platform.name
    if host_loopback and not host_wifi:
        raise invalid(f"host_loopback: for a Wi-Fi module on net user ({name}, net '{net or 'none'}')")
    if machine.ethernet_devices():
        return
    if forwards:
        raise invalid(f"forwards: {name} has no Ethernet device (port forwards are the user backend's)")
    if not host_wifi and (net not in ("", "none") or dns_records):
        hint = " (its Wi-Fi module reaches the host with net user)" if _wifi_module(machine) else ""
        raise invalid(f"net: {name} has no Ethernet device{hint}")


def _host_sockets(machine: Machine, wifi: Any, dns_records: list[str], host_loopback: str,
                  host_input: Any) -> Any:
    """Give ``wifi`` real host sockets (as ``vboard run``); its reports wake the emulation thread."""
    from bridge.host_sockets import HOST_ALIASES, HostSocketProvider
    from bridge.net.dns import DnsRecords

    records = DnsRecords.build(dns_records)

    def post(action: Callable[[], None]) -> None:
        machine.post(action)
        host_input.arrived()

    provider = HostSocketProvider(post, records, aliases={gw: host_loopback for gw in HOST_ALIASES})
    wifi.provider = provider
    provider.attach(wifi)
    host_input.opened()
    return provider


def _drop_host_links(wifi: Any) -> None:
    """After a snapshot load: no host socket is behind the restored links; their peers closed them."""
    provider = wifi.provider
    provider.close_all()
    provider.skip_handles(max((lk.handle for lk in wifi.links.values()), default=0))
    for lid in list(wifi.links):
        wifi.inject_peer_close(lid)


def _close_host_side(s: Session) -> None:
    """Stop what a session runs on the host: capture, network backend, host sockets (threads and all)."""
    if s.capture is not None:
        try:
            s.capture.close()
        except OSError:
            pass
        s.capture = None
    if s.network is not None:
        s.network.close()
        s.network = None
    for provider in s.host_sockets:
        provider.shutdown()
        s.host_input.closed()
    s.host_sockets.clear()


class ChangeCondition(threading.Condition):
    """A condition that also tells ``listeners`` (any thread) whenever it notifies all waiters."""

    def __init__(self) -> None:
        super().__init__()
        self.listeners: list[Callable[[], None]] = []

    def notify_all(self) -> None:
        super().notify_all()
        for listener in self.listeners:
            listener()


class Runtime:
    """The emulation thread and the session it runs.

    ``policy`` bounds the files a client may name (firmware, platforms,
    simulations, captures, snapshot files): default, only below the working
    directory, device models only from installed packages."""

    def __init__(self, policy: LoadPolicy | None = None) -> None:
        self.policy = policy if policy is not None else LoadPolicy(Path.cwd(), allow_model_files=False)
        self.cond = ChangeCondition()
        self.events = EventHub(self.cond)
        self.session: Session | None = None
        self.started = False
        self.goals: list[RunGoal] = []
        self.watchers: list[Watcher] = []
        self.snapshots: dict[str, Any] = {}
        self.observer: SessionObserver | None = None
        self._jobs: list[tuple[Callable[[], Any], Future]] = []
        self._wake = threading.Event()
        self._idle = False
        self._shutdown = False
        self._thread = threading.Thread(target=self._loop, name="vboard-emulation", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ thread glue
    def call(self, fn: Callable[[], Any], timeout: float = 60.0) -> Any:
        """Run ``fn`` on the emulation thread at the next boundary; its result or exception."""
        if threading.current_thread() is self._thread:
            return fn()
        fut: Future = Future()
        with self.cond:
            if self._shutdown:
                raise RuntimeFailure("UNAVAILABLE", "the server is stopping")
            self._jobs.append((fn, fut))
        self._kick()
        try:
            return fut.result(timeout)
        except TimeoutError:
            raise RuntimeFailure("DEADLINE_EXCEEDED", "the emulation thread did not answer in time") from None

    def _kick(self) -> None:
        self._wake.set()
        s = self.session
        if s is not None and s.host_input is not None:
            s.host_input.arrived()

    def _run_jobs(self) -> None:
        with self.cond:
            jobs, self._jobs = self._jobs, []
        for fn, fut in jobs:
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn())
            except BaseException as e:  # noqa: BLE001 - handed to the caller
                fut.set_exception(e)

    def close(self) -> None:
        with self.cond:
            self._shutdown = True
        self._kick()
        self._thread.join(5)
        self._unload()
        with self.cond:
            jobs, self._jobs = self._jobs, []
        for _fn, fut in jobs:  # never to run: their callers get an answer now
            if fut.set_running_or_notify_cancel():
                fut.set_exception(RuntimeFailure("UNAVAILABLE", "the server is stopping"))

    # ----------------------------------------------------------------- session
    def require(self) -> Session:
        if self.session is None:
            raise precondition("nothing is loaded (Load a firmware or a simulation first)")
        return self.session

    def load(self, firmware: str, platform: str = "mps2-an385", base: int = 0, net: str = "none",
             forwards: list[str] | None = None, dns_records: list[str] | None = None,
             pace: str = "fast", cmdline: str | None = None, host_loopback: str = "",
             trusted: bool = False) -> None:
        """Build a session (emulation thread). ``cmdline``: the firmware's semihosting command line.
        ``trusted``: the server's own user names the files (no root folder, model files allowed)."""
        from bridge.net.attach import NetworkError
        from emulator.board.loader import FirmwareError
        from emulator.board.platform import PlatformError

        if pace not in ("", "fast", "idle", "realtime"):
            raise invalid(f"pace '{cut(pace)}': expected fast, idle or realtime")
        if cmdline is not None:
            check_cmdline(cmdline)
        check_host_loopback(host_loopback)
        if not firmware:
            raise invalid("firmware: give a firmware image or a simulation file")
        policy = TRUSTED if trusted else self.policy
        path = self._path(firmware, "firmware", policy)
        try:
            found = path.is_file()
        except OSError as e:
            raise invalid(f"{cut(firmware)}: {e.strerror or e}") from None
        if not found:
            raise not_found(f"{cut(firmware)}: no such file")
        self._unload()
        try:
            if firmware.endswith((".yaml", ".yml")):
                if cmdline is not None or host_loopback:
                    raise invalid("cmdline/host_loopback are for one board, not a simulation")
                session = self._load_simulation(path, net, forwards, dns_records, pace, policy)
            else:
                session = self._load_board(path, platform, base, net, forwards or [], dns_records or [],
                                           pace, cmdline, host_loopback, policy)
        except OutsideRoot as e:
            raise RuntimeFailure("PERMISSION_DENIED", str(e)) from None
        except (FirmwareError, PlatformError, NetworkError, ValueError) as e:
            raise invalid(str(e)) from None
        except OSError as e:
            raise invalid(f"{firmware[:80]}: {e.strerror or e}") from None
        for b in session.boards:
            b.wifi = _wifi_module(b.machine)
            for uart in _uart_names(b.machine):
                t = Transcript(b.name, uart, self.cond)
                b.uarts[uart] = t
                b.machine.port(uart).connect(self._uart_listener(b, t))
            b.machine.board_log.subscribe(self._board_log_listener(b.name))
        if session.switch is not None:
            for sp in session.switch.ports:
                sp.on_link_change.append(
                    lambda up, name=sp.name: self.events.emit(self._now(), "link", port=name, up=up,
                                                              text=f"{name} link {'up' if up else 'down'}"))
        self.session = session
        self.observer = SessionObserver(session, self.events)
        self.started = False
        self.events.emit(0, "loaded", text=str(path))

    def _path(self, name: str, what: str, policy: LoadPolicy | None = None) -> Path:
        """A file a client names, bounded by the policy's root folder."""
        if len(name) > MAX_PATH or "\0" in name:
            raise invalid(f"{what} '{cut(name)}': expected a file name of at most {MAX_PATH} characters")
        try:
            return (policy or self.policy).path(name, what)
        except OutsideRoot as e:
            raise RuntimeFailure("PERMISSION_DENIED", str(e)) from None
        except OSError as e:
            raise invalid(f"{what} '{cut(name)}': {e.strerror or e}") from None

    def _load_simulation(self, path: Path, net: str, forwards: list[str] | None,
                         dns_records: list[str] | None, pace: str, policy: LoadPolicy) -> Session:
        from emulator.board.simulation import load_simulation

        if net not in ("", "none") or forwards:
            raise invalid("net/forwards are for one board; a simulation's boards share their own switch")
        if pace in ("idle", "realtime"):
            raise invalid("a simulation runs in fast pace only")
        sim = load_simulation(path, policy)
        boards = [BoardRt(b.name, b.machine, str(b.firmware)) for b in sim.boards]
        if dns_records:
            raise invalid("dns_records: a closed simulation has no DNS responder")
        return Session(str(path), boards, sim.switch, sim.quantum_ns)

    def _load_board(self, path: Path, platform: str, base: int, net: str, forwards: list[str],
                    dns_records: list[str], pace: str, cmdline: str | None, host_loopback: str,
                    policy: LoadPolicy) -> Session:
        """One board; its Ethernet attached per ``net``, its Wi-Fi module on host sockets with ``user``."""
        from emulator.board.loader import load_image
        from emulator.board.platform import load_platform

        machine = Machine(load_platform(platform or "mps2-an385", policy), name="board")
        machine.load(load_image(path, base=base))
        if cmdline is not None:
            machine.semihosting.cmdline = cmdline
        session = Session(str(path), [BoardRt("board", machine, str(path))], None, CHUNK_NS,
                          pace=pace or "fast")
        wifi = _wifi_module(machine) if net == "user" else None
        _check_board_net(machine, net, forwards, dns_records, wifi is not None, host_loopback)
        try:
            self._attach_host(session, net, forwards, dns_records, wifi,
                              host_loopback or DEFAULT_HOST_LOOPBACK)
        except BaseException:
            _close_host_side(session)
            raise
        if session.pace in ("idle", "realtime"):
            from bridge.pacing import IdlePacer, RealtimePacer

            session.pacer = (IdlePacer(machine.clock, session.host_input) if session.pace == "idle"
                             else RealtimePacer(machine.platform.clock_hz, session.host_input))
            machine.pacer = session.pacer
        return session

    def _attach_host(self, session: Session, net: str, forwards: list[str], dns_records: list[str],
                     wifi: Any, host_loopback: str) -> None:
        from bridge.net.attach import attach_network
        from bridge.uart_endpoints import HostInput

        machine = session.boards[0].machine
        if not machine.ethernet_devices() and wifi is None:
            return
        session.host_input = HostInput()
        if machine.ethernet_devices():
            session.network = attach_network(machine, net or "none", forwards=forwards,
                                             dns_records=dns_records, host_input=session.host_input,
                                             on_error=lambda msg: self.events.emit(self._now(), "network",
                                                                                   text=msg))
            session.switch = session.network.switch
        if wifi is not None:
            session.host_sockets.append(_host_sockets(machine, wifi, dns_records, host_loopback,
                                                      session.host_input))

    def _board_log_listener(self, board: str) -> Callable[[Any], None]:
        """Board log records become ``log`` events: reason = level, text = "source: message"."""
        def listener(record: Any) -> None:
            self.events.emit(record.time_ns, "log", board=board, reason=record.level,
                             text=f"{record.source}: {record.message}")

        return listener

    def _uart_listener(self, b: BoardRt, t: Transcript) -> Callable[[bytes], None]:
        def listener(data: bytes) -> None:
            t.append(data, b.time_ns())
            for w in self.watchers:
                if w.transcript is t and not w.done.is_set() and w.check():
                    if not w.time_ns:
                        w.time_ns = b.time_ns()

        return listener

    def _unload(self) -> None:
        s = self.session
        self.session = None
        self.started = False
        self._abort_waits("unloaded")
        if s is not None:
            _close_host_side(s)

    def _now(self) -> int:
        s = self.session
        return s.time_ns() if s is not None else 0

    # -------------------------------------------------------------- run control
    def start(self) -> None:
        s = self.require()
        if all(b.stop is not None for b in s.boards):
            raise precondition("every board has stopped (exited or faulted); Reset first")
        if not self.started:
            self._wake_pacer()
            self.started = True
            self.events.emit(self._now(), "started")

    def _wake_pacer(self) -> None:
        """Realtime pace: virtual time stood still while paused; count the wall clock from now."""
        s = self.session
        if s is not None and s.pacer is not None and not self._wanted():
            s.pacer.anchor(s.boards[0].machine.clock.now)

    def pause(self) -> None:
        self.require()
        was = self.started or self.goals or self.watchers
        self.started = False
        self._abort_waits("paused")
        if was:
            self.events.emit(self._now(), "paused")

    def _abort_waits(self, reason: str) -> None:
        for g in self.goals:
            g.reason = reason
            g.done.set()
        for w in self.watchers:
            w._finish(reason)
        self.goals = []
        self.watchers = []

    def reset(self, board: str = "") -> None:
        s = self.require()
        targets = [s.board(board)] if board else s.boards
        for b in targets:
            b.stop = None
            b.machine._stop = None
            b.machine.cpu.halt_reason = None
            b.machine.request_reset("host request")
            # Apply it now: a stopped board would otherwise keep its old state until it runs.
            b.machine.run(0)
        self.events.emit(self._now(), "reset", board=board, text="system reset")
        for b in targets:
            self._wifi_poll(b, "reset")

    def add_goal(self, duration_ns: int) -> RunGoal:
        s = self.require()
        if self.started:
            raise precondition("the emulation is running freely; Pause it before RunFor")
        self._wake_pacer()
        g = RunGoal(s.time_ns() + duration_ns)
        if all(b.stop is not None for b in s.boards):
            g.reason = "stopped"
            g.done.set()
            return g
        self.goals.append(g)
        return g

    def add_watcher(self, board: str, uart: str, pattern: str, regex: bool, prompt: bool, offset: int,
                    timeout_ns: int) -> Watcher:
        s = self.require()
        t = self.transcript(board, uart)
        rx = None
        if regex:
            try:
                rx = re.compile(pattern)
            except re.error as e:
                raise invalid(f"pattern '{cut(pattern)}': not a regular expression ({e})") from None
        elif not pattern:
            raise invalid("pattern: give the text to wait for")
        deadline = s.time_ns() + (timeout_ns or DEFAULT_WAIT_NS)
        w = Watcher(t, pattern, rx, prompt, min(offset, len(t)), deadline)
        if w.check():
            return w
        b = s.board(board)
        if b.stop is not None:
            w._finish("stopped")
            return w
        self._wake_pacer()
        self.watchers.append(w)
        return w

    def transcript(self, board: str, uart: str) -> Transcript:
        s = self.require()
        b = s.board(board)
        name = uart or "uart0"
        if name not in b.uarts:
            raise not_found(f"board '{b.name}' has no UART '{cut(name)}' (UARTs: {', '.join(b.uarts)})")
        return b.uarts[name]

    # -------------------------------------------------------------------- loop
    def _wanted(self) -> bool:
        s = self.session
        if s is None:
            return False
        return self.started or bool(self.goals) or bool(self.watchers)

    def _loop(self) -> None:
        while not self._shutdown:
            self._run_jobs()
            if not self._wanted():
                self._wake.wait(0.2)
                self._wake.clear()
                continue
            try:
                self._turn()
            except Exception:  # noqa: BLE001 - never let the thread die; report and pause
                log.exception("emulation turn failed")
                self.events.emit(self._now(), "error", text="internal error in the emulation; paused")
                self.started = False
                self._abort_waits("error")

    def _turn(self) -> None:
        s = self.session
        assert s is not None
        now = s.time_ns()
        horizon = [g.deadline_ns for g in self.goals] + [w.deadline_ns for w in self.watchers]
        end = now + s.quantum_ns
        if horizon:
            end = min(end, min(horizon))
        if end > now:
            self._advance(s, end)
        for b in s.boards:
            if b.wifi is not None:
                self._wifi_poll(b)
        now = s.time_ns()
        all_stopped = all(b.stop is not None for b in s.boards)
        for g in list(self.goals):
            if now >= g.deadline_ns or all_stopped:
                g.reason = "time" if now >= g.deadline_ns else "stopped"
                g.done.set()
                self.goals.remove(g)
        for w in list(self.watchers):
            if w.done.is_set():
                self.watchers.remove(w)
            elif now >= w.deadline_ns or w.transcript.board in {b.name for b in s.boards if b.stop}:
                w.time_ns = now
                w._finish("timeout" if now >= w.deadline_ns else "stopped")
                self.watchers.remove(w)
        if all_stopped and self.started:
            self.started = False
        if self._idle:
            # Free running, a single board asleep with nothing scheduled: wait for input
            # (virtual time stands still) instead of spinning.
            self._idle = False
            if s.host_input is not None and s.host_input.sources > 0:
                s.host_input.wait(0.05)
            else:
                self._wake.wait(0.05)
                self._wake.clear()

    def _advance(self, s: Session, end_ns: int) -> None:
        single = s.single
        for b in s.boards:
            if b.stop is not None:
                continue
            m = b.machine
            clock = m.clock
            # Up to the first cycle at or after end_ns: a deadline closer than one cycle still moves
            # time on (rounding down, a 1 ns wait never timed out and the thread spun).
            target = -(-end_ns * clock.hz // 1_000_000_000)
            cycles = target - clock.now
            if cycles <= 0:
                continue
            stop = m.run(cycles)
            if stop.kind == "idle":
                if single and not self.goals and not self.watchers:
                    self._idle = True
                else:
                    clock.advance(max(0, target - clock.now))
                    clock.fire_due()
            elif stop.kind not in ("time", "condition"):
                b.stop = stop
                self._report_stop(b, stop)
        if not single:
            s.now_ns = end_ns

    def _report_stop(self, b: BoardRt, stop: StopReason) -> None:
        t = b.time_ns()
        if stop.kind == "exit":
            self.events.emit(t, "exit", board=b.name, exit_code=stop.exit_code or 0,
                             text=f"{b.name} exited with {stop.exit_code or 0}")
        elif stop.report is not None:
            self.events.emit(t, "fault", board=b.name, text=stop.report.text())
        else:
            self.events.emit(t, "stop", board=b.name, text=f"{b.name} stopped: {stop.kind} {stop.message}")

    # ------------------------------------------------------------------- state
    def board_state(self, b: BoardRt) -> dict[str, Any]:
        st = b.stop
        if st is None:
            state = "running" if self.started or self.goals or self.watchers else "paused"
        elif st.kind == "exit":
            state = "exited"
        elif st.kind in ("fault", "lockup"):
            state = "faulted"
        else:
            state = st.kind
        m = b.machine
        return {"name": b.name, "state": state, "time_ns": b.time_ns(), "instructions": m.instructions,
                "exited": st is not None and st.kind == "exit",
                "exit_code": (st.exit_code or 0) if st is not None and st.kind == "exit" else 0,
                "message": st.message if st is not None else "",
                "fault_report": st.report.text() if st is not None and st.report is not None else "",
                "pc": m.cpu.pc & 0xFFFFFFFF, "firmware": b.firmware}

    def state(self) -> dict[str, Any]:
        s = self.session
        if s is None:
            return {"state": "unloaded", "time_ns": 0, "instructions": 0, "exited": False, "exit_code": 0,
                    "message": "nothing loaded", "boards": [], "loaded": "", "pace": ""}
        boards = [self.board_state(b) for b in s.boards]
        states = {b["state"] for b in boards}
        if "faulted" in states:
            overall = "faulted"
        elif states == {"exited"}:
            overall = "exited"
        elif any(b["state"] == "running" for b in boards):
            overall = "running"
        else:
            overall = "paused"
        codes = [b["exit_code"] for b in boards if b["exit_code"]]
        total = sum(b["instructions"] for b in boards)
        return {"state": overall, "time_ns": s.time_ns(), "instructions": total,
                "exited": states == {"exited"}, "exit_code": codes[0] if codes else 0,
                "message": "; ".join(b["message"] for b in boards if b["message"]), "boards": boards,
                "loaded": s.loaded, "pace": s.pace}


    # ------------------------------------------------------------------- debug
    def step(self, board: str, count: int) -> tuple[int, str, str]:
        s = self.require()
        if self.started or self.goals or self.watchers:
            raise precondition("the emulation is running; Pause it before Step")
        b = s.board(board)
        if b.stop is not None:
            raise precondition(f"board '{b.name}' has stopped ({b.stop.kind}); Reset first")
        kind = "step"
        for _ in range(count):
            stop = b.machine.step()
            if stop.kind == "idle":  # asleep with nothing to wake it: stepping does nothing
                kind = "idle"
                break
            if stop.kind not in ("condition", "time"):
                b.stop = stop
                self._report_stop(b, stop)
                kind = stop.kind
                break
        pc = b.machine.cpu.pc & 0xFFFFFFFF
        return pc, b.machine.symbol(pc), kind

    # -------------------------------------------------------------------- uart
    def uart_write(self, board: str, uart: str, data: bytes) -> int:
        s = self.require()
        t = self.transcript(board, uart)
        b = s.board(board)
        b.machine.port(t.uart).deliver(bytes(data))
        return b.time_ns()

    # ------------------------------------------------------------------ memory
    def _ram_check(self, m: Machine, address: int, size: int) -> None:
        for lo, hi in m.cpu.ram_ranges:
            if lo <= address and address + size <= hi:
                return
        raise invalid(f"0x{address:08X}+{size}: not inside one RAM region (device registers are not "
                      "read or written through this API)")

    def mem_read(self, board: str, address: int, size: int) -> bytes:
        b = self.require().board(board)
        self._ram_check(b.machine, address, size)
        return bytes(b.machine.cpu.uc.mem_read(address, size))

    def mem_write(self, board: str, address: int, data: bytes) -> None:
        b = self.require().board(board)
        self._ram_check(b.machine, address, len(data))
        b.machine.cpu.uc.mem_write(address, bytes(data))
        b.machine.cpu.uc.ctl_flush_tb()

    def symbol(self, board: str, name: str, address: int) -> tuple[str, int]:
        b = self.require().board(board)
        syms = b.machine.symbols
        if name:
            addr = syms.address(name)
            if addr is None:
                raise not_found(f"no symbol '{cut(name)}' in {b.firmware}")
            return name, addr
        found = syms.lookup(address & ~1)
        if found is None:
            raise not_found(f"no symbol at 0x{address:08X}")
        return found, address

    # ----------------------------------------------------------------- network
    def _switch(self) -> Switch:
        s = self.require()
        if s.switch is None:
            raise precondition("this board has no Ethernet (no switch to act on)")
        return s.switch

    def port(self, name: str) -> Any:
        sw = self._switch()
        s = self.require()
        if not name:
            board_ports = [p for p in sw.ports if p.name != "host"]
            return board_ports[0] if board_ports else sw.ports[0]
        try:
            return sw.port(name)
        except KeyError:
            pass
        if s.single:  # "board.eth0" for a single board too
            short = name.split(".", 1)[-1]
            try:
                return sw.port(short)
            except KeyError:
                pass
        raise not_found(f"no switch port '{cut(name)}' (ports: {', '.join(p.name for p in sw.ports)})")

    def set_link(self, name: str, up: bool | None, loss: float | None, delay_ns: int | None,
                 rate_bps: int | None) -> Any:
        p = self.port(name)
        if loss is not None and not 0.0 <= loss <= 1.0:
            raise invalid(f"loss {loss}: expected a probability between 0 and 1")
        if loss is not None:
            p.link.loss = loss
        if delay_ns is not None:
            p.link.delay_ns = delay_ns
        if rate_bps is not None:
            p.link.rate_bps = rate_bps
        if up is not None:
            p.set_link(up)
        return p

    def ports(self) -> tuple[list[Any], str]:
        s = self.require()
        if s.switch is None:
            return [], "none"
        return list(s.switch.ports), s.network.describe() if s.network is not None else "simulation"

    def add_forward(self, spec: str) -> None:
        s = self.require()
        backend = s.network.backend if s.network is not None else None
        if backend is None or backend.kind not in ("user", "passt"):
            raise precondition("port forwards need the user backend (Load with net=user)")
        if not hasattr(backend, "add_forward"):
            raise precondition("passt takes its port forwards when it starts: give them to Load "
                               "(vboard serve --forward), or use net=user")
        from bridge.net.attach import NetworkError, parse_forward
        from bridge.net.backend import BackendError

        try:
            backend.add_forward(parse_forward(spec))
        except (NetworkError, BackendError) as e:
            raise invalid(str(e)) from None

    def add_dns_record(self, name: str, address: str) -> None:
        from bridge.net.dns import DnsConfigError, DnsRecords, DnsResponder

        s = self.require()
        net = s.network
        if net is None and not s.host_sockets:
            raise precondition("DNS records need a single board with Ethernet (the bridge's DNS responder) "
                               "or a Wi-Fi module on net user")
        try:
            for provider in s.host_sockets:
                provider.records.add(name, address)
            if net is None:
                return
            if net.dns is None:
                records = DnsRecords()
                records.add(name, address)
                net.dns = DnsResponder(records, answer_arp=net.backend.kind not in ("user", "passt"))
                net.backend.outbound_hooks.append(net.dns.hook(net.backend.inject))
            else:
                net.dns.records.add(name, address)
        except (DnsConfigError, ValueError) as e:
            raise invalid(str(e)) from None

    def start_capture(self, path: str, trusted: bool = False) -> None:
        from bridge.net.pcapng import CaptureWriteError, PcapngWriter

        s = self.require()
        sw = self._switch()
        if s.capture is not None:
            raise precondition(f"a capture is running already ({s.capture_path}); stop it first")
        if not path:
            raise invalid("path: where to write the pcapng file")
        path = str(self._path(path, "capture", TRUSTED if trusted else None))
        try:
            writer = PcapngWriter(path)
        except CaptureWriteError as e:
            raise RuntimeFailure("DATA_LOSS", str(e)) from None
        except OSError as e:
            raise invalid(f"{path}: {e.strerror or e}") from None
        for p in sw.ports:
            writer.attach(p)
        s.capture, s.capture_path = writer, path

    def stop_capture(self) -> tuple[str, int]:
        s = self.require()
        if s.capture is None:
            raise precondition("no capture is running")
        w, path = s.capture, s.capture_path
        s.capture, s.capture_path = None, ""
        w.close()
        if w.error:
            raise RuntimeFailure("DATA_LOSS", f"{path}: {w.error}: the capture is incomplete "
                                 f"({w.frames} frames written)")
        return path, w.frames

    def inject(self, name: str, frame: bytes) -> None:
        from emulator.net.frames import ETH_HEADER, ETH_MAX_VLAN_FRAME

        s = self.require()
        if not ETH_HEADER <= len(frame) <= ETH_MAX_VLAN_FRAME:
            raise invalid(f"frame of {len(frame)} bytes: expected {ETH_HEADER}..{ETH_MAX_VLAN_FRAME}")
        if not name and s.network is not None:
            s.network.backend.inject(bytes(frame))
            return
        self.port(name).receive(bytes(frame))

    # ------------------------------------------------------------------- wi-fi
    def _wifi(self, board: str) -> tuple[BoardRt, Any]:
        b = self.require().board(board)
        if b.wifi is None:
            raise precondition(f"board '{b.name}' ({b.machine.platform.name}) has no Wi-Fi module "
                               "(e.g. load with platform mps2-an385-wifi)")
        return b, b.wifi

    def _ap(self, b: BoardRt, ssid: str) -> Any:
        ap = b.wifi.aps.get(ssid)
        if ap is None:
            have = ", ".join(b.wifi.aps) or "none"
            raise not_found(f"board '{b.name}' has no access point '{cut(ssid)}' (access points: {have})")
        return ap

    def wifi_status(self, board: str) -> dict[str, Any]:
        b, w = self._wifi(board)
        state = "disconnected" if w.joined is None else ("got_ip" if w.got_ip else "connected")
        aps = [{"ssid": ap.ssid, "secured": bool(ap.encryption), "rssi": ap.rssi, "channel": ap.channel,
                "bssid": ap.bssid} for ap in w.aps.values()]
        return {"board": b.name, "module": w.name, "access_points": aps, "state": state,
                "ssid": w.joined or "", "ip": w.station_ip[0] if w.got_ip else "", "mac": w.mac}

    def add_ap(self, board: str, ssid: str, password: str, rssi: int, channel: int, bssid: str) -> None:
        b, w = self._wifi(board)
        old = w.aps.get(ssid)
        if old is None and len(w.aps) >= MAX_ACCESS_POINTS:
            raise precondition(f"board '{b.name}' has {len(w.aps)} access points already (at most "
                               f"{MAX_ACCESS_POINTS}); remove one first")
        if not bssid:
            bssid = old.bssid if old is not None else _free_bssid(w.aps.values())
        taken = [ap.ssid for ap in w.aps.values() if ap.bssid.lower() == bssid and ap.ssid != ssid]
        if taken:
            raise invalid(f"bssid {bssid}: already the BSSID of '{taken[0]}'")
        try:
            w.add_ap(ssid, password, rssi, channel, bssid)
        except ValueError as e:
            raise invalid(str(e)) from None

    def remove_ap(self, board: str, ssid: str) -> None:
        b, w = self._wifi(board)
        self._ap(b, ssid)
        w.remove_ap(ssid)
        self._wifi_poll(b, "ap_removed")

    def set_rssi(self, board: str, ssid: str, rssi: int) -> None:
        b, w = self._wifi(board)
        if not ssid:
            if w.joined is None:
                raise precondition(f"board '{b.name}': the station is not joined; name the access point")
            ssid = w.joined
        self._ap(b, ssid)
        w.set_rssi(ssid, rssi)

    def drop_station(self, board: str) -> None:
        """The AP deauthenticates the station and stays: the module rejoins it by itself."""
        b, w = self._wifi(board)
        if w.joined is None:
            raise precondition(f"board '{b.name}': the station is not joined to an access point")
        ap = self._ap(b, w.joined)
        order = list(w.aps)
        w.remove_ap(ap.ssid)
        self._wifi_poll(b, "dropped")
        w.add_ap(**ap.as_dict())  # re-adding the AP the module lost: it rejoins after its join time
        kept = {name: w.aps[name] for name in order}
        w.aps.clear()
        w.aps.update(kept)  # the AP keeps its place in scans

    def _wifi_poll(self, b: BoardRt, reason: str = "") -> None:
        """Report a change of the station (joined with an IP, disconnected) as a ``wifi`` event."""
        w = b.wifi
        if w is None:
            return
        now = (w.joined, bool(w.got_ip))
        was, b.wifi_seen = b.wifi_seen, now
        if now == was:
            return
        t = b.time_ns()
        if was[0] is not None and was[0] != now[0]:
            why = reason or "left"
            self.events.emit(t, "wifi", board=b.name, ssid=was[0], up=False, reason=why,
                             text=f"{b.name}: disconnected from '{was[0]}' ({_WIFI_WHY[why]})")
        if now[0] is not None and now[1] and (was[0] != now[0] or not was[1]):
            self.events.emit(t, "wifi", board=b.name, ssid=now[0], up=True, reason="joined",
                             text=f"{b.name}: joined '{now[0]}', IP {w.station_ip[0]}")

    # --------------------------------------------------------------- snapshots
    def save_snapshot(self, name: str, path: str) -> Any:
        from bridge.rpc_snapshot import Snapshot, save_board, save_switch

        s = self.require()
        if self.started or self.goals or self.watchers:
            raise precondition("the emulation is running; Pause it before taking a snapshot")
        snap = Snapshot(name, s.time_ns(), [save_board(b.name, b.machine) for b in s.boards],
                        save_switch(s.switch) if s.switch is not None else None,
                        extra={"loaded": s.loaded, "now_ns": s.now_ns,
                               "stops": {b.name: b.stop for b in s.boards}})
        if s.network is not None and s.network.backend.kind != "none":
            snap.not_restored.append(f"host network backend ({s.network.describe()}): its connections")
        if s.host_sockets:
            snap.not_restored.append("Wi-Fi module host sockets: their connections (closed, as by the peer, "
                                     "when the snapshot is loaded)")
        size = snap.size()
        if size > MAX_SNAPSHOT_BYTES:
            raise RuntimeFailure("RESOURCE_EXHAUSTED", f"snapshot of {size >> 20} MiB: at most "
                                 f"{MAX_SNAPSHOT_BYTES >> 20} MiB")
        kept = {k: v for k, v in self.snapshots.items() if k != name}
        if len(kept) >= MAX_SNAPSHOTS or sum(v.size() for v in kept.values()) + size > MAX_SNAPSHOTS_BYTES:
            raise RuntimeFailure("RESOURCE_EXHAUSTED", f"{len(kept)} snapshots kept already (at most "
                                 f"{MAX_SNAPSHOTS}, {MAX_SNAPSHOTS_BYTES >> 20} MiB together): save under "
                                 "the name of one to replace it")
        if path:
            target = self._path(path, "snapshot file")
            try:
                target.write_bytes(snap.to_bytes())
            except OSError as e:
                raise RuntimeFailure("DATA_LOSS", f"{path[:80]}: {e.strerror or e}") from None
        self.snapshots[name] = snap
        self.events.emit(snap.time_ns, "snapshot", text=f"saved {name}")
        return snap

    def load_snapshot(self, name: str, path: str) -> Any:
        from bridge.rpc_snapshot import Snapshot, SnapshotError, restore_board, restore_switch

        s = self.require()
        if self.started or self.goals or self.watchers:
            raise precondition("the emulation is running; Pause it before loading a snapshot")
        if path:
            source = self._path(path, "snapshot file")
            try:
                if source.stat().st_size > MAX_SNAPSHOT_BYTES:
                    raise invalid(f"{path[:80]}: larger than {MAX_SNAPSHOT_BYTES >> 20} MiB")
                snap = Snapshot.from_bytes(source.read_bytes())
            except OSError as e:
                raise not_found(f"{path}: {e.strerror or e}") from None
            except SnapshotError as e:
                raise invalid(str(e)) from None
        elif name in self.snapshots:
            snap = self.snapshots[name]
        else:
            raise not_found(f"no snapshot '{cut(name)}' (have: {', '.join(self.snapshots) or 'none'})")
        if [b.name for b in snap.boards] != [b.name for b in s.boards]:
            raise precondition("the snapshot is of other boards than the ones loaded")
        lost: list[str] = []
        try:
            if snap.switch is not None and s.switch is not None:
                restore_switch(snap.switch, s.switch)
            for bs, b in zip(snap.boards, s.boards, strict=True):
                lost += restore_board(bs, b.machine, s.switch)
                b.stop = snap.extra.get("stops", {}).get(b.name)
        except SnapshotError as e:
            raise precondition(str(e)) from None
        s.now_ns = snap.extra.get("now_ns", 0)
        for b in s.boards:
            if b.wifi is not None and b.wifi.provider in s.host_sockets:
                _drop_host_links(b.wifi)
        if s.pacer is not None:
            s.pacer.anchor(s.boards[0].machine.clock.now)
        snap.not_restored = sorted(set(snap.not_restored) | {f"event {x}" for x in lost})
        self.snapshots.setdefault(name or snap.name, snap)
        self.events.emit(snap.time_ns, "snapshot", text=f"loaded {name or path}")
        return snap


def wait_event(ev: threading.Event, alive: Callable[[], bool], limit_s: float | None = None) -> bool:
    """Wait for ``ev`` while ``alive()``; False when the caller went away or ``limit_s`` passed."""
    start = time.monotonic()
    while not ev.wait(0.1):
        if not alive():
            return False
        if limit_s is not None and time.monotonic() - start > limit_s:
            return False
    return True
