"""``tap:NAME``: the board's frames on a host TAP device (root or CAP_NET_ADMIN).

``TapBackend`` opens ``/dev/net/tun`` with ``TUNSETIFF`` (``IFF_TAP |
IFF_NO_PI``): frames are plain Ethernet both ways. By default the device
must exist (``ip tuntap add dev NAME mode tap user $USER``, then ``ip link
set NAME up``); ``create=True`` creates a non-persistent one (gone when the
backend stops) and sets it up. The host side configures addresses and
routes; the TAP is just a wire. The device is non-blocking: on a machine
with ``host_polls`` it is read (every frame waiting) at each slice boundary
and written at once on the emulation thread (``bridge/net/polled.py``);
without, a reader thread selects on it and a stop pipe.
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import socket
import struct
from collections.abc import Callable

from bridge.net.backend import BackendError, HostInputLike, MachineLike
from bridge.net.polled import PolledBackend
from emulator.net.network import LinkModel, Switch

TUN_PATH = "/dev/net/tun"
TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
IFNAMSIZ = 16
READ_SIZE = 65536


class TapBackend(PolledBackend):
    kind = "tap"

    def __init__(self, machine: MachineLike, switch: Switch, host_input: HostInputLike | None = None,
                 name: str = "tap0", create: bool = False, *, port_name: str = "host",
                 on_error: Callable[[str], None] | None = None, link: LinkModel | None = None) -> None:
        if not name or len(name.encode()) >= IFNAMSIZ or "/" in name or any(c.isspace() for c in name):
            raise BackendError(f"tap: '{name}' is not a valid interface name (1-15 characters, "
                               "no '/' or spaces)")
        self.name = name
        self.create = create
        self.fd: int | None = None
        self._stop_r: int | None = None
        self._stop_w: int | None = None
        super().__init__(machine, switch, host_input, port_name=port_name, on_error=on_error, link=link)

    def describe(self) -> str:
        return f"tap {self.name}"

    def _open(self) -> None:
        exists = os.path.exists(f"/sys/class/net/{self.name}")
        if not exists and not self.create:
            raise BackendError(f"tap: no network device '{self.name}': create it with "
                               f"'ip tuntap add dev {self.name} mode tap user $USER' and "
                               f"'ip link set {self.name} up' (needs root), or let vboard create it")
        try:
            fd = os.open(TUN_PATH, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as e:
            if e.errno == errno.ENOENT:
                raise BackendError(f"tap: {TUN_PATH} does not exist (no TUN/TAP support: "
                                   "modprobe tun, or in a container give it the device)") from None
            if e.errno in (errno.EACCES, errno.EPERM):
                raise BackendError(f"tap: cannot open {TUN_PATH}: permission denied; TAP devices need "
                                   f"root or CAP_NET_ADMIN (and read/write access to {TUN_PATH})") from None
            raise BackendError(f"tap: cannot open {TUN_PATH}: {e.strerror}") from None
        ifr = struct.pack("16sH22x", self.name.encode(), IFF_TAP | IFF_NO_PI)
        try:
            fcntl.ioctl(fd, TUNSETIFF, ifr)
        except OSError as e:
            os.close(fd)
            raise BackendError(self._tunsetiff_error(e, exists)) from None
        self.fd = fd
        self._stop_r, self._stop_w = os.pipe()
        if self.create and not exists:
            self._set_up()

    def _tunsetiff_error(self, e: OSError, exists: bool) -> str:
        if e.errno == errno.EPERM:
            if exists:
                return (f"tap: not allowed to attach to '{self.name}': it belongs to another user, "
                        f"or creating/attaching needs root or CAP_NET_ADMIN "
                        f"(ip tuntap add dev {self.name} mode tap user $USER)")
            return f"tap: creating '{self.name}' needs root or CAP_NET_ADMIN"
        if e.errno == errno.EBUSY:
            return f"tap: '{self.name}' is in use by another program"
        if e.errno == errno.EINVAL:
            return f"tap: '{self.name}' exists but is not a TAP device (a TUN device or another interface?)"
        return f"tap: TUNSETIFF on '{self.name}' failed: {e.strerror}"

    def _set_up(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                ifr = fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, struct.pack("16sH22x", self.name.encode(), 0))
                flags = struct.unpack_from("H", ifr, 16)[0]
                fcntl.ioctl(s.fileno(), SIOCSIFFLAGS,
                            struct.pack("16sH22x", self.name.encode(), flags | IFF_UP))
            except OSError:
                pass  # not fatal: the user can `ip link set NAME up`

    # ------------------------------------------------- polled (emulation thread)
    def _poll_start(self) -> int | None:
        assert self.fd is not None
        self._use_packets(self._write_tap)
        return self.fd

    def _poll_read(self) -> None:
        self._read_packets(self._read_tap)

    def _read_tap(self) -> bytes | None:
        assert self.fd is not None
        try:
            return os.read(self.fd, READ_SIZE)
        except BlockingIOError:
            return None
        except OSError as e:
            if e.errno == errno.EIO:  # link down on our side of the device: nothing to read
                return None
            raise

    def _write_tap(self, frame: bytes) -> int:
        assert self.fd is not None
        return os.write(self.fd, frame)

    def _write_error(self, e: OSError) -> bool:
        if e.errno in (errno.EINVAL, errno.EIO):  # a frame the kernel rejects, or the device is down
            self.counters.drop("rejected by host")
            return True
        return super()._write_error(e)

    # --------------------------------------------------------- threaded I/O
    def _read_frame(self) -> bytes | None:
        fd, stop_r = self.fd, self._stop_r
        assert fd is not None and stop_r is not None
        while not self._stopping:
            ready, _, _ = select.select([fd, stop_r], [], [], 1.0)
            if stop_r in ready:
                return None
            if fd in ready:
                try:
                    return os.read(fd, READ_SIZE)
                except BlockingIOError:
                    continue
                except OSError as e:
                    if e.errno == errno.EIO:  # link down on our side of the device: nothing to read
                        continue
                    raise
        return None

    def _write_frame(self, frame: bytes) -> bool:
        fd = self.fd
        if fd is None:
            raise BackendError("tap closed")
        try:
            os.write(fd, frame)
        except BlockingIOError:
            self.counters.drop("host busy")
            return False
        except OSError as e:
            if e.errno in (errno.EINVAL, errno.EIO):  # a frame the kernel rejects, or the device is down
                self.counters.drop("rejected by host")
                return False
            raise
        return True

    def _close_io(self) -> None:
        if self._stop_w is not None:
            try:
                os.write(self._stop_w, b"x")
            except OSError:
                pass
        for t in self._threads:
            if "reader" in t.name:
                t.join(2.0)
        for attr in ("fd", "_stop_r", "_stop_w"):
            fd = getattr(self, attr)
            if fd is not None:
                setattr(self, attr, None)
                try:
                    os.close(fd)
                except OSError:
                    pass
