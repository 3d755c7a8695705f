"""``vboard wifi-module``: the ESP8266 model alone, served on a serial endpoint.

The module runs on its own ``Clock`` (1 MHz, i.e. microseconds) paced in
realtime (virtual time never runs ahead of the wall clock), with its links
as real host sockets (``HostSocketProvider``). The serial side is anything
``serial.serial_for_url`` opens: a PTY path, a real serial port, a QEMU
chardev socket (``socket://127.0.0.1:PORT``), or ``pty`` to create a PTY
pair here and print the path to connect to (e.g. a real board's driver or
``qemu-system-arm -serial /dev/pts/N``).

Threads: a reader moves serial bytes into the inbox; the serving loop (the
"emulation thread" of this process) applies the inbox, fires due events,
and writes the module's bytes to the port.
"""

from __future__ import annotations

import argparse
import os
import queue
import sys
import threading
import time
import tty
from collections.abc import Callable, Sequence
from typing import Any

from emulator.clock import Clock

__all__ = ["WifiModuleServer", "main_wifi_module", "open_serial", "PtySerial"]

HZ = 1_000_000


class PtySerial:
    """The master end of a new PTY, with the few pyserial methods the server uses."""

    def __init__(self) -> None:
        self.fd, slave = os.openpty()
        tty.setraw(slave)
        self.path = os.ttyname(slave)
        self._slave = slave  # kept open so the master never sees EIO before a peer opens
        self.timeout = 0.05

    def read(self, size: int = 1) -> bytes:
        import select

        r, _, _ = select.select([self.fd], [], [], self.timeout)
        if not r:
            return b""
        try:
            return os.read(self.fd, max(1, size))
        except OSError:
            return b""

    @property
    def in_waiting(self) -> int:
        return 0

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        for fd in (self.fd, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass


def open_serial(url: str) -> Any:
    """``pty`` (a new PTY pair, served on its master) or a pyserial URL / device path."""
    if url == "pty":
        return PtySerial()
    import serial

    if url.startswith("socket://"):
        host, _, port_text = url[len("socket://"):].rpartition(":")
        if not host or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ValueError(f"--serial '{url[:80]}': expected socket://HOST:PORT with a port 1..65535")
    try:
        return serial.serial_for_url(url, baudrate=115200, timeout=0.05)
    except (serial.SerialException, ValueError) as e:
        raise ValueError(f"--serial '{url[:80]}': cannot open it ({str(e)[:120]})") from None


class WifiModuleServer:
    """Serve ``module`` (an ``Esp8266`` on ``clock``) on ``port`` in realtime."""

    def __init__(self, port: Any, module: Any, clock: Clock) -> None:
        self.port = port
        self.module = module
        self.clock = clock
        self.inbox: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._arrived = threading.Event()
        self._stop = threading.Event()
        self._start_wall = time.monotonic()
        self._start_cycles = clock.now
        module.ports["serial"].connect(self._to_port)
        self._reader = threading.Thread(target=self._read_loop, name="vboard-wifi-serial", daemon=True)

    def post(self, action: Callable[[], None]) -> None:
        """Run ``action`` on the serving thread (the provider's reports come this way)."""
        self.inbox.put(action)
        self._arrived.set()

    def _to_port(self, data: bytes) -> None:
        try:
            self.port.write(data)
            self.port.flush()
        except OSError:
            pass

    def _read_loop(self) -> None:
        while not self._stop.is_set():
            try:
                waiting = getattr(self.port, "in_waiting", 0)
                data = self.port.read(waiting or 1)
            except Exception:  # noqa: BLE001 - the serial port went away: stop reading
                return
            if data:
                self.post(lambda d=bytes(data): self.module.ports["serial"].deliver(d))

    def stop(self) -> None:
        self._stop.set()
        self._arrived.set()

    def _due_cycles(self) -> int:
        return self._start_cycles + int((time.monotonic() - self._start_wall) * self.clock.hz)

    def run(self, duration: float | None = None) -> None:
        """Serve until ``stop()`` (or ``duration`` seconds of wall time)."""
        self._start_wall = time.monotonic()
        self._start_cycles = self.clock.now
        end = None if duration is None else time.monotonic() + duration
        self._reader.start()
        clock = self.clock
        while not self._stop.is_set():
            if end is not None and time.monotonic() >= end:
                break
            self._arrived.clear()
            while True:
                try:
                    action = self.inbox.get_nowait()
                except queue.Empty:
                    break
                action()
            # Virtual time follows the wall clock: fire what is due up to now, event by event.
            target = self._due_cycles()
            while True:
                deadline = clock.next_deadline()
                if deadline is None or deadline > target:
                    break
                clock.advance(max(0, deadline - clock.now))
                clock.fire_due()
            if target > clock.now:
                clock.advance(target - clock.now)
                clock.fire_due()
            deadline = clock.next_deadline()
            wait = 0.05 if deadline is None else max(0.0, (deadline - clock.now) / clock.hz)
            if end is not None:
                wait = min(wait, max(0.0, end - time.monotonic()))
            self._arrived.wait(min(wait, 0.05))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vboard wifi-module",
                                description="Serve an emulated ESP8266 (NonOS AT 1.7.x) Wi-Fi module on a "
                                "serial endpoint; its TCP/UDP links are host sockets.")
    p.add_argument("--serial", required=True, metavar="URL",
                   help="pty (create one and print its path), a PTY or serial device path, "
                   "socket://127.0.0.1:PORT (a QEMU chardev), or any pyserial URL")
    p.add_argument("--ap", action="append", default=[], metavar="SSID:PASS[:RSSI]",
                   help="a virtual access point (repeatable; empty PASS = open; "
                   "default: vboard:vboard-secret)")
    p.add_argument("--dns-record", action="append", default=[], metavar="NAME=IP",
                   help="answer name lookups for NAME with IP (repeatable)")
    p.add_argument("--baud", type=int, default=115200, help="virtual baud rate (default: %(default)s)")
    p.add_argument("--duration", type=float, help="stop after this many seconds (default: run until ^C)")
    return p


def parse_ap(spec: str) -> dict[str, Any]:
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not parts[0]:
        raise ValueError(f"--ap '{spec}': expected SSID:PASS[:RSSI], e.g. home:secret123:-50")
    ap: dict[str, Any] = {"ssid": parts[0], "password": parts[1]}
    if len(parts) == 3:
        try:
            ap["rssi"] = int(parts[2])
        except ValueError:
            raise ValueError(f"--ap '{spec}': RSSI '{parts[2]}' is not a number (e.g. -50)") from None
    return ap


def main_wifi_module(argv: Sequence[str] | None = None) -> int:
    from bridge.host_sockets import HostSocketProvider
    from bridge.net.dns import DnsConfigError, DnsRecords
    from peripherals.esp8266 import Esp8266

    args = build_parser().parse_args(argv)
    try:
        aps = [parse_ap(s) for s in args.ap] or [{"ssid": "vboard", "password": "vboard-secret"}]
        records = DnsRecords.build(args.dns_record)
        port = open_serial(args.serial)
    except (ValueError, DnsConfigError, OSError) as e:
        print(f"vboard: error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - pyserial's SerialException and URL errors
        print(f"vboard: error: --serial '{args.serial}': {e}", file=sys.stderr)
        return 2
    clock = Clock(HZ)
    holder: dict[str, WifiModuleServer] = {}
    provider = HostSocketProvider(lambda action: holder["server"].post(action), records)
    try:
        module = Esp8266("wifi", clock, access_points=aps, baud=args.baud, provider=provider)
    except ValueError as e:
        print(f"vboard: error: {e}", file=sys.stderr)
        return 2
    server = WifiModuleServer(port, module, clock)
    holder["server"] = server
    if isinstance(port, PtySerial):
        print(f"vboard: wifi module on {port.path}", file=sys.stderr, flush=True)
    else:
        print(f"vboard: wifi module on {args.serial}", file=sys.stderr, flush=True)
    try:
        server.run(args.duration)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        provider.shutdown()
        port.close()
    return 0


if __name__ == "__main__":
    sys.exit(main_wifi_module())
