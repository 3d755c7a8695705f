"""Robot Framework keywords for vboard: ``Library    vboard.robot``.

Each suite gets its own ``vboard serve`` process on a free loopback port
(``Start Board`` / ``Start Simulation``), stopped at the end of the suite
(and at interpreter exit, whatever happens), so ``pabot`` can run suites in
parallel. Keyword names follow Renode's where the meaning is the same
(``Wait For Line On Uart``, ``Wait For Prompt On Uart``, ``Write Line To
Uart``, ``Test If Uart Is Idle``, ``Create Terminal Tester``, ``Reset
Emulation``); timeouts are virtual time (default 8 s, as Renode's).

Between keywords the emulation is paused: a wait runs it until the line
appears (or the virtual timeout passes), so a suite is deterministic. Use
``Start Emulation`` / ``Pause Emulation`` for a free-running board.

When a test fails, the UART transcripts, the fault report and the capture
are saved under ``${OUTPUT DIR}/vboard/<suite>/<test>/``.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from vboard.client import Client, ClientError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TIMEOUT = "8s"
_LIVE: set[subprocess.Popen] = set()


def _kill_all() -> None:
    for proc in list(_LIVE):
        _stop_process(proc)


atexit.register(_kill_all)


def _stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    _LIVE.discard(proc)


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "no", "0", "off", "none")
    return bool(value)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "x"


class _Listener:
    ROBOT_LISTENER_API_VERSION = 3

    def __init__(self, lib: robot) -> None:
        self.lib = lib

    def end_test(self, data: Any, result: Any) -> None:
        if not result.passed and getattr(result, "status", "") != "SKIP":
            self.lib._save_artifacts(result.parent.name if result.parent else "suite", result.name)

    def end_suite(self, data: Any, result: Any) -> None:
        self.lib.stop_board()


class robot:  # noqa: N801 - the library is imported as ``vboard.robot``
    """Keywords to run firmware on vboard and test it over its UARTs and network."""

    ROBOT_LIBRARY_SCOPE = "SUITE"
    ROBOT_LIBRARY_DOC_FORMAT = "reST"

    def __init__(self, timeout: str = DEFAULT_TIMEOUT) -> None:
        self.default_timeout = timeout
        self.proc: subprocess.Popen | None = None
        self.client: Client | None = None
        self.address = ""
        self.cursors: dict[tuple[str, str], int] = {}
        self.default_board = ""
        self.default_uart = ""
        self.capture_path = ""
        self.last_capture = ""
        self.workdir = ""
        self.ROBOT_LIBRARY_LISTENER = _Listener(self)

    # ---------------------------------------------------------------- helpers
    def _c(self) -> Client:
        if self.client is None:
            raise AssertionError("no board: use Start Board or Start Simulation first")
        return self.client

    def _output_dir(self) -> Path:
        try:
            from robot.libraries.BuiltIn import BuiltIn

            out = BuiltIn().get_variable_value("${OUTPUT DIR}")
            if out:
                return Path(out)
        except Exception:  # noqa: BLE001 - outside a Robot run
            pass
        return Path.cwd()

    def _suite_name(self) -> str:
        try:
            from robot.libraries.BuiltIn import BuiltIn

            return str(BuiltIn().get_variable_value("${SUITE NAME}") or "suite")
        except Exception:  # noqa: BLE001
            return "suite"

    def _key(self, board: str | None, uart: str | None) -> tuple[str, str]:
        return (board or self.default_board, uart or self.default_uart or "uart0")

    def _call(self, fn: Any, *args: Any, **kw: Any) -> Any:
        try:
            return fn(*args, **kw)
        except ClientError as e:
            raise AssertionError(f"vboard: {e.code}: {e.message}") from None

    # ------------------------------------------------------------ lifecycle
    def start_board(self, firmware: str, platform: str = "", net: str = "none", forwards: str = "",
                    dns_records: str = "", pace: str = "fast", cmdline: str | None = None,
                    host_loopback: str = "") -> None:
        """Start a ``vboard serve`` for this suite and load ``firmware`` on one board (paused).

        ``forwards`` and ``dns_records`` are comma-separated (``tcp:8080:80``,
        ``example.com=10.0.2.2``); ``net`` is ``none``, ``user``, ``tap:NAME`` or ``socket:URL``
        (``user`` also gives a Wi-Fi module host sockets, its 10.0.2.2 being ``host_loopback``,
        127.0.0.1 by default). ``cmdline`` is what the firmware's semihosting SYS_GET_CMDLINE
        returns (e.g. ``wifi_tests ap-loss``; not given: ``firmware``).
        """
        self._spawn()
        fw = [f.strip() for f in forwards.split(",") if f.strip()]
        dns = [d.strip() for d in dns_records.split(",") if d.strip()]
        self._call(self._c().load, str(Path(firmware).resolve()), platform=platform, net=net, forwards=fw,
                   dns_records=dns, pace=pace, cmdline=cmdline, host_loopback=host_loopback)
        self.cursors.clear()

    def start_simulation(self, simulation: str) -> None:
        """Start a ``vboard serve`` for this suite with a simulation file of several boards (paused)."""
        self._spawn()
        self._call(self._c().load, str(Path(simulation).resolve()))
        self.cursors.clear()
        boards = self._c().state().boards
        self.default_board = boards[0].name if boards else ""

    def _spawn(self) -> None:
        self.stop_board()
        self.workdir = tempfile.mkdtemp(prefix="vboard-robot-")
        port_file = Path(self.workdir) / "port"
        log_dir = self._output_dir() / "vboard"
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / f"serve-{_safe(self._suite_name())}-{os.getpid()}.log"
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
        with open(log_path, "ab") as log:
            proc = subprocess.Popen([sys.executable, "-m", "vboard.serve", "--paused", "--port-file",
                                     str(port_file)], stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                    env=env, cwd=str(ROOT), start_new_session=True)
        _LIVE.add(proc)
        self.proc = proc
        deadline = time.monotonic() + 30
        while not port_file.exists():
            if proc.poll() is not None:
                raise AssertionError(f"vboard serve exited with {proc.returncode}; see {log_path}")
            if time.monotonic() > deadline:
                self.stop_board()
                raise AssertionError(f"vboard serve did not start in 30 s; see {log_path}")
            time.sleep(0.05)
        self.address = port_file.read_text().strip()
        self.client = Client(self.address, timeout=600)
        self.client.wait_ready(10)
        self.default_board = ""
        self.default_uart = ""

    def stop_board(self) -> None:
        """Stop this suite's ``vboard serve`` (done at the end of the suite anyway)."""
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.proc is not None:
            _stop_process(self.proc)
            self.proc = None
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = ""

    def create_terminal_tester(self, uart: str = "uart0", timeout: str | None = None,
                               board: str = "") -> str:
        """Make ``uart`` (and ``board``) the default of the UART keywords, as Renode's tester does."""
        self.default_uart = uart.split(".")[-1]
        if board:
            self.default_board = board
        if timeout:
            self.default_timeout = timeout
        return self.default_uart

    def set_default_uart_timeout(self, timeout: str) -> None:
        self.default_timeout = timeout

    def start_emulation(self) -> None:
        """Run freely (until ``Pause Emulation``, an exit or a fault)."""
        self._call(self._c().start)

    def pause_emulation(self) -> None:
        self._call(self._c().pause)

    def run_for(self, duration: str) -> None:
        """Run for ``duration`` of virtual time (``1s``, ``250ms``)."""
        self._call(self._c().run_for, duration)

    def reset_board(self, board: str = "") -> None:
        """System reset (every board, or one); UART waits start after what was printed before."""
        self._call(self._c().reset, board)
        for u in self._c().uarts().uarts:
            self.cursors[(u.board, u.uart)] = u.length

    reset_emulation = reset_board

    # ------------------------------------------------------------------ UART
    def _board_name(self, board: str | None) -> str:
        return board or self.default_board

    def _wait(self, content: str, timeout: str | None, regex: bool, prompt: bool, board: str | None,
              uart: str | None) -> Any:
        key = self._key(board, uart)
        reply = self._call(self._c().wait_for, content, offset=self.cursors.get(key, 0),
                           timeout=timeout or self.default_timeout, regex=regex, prompt=prompt,
                           board=key[0], uart=key[1])
        if not reply.matched:
            what = "prompt" if prompt else "line"
            tail = self._c().uart_text(max(0, self.cursors.get(key, 0)), key[0], key[1])[-600:]
            raise AssertionError(f"{what} '{content}' not seen on {key[0] or 'board'}.{key[1]} "
                                 f"({reply.reason}, timeout {timeout or self.default_timeout} virtual); "
                                 f"output since the last match ends with:\n{tail}")
        self.cursors[key] = reply.end
        return reply

    def wait_for_line_on_uart(self, content: str, timeout: str | None = None, treatAsRegex: bool = False,  # noqa: N803
                              board: str | None = None, uart: str | None = None) -> str:
        """Run until a line containing ``content`` (or matching it, ``treatAsRegex=True``) appears.

        Lines already matched by an earlier wait are not seen again. Returns the line.
        """
        return self._wait(content, timeout, _bool(treatAsRegex), False, board, uart).line

    def wait_for_prompt_on_uart(self, prompt: str, timeout: str | None = None, treatAsRegex: bool = False,  # noqa: N803
                                board: str | None = None, uart: str | None = None) -> str:
        """Run until ``prompt`` appears, without waiting for the end of its line."""
        return self._wait(prompt, timeout, _bool(treatAsRegex), True, board, uart).line

    def wait_for_line_on_uart_matching(self, regex: str, timeout: str | None = None, board: str | None = None,
                                       uart: str | None = None) -> list[str]:
        """Like ``Wait For Line On Uart`` with a regex; returns the regex's groups."""
        return list(self._wait(regex, timeout, True, False, board, uart).groups)

    def write_to_uart(self, text: str, board: str | None = None, uart: str | None = None) -> None:
        key = self._key(board, uart)
        self._call(self._c().uart_write, text, key[0], key[1])

    def write_line_to_uart(self, line: str = "", board: str | None = None, uart: str | None = None) -> None:
        """Type ``line`` and a newline on the UART."""
        self.write_to_uart(line + "\n", board, uart)

    def uart_should_be_idle(self, duration: str = "100ms", board: str | None = None,
                            uart: str | None = None) -> None:
        """Run for ``duration``; fail if the UART printed anything meanwhile."""
        key = self._key(board, uart)
        start = self._c().uart_read(0, key[0], key[1]).end
        self.run_for(duration)
        new = self._c().uart_text(start, key[0], key[1])
        if new:
            raise AssertionError(f"{key[1]} was not idle for {duration}: printed {new[:300]!r}")

    test_if_uart_is_idle = uart_should_be_idle

    def should_not_be_on_uart(self, content: str, timeout: str = "1s", board: str | None = None,
                              uart: str | None = None) -> None:
        """Run for ``timeout``; fail if ``content`` appears after the last match."""
        key = self._key(board, uart)
        self.run_for(timeout)
        text = self._c().uart_text(self.cursors.get(key, 0), key[0], key[1])
        if content in text:
            raise AssertionError(f"'{content}' appeared on {key[1]}")

    def get_uart_output(self, board: str | None = None, uart: str | None = None) -> str:
        """Everything the UART printed since power-on."""
        key = self._key(board, uart)
        return self._c().uart_text(0, key[0], key[1])

    def get_uart_offset(self, board: str | None = None, uart: str | None = None) -> int:
        """How many bytes the UART printed so far (for ``Get Uart Output From``)."""
        key = self._key(board, uart)
        return int(self._c().uart_read(0, key[0], key[1]).end)

    def get_uart_output_from(self, offset: int, board: str | None = None, uart: str | None = None) -> str:
        key = self._key(board, uart)
        return self._c().uart_text(int(offset), key[0], key[1])

    # ----------------------------------------------------------------- state
    def get_board_state(self, board: str | None = None) -> str:
        """running, paused, exited or faulted (of one board, or of the session)."""
        st = self._c().state()
        name = self._board_name(board)
        if not name:
            return st.state
        for b in st.boards:
            if b.name == name:
                return b.state
        raise AssertionError(f"no board '{name}'")

    def board_should_not_have_faulted(self) -> None:
        """Fail with the fault report if any board faulted."""
        for b in self._c().state().boards:
            if b.state == "faulted":
                raise AssertionError(f"board '{b.name}' faulted:\n{b.fault_report}")

    def board_should_have_faulted(self, expected: str = "", board: str | None = None) -> str:
        """Fail unless the board faulted (and its report contains ``expected``); returns the report."""
        name = self._board_name(board)
        for b in self._c().state().boards:
            if (not name or b.name == name) and b.state == "faulted":
                if expected and expected not in b.fault_report:
                    raise AssertionError(f"fault report lacks '{expected}':\n{b.fault_report}")
                return b.fault_report
        raise AssertionError("no board faulted")

    def board_should_have_exited(self, code: int | None = None, board: str | None = None) -> None:
        name = self._board_name(board)
        for b in self._c().state().boards:
            if name and b.name != name:
                continue
            if b.state != "exited":
                raise AssertionError(f"board '{b.name}' is {b.state}, not exited")
            if code is not None and b.exit_code != int(code):
                raise AssertionError(f"board '{b.name}' exited with {b.exit_code}, expected {code}")

    def get_virtual_time(self) -> float:
        """Virtual time in seconds."""
        return self._c().state().time_ns / 1e9

    # ---------------------------------------------------------------- network
    def set_link_down(self, port: str = "") -> None:
        """Take a switch port's link down (``eth0``, or ``client.eth0`` in a simulation)."""
        self._call(self._c().set_link, port, up=False)

    def set_link_up(self, port: str = "") -> None:
        self._call(self._c().set_link, port, up=True)

    def set_packet_loss(self, probability: float, port: str = "") -> None:
        """Drop frames on a port with ``probability`` (0..1), both directions."""
        self._call(self._c().set_link, port, loss=float(probability))

    def set_link_delay(self, delay: str, port: str = "") -> None:
        from vboard.client import duration_ns

        self._call(self._c().set_link, port, delay_ns=duration_ns(delay))

    def get_port_counters(self, port: str = "") -> dict[str, Any]:
        for p in self._c().ports().ports:
            if not port or p.name == port:
                return {"rx_frames": p.rx_frames, "tx_frames": p.tx_frames, "rx_bytes": p.rx_bytes,
                        "tx_bytes": p.tx_bytes, "dropped": dict(p.dropped), "up": p.up}
        raise AssertionError(f"no switch port '{port}'")

    def add_port_forward(self, spec: str) -> None:
        """``tcp:HOSTPORT:BOARDPORT``; passt takes forwards at start, so prefer Start Board's ``forwards``."""
        self._call(self._c().add_forward, spec)

    def add_dns_record(self, name: str, address: str) -> None:
        self._call(self._c().add_dns_record, name, address)

    def start_capture(self, path: str = "") -> str:
        """Capture every switch port to a pcapng file (default: in the output directory); returns its path."""
        if not path:
            d = self._output_dir() / "vboard"
            d.mkdir(parents=True, exist_ok=True)
            path = str(d / f"{_safe(self._suite_name())}-{int(time.time() * 1000)}.pcapng")
        path = str(Path(path).resolve())
        self._call(self._c().start_capture, path)
        self.capture_path = self.last_capture = path
        return path

    def stop_capture(self) -> str:
        info = self._call(self._c().stop_capture)
        self.capture_path = ""
        return info.path

    def capture_should_contain(self, ethertype: str = "", contains: str = "", min_count: int = 1,
                               interface: str = "", path: str = "") -> int:
        """Fail unless the capture holds ``min_count`` frames matching all of: ``ethertype``
        (e.g. ``0x88b5``), ``contains`` (hex bytes anywhere in the frame), ``interface``. Returns the count.
        A running capture is stopped first."""
        from bridge.net.pcapng import read_pcapng_records

        if self.capture_path and not path:
            self.stop_capture()
        path = path or self.last_capture
        if not path:
            raise AssertionError("no capture: use Start Capture first")
        et = int(ethertype, 0) if ethertype else None
        needle = bytes.fromhex(contains.replace(" ", "").replace(":", "")) if contains else b""
        n = 0
        for rec in read_pcapng_records(path):
            f = rec.frame
            if interface and rec.interface != interface:
                continue
            if et is not None and (len(f) < 14 or int.from_bytes(f[12:14], "big") != et):
                continue
            if needle and needle not in f:
                continue
            n += 1
        if n < int(min_count):
            raise AssertionError(f"capture {path}: {n} matching frame(s), expected at least {min_count}")
        return n

    # ------------------------------------------------------------------ Wi-Fi
    def add_access_point(self, ssid: str, password: str = "", rssi: Any = None, channel: Any = None,
                         bssid: str = "", board: str = "") -> None:
        """Add a virtual access point around the board's Wi-Fi module, or replace the one named ``ssid``.

        No ``password`` makes it an open AP; a WPA2 one takes 8..63 characters. ``rssi`` in dBm
        (-120..-1, default -50), ``channel`` 1..14 (default 6), ``bssid`` ``aa:bb:cc:dd:ee:ff``
        (default: an unused one). Adding back the AP the station lost makes the module rejoin it
        by itself (``WIFI CONNECTED``, ``WIFI GOT IP``).
        """
        self._call(self._c().add_access_point, ssid, password, None if rssi in (None, "") else int(rssi),
                   None if channel in (None, "") else int(channel), bssid, self._board_name(board))

    def remove_access_point(self, ssid: str, board: str = "") -> None:
        """The access point ``ssid`` disappears. If the station was joined to it, the module prints
        ``WIFI DISCONNECT`` and ``<id>,CLOSED`` for each open link, as a real ESP8266 does."""
        self._call(self._c().remove_access_point, ssid, self._board_name(board))

    def set_access_point_rssi(self, ssid: str, rssi: Any, board: str = "") -> None:
        """Set the signal strength (dBm, -120..-1) the module reports for ``ssid`` (scans, ``CWJAP?``).
        An empty ``ssid`` means the access point the station is joined to."""
        self._call(self._c().set_rssi, int(rssi), ssid, self._board_name(board))

    def drop_wifi_station(self, board: str = "") -> None:
        """The access point drops (deauthenticates) the station and stays: ``WIFI DISCONNECT`` and
        closed links now, then the module rejoins by itself. Fails when the station is not joined."""
        self._call(self._c().drop_station, self._board_name(board))

    def get_wifi_status(self, board: str = "") -> dict[str, Any]:
        """The station and the access points: ``state`` (disconnected, connected, got_ip), ``ssid``,
        ``ip``, ``mac``, ``access_points`` (list of dicts: ssid, secured, rssi, channel, bssid)."""
        st = self._call(self._c().wifi_status, self._board_name(board))
        aps = [{"ssid": ap.ssid, "secured": ap.secured, "rssi": ap.rssi, "channel": ap.channel,
                "bssid": ap.bssid} for ap in st.access_points]
        return {"state": st.state, "ssid": st.ssid, "ip": st.ip, "mac": st.mac, "access_points": aps}

    def wifi_station_should_be_joined(self, ssid: str = "", board: str = "") -> None:
        """Fail unless the station is joined with an IP (to ``ssid``, when given)."""
        st = self.get_wifi_status(board)
        if st["state"] != "got_ip" or (ssid and st["ssid"] != ssid):
            raise AssertionError(f"station is {st['state']}" + (f" on '{st['ssid']}'" if st["ssid"] else "")
                                 + (f", expected joined to '{ssid}'" if ssid else ", expected joined"))

    def wifi_station_should_be_disconnected(self, board: str = "") -> None:
        st = self.get_wifi_status(board)
        if st["state"] != "disconnected":
            raise AssertionError(f"station is {st['state']} on '{st['ssid']}', expected disconnected")

    # -------------------------------------------------------------- snapshots
    def save_snapshot(self, name: str) -> None:
        """Save the whole emulation (CPU, memory, devices, clock, switch) under ``name``."""
        self._call(self._c().save_snapshot, name)

    def load_snapshot(self, name: str) -> None:
        """Go back to snapshot ``name``; UART waits continue after what was printed before."""
        self._call(self._c().load_snapshot, name)
        for u in self._c().uarts().uarts:
            self.cursors[(u.board, u.uart)] = u.length

    # ----------------------------------------------------------------- memory
    def read_memory(self, address: Any, size: int = 4, board: str = "") -> bytes:
        return self._call(self._c().read_memory, int(str(address), 0), int(size), board)

    def get_symbol_address(self, name: str, board: str = "") -> int:
        return int(self._call(self._c().symbol, name, 0, board).address)

    # -------------------------------------------------------------- artifacts
    def _save_artifacts(self, suite: str, test: str) -> None:
        if self.client is None:
            return
        d = self._output_dir() / "vboard" / _safe(suite) / _safe(test)
        try:
            d.mkdir(parents=True, exist_ok=True)
            for u in self.client.uarts().uarts:
                data = self.client.uart_read(0, u.board, u.uart).data
                if data:
                    (d / f"{_safe(u.board)}.{u.uart}.txt").write_bytes(data)
            st = self.client.state()
            reports = [f"[{b.name}]\n{b.fault_report}\n" for b in st.boards if b.fault_report]
            if reports:
                (d / "fault-report.txt").write_text("\n".join(reports))
            (d / "state.txt").write_text(str(st))
            if self.capture_path:
                self.stop_capture()
            if self.last_capture and Path(self.last_capture).exists():
                shutil.copy(self.last_capture, d / Path(self.last_capture).name)
        except (ClientError, OSError) as e:
            (d / "artifact-error.txt").write_text(str(e))
