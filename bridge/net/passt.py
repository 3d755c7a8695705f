"""``--net passt``: user-mode NAT through passt (Debian package ``passt``); ``--net user`` is libslirp.

``PasstBackend`` runs ``passt -f -1 --socket PATH ...`` and talks QEMU's
stream framing with it over that UNIX socket. Addressing is QEMU-user
compatible by default: the board gets 10.0.2.15/24 by DHCP, the gateway
10.0.2.2 is the host's loopback (passt's gateway mapping: a board
connecting to 10.0.2.2:7 reaches 127.0.0.1:7), DNS is 10.0.2.3 (passt
forwards it to the host's resolver), the MTU offered is 1500. Port
forwards host→board are passt's ``-t``/``-u``.

Quirks handled here (passt of Debian 12):
- Started as root, passt drops to ``nobody``: its socket lives in a fresh
  directory per run owned by ``nobody`` (otherwise passt runs without a
  socket while claiming it bound one). We connect and fail loudly if not.
- passt sends DHCP replies (and other UDP) with checksum 0; strict stacks
  drop those, so every IPv4/UDP frame from passt with checksum 0 gets it
  filled in (``udp_checksums_filled`` counts them).
- passt's stderr goes to a file in that directory; its last lines are in
  every error message about it.
- passt serves one guest, and a host connection made while the board boots
  would wait for passt's one-second SYN retry: see ``guest_gate``.
"""

from __future__ import annotations

import ipaddress
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from bridge.net.backend import BackendError, HostInputLike, MachineLike
from bridge.net.forward import Forward, as_forward
from bridge.net.framing import read_stream_frame, stream_frame
from bridge.net.guest_gate import GuestGate
from bridge.net.packets import fill_zero_udp_checksum, strip_ethernet_padding
from bridge.net.polled import PolledStreamBackend
from emulator.net.network import LinkModel, Switch

STARTUP_TIMEOUT_S = 5.0
STOP_TIMEOUT_S = 2.0
# passt's banner and syslog complaints: not worth repeating in an error message.
_STDERR_NOISE = ("to syslog", "You can now start qemu", "kvm ...", "or qrap", "./qrap")


class PasstBackend(PolledStreamBackend):
    kind = "passt"

    def __init__(self, machine: MachineLike, switch: Switch, host_input: HostInputLike | None = None,
                 forwards: Iterable[Forward | tuple[Any, ...]] = (), address: str = "10.0.2.15",
                 gateway: str = "10.0.2.2", dns: str | None = "10.0.2.3", *, netmask: int = 24,
                 mtu: int = 1500, ipv4_only: bool = True, map_gateway: bool = True,
                 passt: str = "passt", extra_args: Iterable[str] = (), port_name: str = "host",
                 on_error: Callable[[str], None] | None = None, link: LinkModel | None = None,
                 startup_timeout: float = STARTUP_TIMEOUT_S) -> None:
        try:
            self.forwards = [as_forward(f) for f in forwards]
            for a in (address, gateway, *([dns] if dns else [])):
                ipaddress.IPv4Address(a)
        except ValueError as e:
            raise BackendError(f"passt network: {e}") from None
        if not 0 < netmask <= 30:
            raise BackendError(f"passt network: netmask /{netmask} is not in /1../30")
        self.address, self.gateway, self.dns = address, gateway, dns
        self.netmask, self.mtu = netmask, mtu
        self.ipv4_only, self.map_gateway = ipv4_only, map_gateway
        self.passt, self.extra_args = passt, list(extra_args)
        self.startup_timeout = startup_timeout
        self.udp_checksums_filled = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.sock: socket.socket | None = None
        self.dir: str | None = None
        self.socket_path: str | None = None
        self._log_path: str | None = None
        super().__init__(machine, switch, host_input, port_name=port_name, on_error=on_error, link=link)
        self.gate = GuestGate(self._after)
        self._arrive = self._through_gate
        self.outbound_hooks.append(lambda frame: self.gate.outbound(frame, self._post_to_switch))

    def describe(self) -> str:
        return "passt"

    def status(self) -> str:
        """``board 10.0.2.15, forward 127.0.0.1:15013 -> :13`` (the status line of ``vboard run``)."""
        return ", ".join([f"board {self.address}"] + [f"forward {f.status()}" for f in self.forwards])

    def _through_gate(self, frame: bytes) -> None:
        """A frame from passt enters the switch once the guest gate lets it."""
        self.gate.inbound(frame, self.port.receive)

    def _after(self, seconds: float, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the emulation thread ``seconds`` of host time from now."""
        timer = threading.Timer(seconds, self.machine.post, (fn,))
        timer.daemon = True
        timer.start()

    def _post_to_switch(self, frame: bytes) -> None:
        """Held frames released while the switch is handing a frame out: enter after it."""
        port = self.port
        self.machine.post(lambda: port.receive(frame))

    def command(self, socket_path: str) -> list[str]:
        args = [self.passt, "-f", "-e", "-1", "--socket", socket_path, "-a", self.address,
                "-n", str(self.netmask), "-g", self.gateway, "-m", str(self.mtu)]
        if self.dns:
            args += ["-D", self.dns, "--dns-forward", self.dns]
        else:
            args += ["--no-dhcp-dns"]
        if self.ipv4_only:
            args.append("-4")
        if not self.map_gateway:
            args.append("--no-map-gw")
        for f in self.forwards:
            args += f.passt_args()
        return args + self.extra_args

    # ------------------------------------------------------------------ open
    def _open(self) -> None:
        exe = shutil.which(self.passt)
        if exe is None:
            raise BackendError(f"passt network: '{self.passt}' not found: install the Debian package "
                               "passt (apt-get install passt)")
        self.dir = tempfile.mkdtemp(prefix="vboard-passt-")
        try:
            self._prepare_dir(self.dir)
            self.socket_path = os.path.join(self.dir, "passt.socket")
            self._log_path = os.path.join(self.dir, "passt.log")
            with open(self._log_path, "wb") as log_file:
                self.proc = subprocess.Popen(self.command(self.socket_path), stdin=subprocess.DEVNULL,
                                             stdout=log_file, stderr=log_file, start_new_session=True)
            self.sock = self._connect()
        except BaseException:
            self._teardown()
            raise

    @staticmethod
    def _prepare_dir(path: str) -> None:
        os.chmod(path, 0o700)
        if os.geteuid() == 0:
            # passt started as root drops to nobody: the socket directory must be nobody's.
            try:
                nobody = pwd.getpwnam("nobody")
            except KeyError:
                raise BackendError("passt network: running as root, passt drops to user 'nobody', "
                                   "which does not exist here") from None
            os.chown(path, nobody.pw_uid, nobody.pw_gid)

    def _connect(self) -> socket.socket:
        assert self.proc is not None and self.socket_path is not None
        deadline = time.monotonic() + self.startup_timeout
        last_err = "socket file never appeared"
        while True:
            rc = self.proc.poll()
            if rc is not None:
                raise BackendError(f"passt network: passt exited with status {rc} before accepting a "
                                   f"connection{self._stderr_note()}")
            if os.path.exists(self.socket_path):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    s.settimeout(1.0)
                    s.connect(self.socket_path)
                    s.settimeout(None)
                except OSError as e:
                    s.close()
                    last_err = f"connect: {e.strerror or e}"
                else:
                    time.sleep(0.01)  # a passt that cannot serve us exits right away
                    rc = self.proc.poll()
                    if rc is not None:
                        s.close()
                        raise BackendError(f"passt network: passt exited with status {rc} right after "
                                           f"the connection{self._stderr_note()}")
                    return s
            if time.monotonic() >= deadline:
                raise BackendError(f"passt network: passt did not open {self.socket_path} within "
                                   f"{self.startup_timeout:g} s ({last_err}){self._stderr_note()}")
            # passt listens on the forwarded ports before we connect, and drops what a host sends
            # until we do (its SYN retry comes a second later): keep that window short.
            time.sleep(0.002)

    # ------------------------------------------------------------------- I/O
    def _stream(self) -> socket.socket | None:
        return self.sock

    transform_outbound = staticmethod(strip_ethernet_padding)

    def _read_frame(self) -> bytes | None:
        assert self.sock is not None
        return read_stream_frame(self.sock)

    def _write_frame(self, frame: bytes) -> None:
        assert self.sock is not None
        self.sock.sendall(stream_frame(strip_ethernet_padding(frame)))

    def transform_inbound(self, frame: bytes) -> bytes:
        fixed = fill_zero_udp_checksum(frame)
        if fixed is None:
            return frame
        self.udp_checksums_filled += 1
        return fixed

    def _close_io(self) -> None:
        self._teardown()

    def _teardown(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT_S)
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def _death_reason(self, reason: str) -> str:
        proc = self.proc
        if proc is not None:
            try:
                rc = proc.wait(0.5)
            except subprocess.TimeoutExpired:
                return f"{reason} (passt still running){self._stderr_note()}"
            return f"passt exited with status {rc} ({reason}){self._stderr_note()}"
        return reason

    def stderr_tail(self, lines: int = 8) -> str:
        if not self._log_path:
            return ""
        try:
            with open(self._log_path, "rb") as f:
                text = f.read()[-16384:].decode("utf-8", "replace")
        except OSError:
            return ""
        lines_in = text.splitlines()
        usage = [i for i, ln in enumerate(lines_in) if ln.startswith("Usage:")]
        if usage:  # an option passt rejected: what it said before its usage text
            lines_in = lines_in[:usage[0]]
        kept = [ln.strip() for ln in lines_in
                if ln.strip() and not any(noise in ln for noise in _STDERR_NOISE)]
        return " | ".join(kept[-lines:])

    def _stderr_note(self) -> str:
        tail = self.stderr_tail()
        return f"; passt said: {tail}" if tail else ""

    def stats(self) -> dict[str, Any]:
        return {**super().stats(), **self.gate.stats(), "udp_checksums_filled": self.udp_checksums_filled,
                "passt_pid": self.proc.pid if self.proc else None}
