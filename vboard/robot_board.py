"""vboard's own keywords: boards and simulations, state, links, captures, Wi-Fi, snapshots, memory.

``Start Board    FIRMWARE    platform=    net=user    forwards=tcp:8080:80
dns_records=    pace=    cmdline=    host_loopback=`` and ``Start Simulation
FILE.yaml`` load into this suite's ``vboard serve`` (paused); they replace
whatever ``Execute Command`` set up.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from vboard.robot_args import keyword_args
from vboard.robot_monitor import MonitorSetup
from vboard.robot_serve import safe_name


class BoardKeywords:
    def _init_board(self) -> None:
        self.capture_path = ""
        self.last_capture = ""

    # ------------------------------------------------------------ lifecycle
    @keyword_args
    def start_board(self, firmware: str, platform: str = "", net: str = "none", forwards: str = "",
                    dns_records: str = "", pace: str = "fast", cmdline: Any = None,
                    host_loopback: str = "") -> None:
        """Load ``firmware`` on one board (paused). ``forwards``/``dns_records`` are comma-separated
        (``tcp:8080:80``, ``example.com=10.0.2.2``); ``net``: none, user, tap:NAME, socket:URL."""
        fw = [f.strip() for f in forwards.split(",") if f.strip()]
        dns = [d.strip() for d in dns_records.split(",") if d.strip()]
        self.setup = MonitorSetup()  # type: ignore[attr-defined]
        self._load({"firmware": str(Path(firmware).resolve()), "platform": platform, "net": net,  # type: ignore[attr-defined]
                    "forwards": fw, "dns_records": dns, "pace": pace, "cmdline": cmdline,
                    "host_loopback": host_loopback})

    @keyword_args
    def start_simulation(self, simulation: str) -> None:
        """Load a simulation file of several boards on one switch (paused)."""
        self.setup = MonitorSetup()  # type: ignore[attr-defined]
        self._load({"firmware": str(Path(simulation).resolve())})  # type: ignore[attr-defined]

    @keyword_args
    def stop_board(self) -> None:
        """Stop this suite's ``vboard serve`` (done at the end of the suite anyway)."""
        self._stop_serve()  # type: ignore[attr-defined]

    @keyword_args
    def run_for(self, duration: str) -> None:
        """Run for ``duration`` of virtual time (``1s``, ``250ms``, or seconds)."""
        from vboard.robot_args import seconds_ns

        self._call(self._c().run_for, f"{seconds_ns(duration, 'duration')}ns")  # type: ignore[attr-defined]

    @keyword_args
    def reset_board(self, board: str = "") -> None:
        """System reset (every board, or one); testers go on after what was printed before."""
        self._call(self._c().reset, board)  # type: ignore[attr-defined]

    # ---------------------------------------------------------------- state
    @keyword_args
    def get_board_state(self, board: str = "") -> str:
        """running, paused, exited or faulted (of one board, or of the session)."""
        st = self._c().state()  # type: ignore[attr-defined]
        name = board or self.default_board  # type: ignore[attr-defined]
        if not name:
            return st.state
        for b in st.boards:
            if b.name == name:
                return b.state
        raise AssertionError(f"no board '{name}'")

    @keyword_args
    def board_should_not_have_faulted(self) -> None:
        for b in self._c().state().boards:  # type: ignore[attr-defined]
            if b.state == "faulted":
                raise AssertionError(f"board '{b.name}' faulted:\n{b.fault_report}")

    @keyword_args
    def board_should_have_faulted(self, expected: str = "", board: str = "") -> str:
        """Fail unless the board faulted (and its report contains ``expected``); returns the report."""
        name = board or self.default_board  # type: ignore[attr-defined]
        for b in self._c().state().boards:  # type: ignore[attr-defined]
            if (not name or b.name == name) and b.state == "faulted":
                if expected and expected not in b.fault_report:
                    raise AssertionError(f"fault report lacks '{expected}':\n{b.fault_report}")
                return b.fault_report
        raise AssertionError("no board faulted")

    @keyword_args
    def board_should_have_exited(self, code: Any = None, board: str = "") -> None:
        name = board or self.default_board  # type: ignore[attr-defined]
        for b in self._c().state().boards:  # type: ignore[attr-defined]
            if name and b.name != name:
                continue
            if b.state != "exited":
                raise AssertionError(f"board '{b.name}' is {b.state}, not exited")
            if code not in (None, "") and b.exit_code != int(code):
                raise AssertionError(f"board '{b.name}' exited with {b.exit_code}, expected {code}")

    @keyword_args
    def get_virtual_time(self) -> float:
        """Virtual time in seconds."""
        return self._c().state().time_ns / 1e9  # type: ignore[attr-defined]

    # -------------------------------------------------------------- network
    @keyword_args
    def set_link_down(self, port: str = "") -> None:
        """Take a switch port's link down (``eth0``, or ``client.eth0`` in a simulation)."""
        self._call(self._c().set_link, port, up=False)  # type: ignore[attr-defined]

    @keyword_args
    def set_link_up(self, port: str = "") -> None:
        self._call(self._c().set_link, port, up=True)  # type: ignore[attr-defined]

    @keyword_args
    def set_packet_loss(self, probability: Any, port: str = "") -> None:
        """Drop frames on a port with ``probability`` (0..1), both directions."""
        self._call(self._c().set_link, port, loss=float(probability))  # type: ignore[attr-defined]

    @keyword_args
    def set_link_delay(self, delay: str, port: str = "") -> None:
        from vboard.client import duration_ns

        self._call(self._c().set_link, port, delay_ns=duration_ns(delay))  # type: ignore[attr-defined]

    @keyword_args
    def get_port_counters(self, port: str = "") -> dict[str, Any]:
        for p in self._c().ports().ports:  # type: ignore[attr-defined]
            if not port or p.name == port:
                return {"rx_frames": p.rx_frames, "tx_frames": p.tx_frames, "rx_bytes": p.rx_bytes,
                        "tx_bytes": p.tx_bytes, "dropped": dict(p.dropped), "up": p.up}
        raise AssertionError(f"no switch port '{port}'")

    @keyword_args
    def add_port_forward(self, spec: str) -> None:
        """``tcp:HOSTPORT:BOARDPORT`` while the board runs (``net=user``; passt takes them only at start)."""
        self._call(self._c().add_forward, spec)  # type: ignore[attr-defined]

    @keyword_args
    def add_dns_record(self, name: str, address: str) -> None:
        self._call(self._c().add_dns_record, name, address)  # type: ignore[attr-defined]

    @keyword_args
    def start_capture(self, path: str = "") -> str:
        """Capture every switch port to a pcapng file (default: in the output directory); returns its path."""
        if not path:
            d = self._output_dir() / "vboard"  # type: ignore[attr-defined]
            d.mkdir(parents=True, exist_ok=True)
            path = str(d / f"{safe_name(self._suite_name())}-{int(time.time() * 1000)}.pcapng")  # type: ignore[attr-defined]
        path = str(Path(path).resolve())
        self._call(self._c().start_capture, path)  # type: ignore[attr-defined]
        self.capture_path = self.last_capture = path
        return path

    @keyword_args
    def stop_capture(self) -> str:
        info = self._call(self._c().stop_capture)  # type: ignore[attr-defined]
        self.capture_path = ""
        return info.path

    @keyword_args
    def capture_should_contain(self, ethertype: str = "", contains: str = "", min_count: Any = 1,
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

    def _save_more_artifacts(self, folder: Path) -> None:
        super()._save_more_artifacts(folder)  # type: ignore[misc]
        import shutil

        if self.capture_path:
            self.stop_capture()
        if self.last_capture and Path(self.last_capture).exists():
            shutil.copy(self.last_capture, folder / Path(self.last_capture).name)

    # ---------------------------------------------------------------- Wi-Fi
    @keyword_args
    def add_access_point(self, ssid: str, password: str = "", rssi: Any = None, channel: Any = None,
                         bssid: str = "", board: str = "") -> None:
        """Add a virtual access point around the board's Wi-Fi module, or replace the one named ``ssid``.

        No ``password`` makes it an open AP; a WPA2 one takes 8..63 characters. ``rssi`` in dBm
        (-120..-1, default -50), ``channel`` 1..14 (default 6), ``bssid`` ``aa:bb:cc:dd:ee:ff``.
        Adding back the AP the station lost makes the module rejoin it by itself.
        """
        self._call(self._c().add_access_point, ssid, password,  # type: ignore[attr-defined]
                   None if rssi in (None, "") else int(rssi), None if channel in (None, "") else int(channel),
                   bssid, board or self.default_board)  # type: ignore[attr-defined]

    @keyword_args
    def remove_access_point(self, ssid: str, board: str = "") -> None:
        """The access point ``ssid`` disappears (``WIFI DISCONNECT`` and closed links if joined to it)."""
        self._call(self._c().remove_access_point, ssid, board or self.default_board)  # type: ignore[attr-defined]

    @keyword_args
    def set_access_point_rssi(self, ssid: str, rssi: Any, board: str = "") -> None:
        """Set the RSSI (dBm, -120..-1) the module reports for ``ssid``; empty: the joined AP."""
        self._call(self._c().set_rssi, int(rssi), ssid, board or self.default_board)  # type: ignore[attr-defined]

    @keyword_args
    def drop_wifi_station(self, board: str = "") -> None:
        """The access point drops the station and stays; the module rejoins by itself."""
        self._call(self._c().drop_station, board or self.default_board)  # type: ignore[attr-defined]

    @keyword_args
    def get_wifi_status(self, board: str = "") -> dict[str, Any]:
        """``state`` (disconnected, connected, got_ip), ``ssid``, ``ip``, ``mac``, ``access_points``."""
        st = self._call(self._c().wifi_status, board or self.default_board)  # type: ignore[attr-defined]
        aps = [{"ssid": ap.ssid, "secured": ap.secured, "rssi": ap.rssi, "channel": ap.channel,
                "bssid": ap.bssid} for ap in st.access_points]
        return {"state": st.state, "ssid": st.ssid, "ip": st.ip, "mac": st.mac, "access_points": aps}

    @keyword_args
    def wifi_station_should_be_joined(self, ssid: str = "", board: str = "") -> None:
        st = self.get_wifi_status(board)
        if st["state"] != "got_ip" or (ssid and st["ssid"] != ssid):
            raise AssertionError(f"station is {st['state']}" + (f" on '{st['ssid']}'" if st["ssid"] else "")
                                 + (f", expected joined to '{ssid}'" if ssid else ", expected joined"))

    @keyword_args
    def wifi_station_should_be_disconnected(self, board: str = "") -> None:
        st = self.get_wifi_status(board)
        if st["state"] != "disconnected":
            raise AssertionError(f"station is {st['state']} on '{st['ssid']}', expected disconnected")

    # ------------------------------------------------------------ snapshots
    @keyword_args
    def save_snapshot(self, name: str) -> None:
        """Save the whole emulation (CPU, memory, devices, clock, switch) under ``name``."""
        self._call(self._c().save_snapshot, name)  # type: ignore[attr-defined]

    @keyword_args
    def load_snapshot(self, name: str) -> None:
        """Go back to snapshot ``name``; testers go on after what was printed before."""
        self._call(self._c().load_snapshot, name)  # type: ignore[attr-defined]

    # --------------------------------------------------------------- memory
    @keyword_args
    def read_memory(self, address: Any, size: Any = 4, board: str = "") -> bytes:
        return self._call(self._c().read_memory, int(str(address), 0), int(size), board)  # type: ignore[attr-defined]

    @keyword_args
    def get_symbol_address(self, name: str, board: str = "") -> int:
        return int(self._call(self._c().symbol, name, 0, board).address)  # type: ignore[attr-defined]
