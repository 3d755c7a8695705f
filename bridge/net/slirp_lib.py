"""A ctypes binding of libslirp 4.x (Debian ``libslirp0``), the library QEMU's ``-nic user`` uses.

Only what ``SlirpBackend`` needs: ``SlirpConfig`` (version 4), ``SlirpCb``,
the instance, polling, input, timers and host forwards. The structure
layouts follow ``slirp/libslirp.h`` of 4.7 (x86-64 and other LP64 ABIs);
``tests/bridge/test_net_slirp.py`` compiles a probe against the header
(package ``libslirp-dev``) and compares every offset.
"""

from __future__ import annotations

import ctypes
import functools
import ipaddress
import os
import socket
import struct
from pathlib import Path
from typing import Any

from emulator.native import native_lib

LIBRARY = "libslirp.so.0"
LIBRARY_ENV = "VBOARD_LIBSLIRP"  # another file to load instead (a build of one's own, or a test's)

SLIRP_POLL_IN = 1 << 0
SLIRP_POLL_OUT = 1 << 1
SLIRP_POLL_PRI = 1 << 2
SLIRP_POLL_ERR = 1 << 3
SLIRP_POLL_HUP = 1 << 4
SLIRP_HOSTFWD_UDP = 1
CONFIG_VERSION = 4


class SlirpLoadError(Exception):
    """libslirp could not be loaded or is too old; the message says which and why."""


class InAddr(ctypes.Structure):
    _fields_ = [("s_addr", ctypes.c_uint32)]  # network byte order

    @classmethod
    def of(cls, addr: str) -> InAddr:
        return cls.from_buffer_copy(ipaddress.IPv4Address(addr).packed)


class In6Addr(ctypes.Structure):
    _fields_ = [("words", ctypes.c_uint32 * 4)]  # 4-byte aligned, as the C union

    @classmethod
    def of(cls, addr: str) -> In6Addr:
        return cls.from_buffer_copy(ipaddress.IPv6Address(addr).packed)


class SlirpConfig(ctypes.Structure):
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("restricted", ctypes.c_int),
        ("in_enabled", ctypes.c_bool),
        ("vnetwork", InAddr),
        ("vnetmask", InAddr),
        ("vhost", InAddr),
        ("in6_enabled", ctypes.c_bool),
        ("vprefix_addr6", In6Addr),
        ("vprefix_len", ctypes.c_uint8),
        ("vhost6", In6Addr),
        ("vhostname", ctypes.c_char_p),
        ("tftp_server_name", ctypes.c_char_p),
        ("tftp_path", ctypes.c_char_p),
        ("bootfile", ctypes.c_char_p),
        ("vdhcp_start", InAddr),
        ("vnameserver", InAddr),
        ("vnameserver6", In6Addr),
        ("vdnssearch", ctypes.POINTER(ctypes.c_char_p)),
        ("vdomainname", ctypes.c_char_p),
        ("if_mtu", ctypes.c_size_t),
        ("if_mru", ctypes.c_size_t),
        ("disable_host_loopback", ctypes.c_bool),
        ("enable_emu", ctypes.c_bool),
        ("outbound_addr", ctypes.c_void_p),
        ("outbound_addr6", ctypes.c_void_p),
        ("disable_dns", ctypes.c_bool),
        ("disable_dhcp", ctypes.c_bool),
    ]


# The frame as a char pointer: slicing it gives the bytes without a Python call (ctypes.string_at is one).
SendPacketCb = ctypes.CFUNCTYPE(ctypes.c_ssize_t, ctypes.POINTER(ctypes.c_char), ctypes.c_size_t,
                                ctypes.c_void_p)
GuestErrorCb = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_void_p)
ClockGetNsCb = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p)
TimerNewCb = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
TimerFreeCb = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
TimerModCb = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p)
FdCb = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_void_p)
NotifyCb = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
InitCompletedCb = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
TimerNewOpaqueCb = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
AddPollCb = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p)
GetREventsCb = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p)


class SlirpCb(ctypes.Structure):
    _fields_ = [
        ("send_packet", SendPacketCb),
        ("guest_error", GuestErrorCb),
        ("clock_get_ns", ClockGetNsCb),
        ("timer_new", TimerNewCb),
        ("timer_free", TimerFreeCb),
        ("timer_mod", TimerModCb),
        ("register_poll_fd", FdCb),
        ("unregister_poll_fd", FdCb),
        ("notify", NotifyCb),
        ("init_completed", InitCompletedCb),
        ("timer_new_opaque", TimerNewOpaqueCb),
    ]


class PollEntry(ctypes.Structure):
    _fields_ = [("fd", ctypes.c_int32), ("events", ctypes.c_int32)]  # events: SLIRP_POLL_*


class PollShim(ctypes.Structure):
    """``slirppoll.c``'s ``SpShim``: slirp's clock and the descriptors of the last poll round."""

    _fields_ = [
        ("now_ns", ctypes.c_int64),             # slirp's clock: kept the board's time by Python
        ("fill", ctypes.c_void_p),              # slirp_pollfds_fill
        ("pollfds_poll", ctypes.c_void_p),      # slirp_pollfds_poll
        ("timeout", ctypes.c_uint32),           # slirp_pollfds_fill's answer (ms)
        ("n", ctypes.c_int32),                  # descriptors of the last round
        ("changed", ctypes.c_int32),            # ... differ from the round before's
        ("ready", ctypes.c_int32),              # > 0: one of them was ready
        ("cap", ctypes.c_int32),
        ("failed", ctypes.c_int32),
        ("cur", ctypes.POINTER(PollEntry)),     # the last round's (fd, events), n of them
        ("prev", ctypes.POINTER(PollEntry)),
        ("prev_n", ctypes.c_int32),
        ("pad", ctypes.c_int32),
        ("pfd", ctypes.c_void_p),
    ]


@functools.cache
def load_poll_shim() -> ctypes.PyDLL:
    """``slirppoll.c`` (built next to it on first use), its functions typed, its layout checked.
    A PyDLL for the reason ``load`` gives: a round calls back into Python for the frames."""
    lib = ctypes.PyDLL(str(native_lib.build("slirppoll", directory=Path(__file__).resolve().parent)))
    lib.sp_sizeof.restype = ctypes.c_uint64
    if lib.sp_sizeof() != ctypes.sizeof(PollShim):
        raise RuntimeError("slirppoll.c and slirp_lib.PollShim disagree on the layout")
    shim_p = ctypes.POINTER(PollShim)
    lib.sp_serve_round.restype, lib.sp_serve_round.argtypes = ctypes.c_int, [shim_p, ctypes.c_void_p]
    lib.sp_free.restype, lib.sp_free.argtypes = None, [shim_p]
    lib.sp_clock_get_ns.restype, lib.sp_clock_get_ns.argtypes = ctypes.c_int64, [ctypes.c_void_p]
    return lib


_lib: ctypes.PyDLL | None = None


def load(name: str | None = None) -> ctypes.PyDLL:
    """libslirp (``name``, else ``$VBOARD_LIBSLIRP``, else libslirp.so.0) with its functions typed;
    raises ``SlirpLoadError`` naming the library and the cause."""
    global _lib
    name = name or os.environ.get(LIBRARY_ENV) or LIBRARY
    if _lib is not None and name == LIBRARY:
        return _lib
    try:
        # PyDLL: calls keep the GIL. slirp never blocks (its sockets are non-blocking) and calls back
        # into Python for every frame and timer; releasing and re-taking the GIL around each call
        # would hand the emulation thread to any other thread for a switch interval each time.
        lib = ctypes.PyDLL(name)
    except OSError as e:
        raise SlirpLoadError(f"cannot load {name} ({e}): install the Debian package libslirp0") from None
    try:
        _declare(lib)
    except AttributeError as e:
        raise SlirpLoadError(f"{name} lacks a libslirp 4 function ({e})") from None
    version = lib.slirp_version_string().decode()
    if int(version.split(".")[0]) < 4:
        raise SlirpLoadError(f"{name} is libslirp {version}; vboard needs 4.0 or newer")
    if name == LIBRARY:
        _lib = lib
    return lib


def _declare(lib: ctypes.PyDLL) -> None:
    vp, i = ctypes.c_void_p, ctypes.c_int
    sigs: dict[str, tuple[Any, list[Any]]] = {
        "slirp_new": (vp, [ctypes.POINTER(SlirpConfig), ctypes.POINTER(SlirpCb), vp]),
        "slirp_cleanup": (None, [vp]),
        "slirp_pollfds_fill": (None, [vp, ctypes.POINTER(ctypes.c_uint32), AddPollCb, vp]),
        "slirp_pollfds_poll": (None, [vp, i, GetREventsCb, vp]),
        "slirp_input": (None, [vp, ctypes.c_char_p, i]),
        "slirp_handle_timer": (None, [vp, i, vp]),
        "slirp_add_hostxfwd": (i, [vp, ctypes.c_char_p, ctypes.c_uint32, ctypes.c_char_p,
                                   ctypes.c_uint32, i]),
        "slirp_version_string": (ctypes.c_char_p, []),
    }
    for fn_name, (restype, argtypes) in sigs.items():
        fn = getattr(lib, fn_name)
        fn.restype, fn.argtypes = restype, argtypes


def sockaddr(addr: str, port: int) -> bytes:
    """A ``struct sockaddr_in``/``sockaddr_in6`` for ``slirp_add_hostxfwd``."""
    ip = ipaddress.ip_address(addr)
    if ip.version == 4:
        return struct.pack("=H", socket.AF_INET) + struct.pack("!H", port) + ip.packed + b"\0" * 8
    return (struct.pack("=H", socket.AF_INET6) + struct.pack("!HI", port, 0) + ip.packed
            + struct.pack("=I", 0))


def version() -> str:
    return load().slirp_version_string().decode()
