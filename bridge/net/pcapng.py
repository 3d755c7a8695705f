"""pcapng capture of switch ports, in virtual time.

``PcapngWriter(path_or_file)`` writes a Section Header Block, one Interface
Description Block per captured port (link type Ethernet, ``if_tsresol`` 9:
timestamps in nanoseconds of *virtual* time) and an Enhanced Packet Block
per frame, with the direction in ``epb_flags`` (inbound/outbound from the
point of view of the device or host on that port: a frame the board sends is
"outbound" on the board's interface). Everything is little-endian and carries
no wall clock, host name or OS, so identical inputs give identical bytes.

``writer.tap(port)`` returns a callback for ``SwitchPort.taps``
(``(t_ns, frame, direction)`` with the switch's "in"/"out");
``writer.attach(port)`` also appends it (and ``close()`` removes it again).
``read_pcapng(path)`` is a small reader for tests: ``[(t_ns, frame), ...]``;
``read_pcapng_records`` gives interface names and directions too.

A write that fails (ENOSPC, EIO) is kept in ``error`` (the first one only)
and ends the capture: the owner reports it once and exits non-zero. The
headers are flushed at once, so a file that cannot be written at all fails
in the constructor.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

BT_SHB = 0x0A0D0D0A
BT_IDB = 0x00000001
BT_EPB = 0x00000006
BYTE_ORDER_MAGIC = 0x1A2B3C4D
LINKTYPE_ETHERNET = 1

OPT_ENDOFOPT = 0
OPT_SHB_USERAPPL = 4
OPT_IF_NAME = 2
OPT_IF_TSRESOL = 9
OPT_EPB_FLAGS = 2

DIR_INBOUND = 1
DIR_OUTBOUND = 2
# The switch's view ("in": entering the switch from the port) turned into the
# view of whoever sits on the port: what enters the switch left the device.
_SWITCH_DIR = {"in": DIR_OUTBOUND, "out": DIR_INBOUND}

CaptureTap = Callable[[int, bytes, str], None]


def _pad4(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + _pad4(value)


def _options(*opts: bytes) -> bytes:
    return b"".join(opts) + struct.pack("<HH", OPT_ENDOFOPT, 0) if opts else b""


def _block(block_type: int, body: bytes) -> bytes:
    total = 12 + len(body)
    return struct.pack("<II", block_type, total) + body + struct.pack("<I", total)


class CaptureWriteError(OSError):
    """The capture file cannot be written; the message says which and why."""

    def __str__(self) -> str:
        return str(self.args[0])


class PcapngWriter:
    """Writes pcapng to a path (opened and closed here) or to a binary file object."""

    def __init__(self, path_or_file: str | Path | BinaryIO, application: str = "vboard") -> None:
        if isinstance(path_or_file, str | Path):
            try:
                self._f: BinaryIO = open(path_or_file, "wb")  # noqa: SIM115 - closed in close()
            except OSError as e:
                raise OSError(e.errno, f"cannot write pcapng file {path_or_file}: {e.strerror}") from None
            self._owned = True
            self.path: str | None = str(path_or_file)
        else:
            self._f = path_or_file
            self._owned = False
            self.path = getattr(path_or_file, "name", None)
        self._interfaces: dict[str, int] = {}
        self._attached: list[tuple[object, CaptureTap]] = []
        self.frames = 0
        self.closed = False
        self.error: str | None = None
        shb = struct.pack("<IHHq", BYTE_ORDER_MAGIC, 1, 0, -1)
        self._put(_block(BT_SHB, shb + _options(_option(OPT_SHB_USERAPPL, application.encode()))))
        self.flush()
        if self.error is not None:
            if self._owned:
                try:
                    self._f.close()
                except OSError:
                    pass  # the same error again, from the buffer's flush
            raise CaptureWriteError(f"cannot write pcapng file {self.path}: {self.error}")

    def _put(self, block: bytes) -> None:
        if self.error is not None:
            return
        try:
            self._f.write(block)
        except OSError as e:
            self._failed(e)

    def _failed(self, e: OSError) -> None:
        if self.error is None:
            self.error = e.strerror or str(e)

    def interface(self, name: str) -> int:
        """The interface id for ``name`` (an IDB is written the first time)."""
        iid = self._interfaces.get(name)
        if iid is None:
            iid = len(self._interfaces)
            self._interfaces[name] = iid
            body = struct.pack("<HHI", LINKTYPE_ETHERNET, 0, 0)
            body += _options(_option(OPT_IF_NAME, name.encode()), _option(OPT_IF_TSRESOL, b"\x09"))
            self._put(_block(BT_IDB, body))
        return iid

    def write(self, iid: int, t_ns: int, frame: bytes, direction: int = 0) -> None:
        if self.closed:
            return
        t = max(0, int(t_ns))
        body = struct.pack("<IIIII", iid, (t >> 32) & 0xFFFFFFFF, t & 0xFFFFFFFF, len(frame), len(frame))
        body += _pad4(bytes(frame))
        if direction:
            body += _options(_option(OPT_EPB_FLAGS, struct.pack("<I", direction)))
        self._put(_block(BT_EPB, body))
        if self.error is None:
            self.frames += 1

    def tap(self, port: object) -> CaptureTap:
        """A ``SwitchPort.taps`` callback recording frames of ``port`` (anything with ``.name``)."""
        iid = self.interface(str(getattr(port, "name", port)))

        def capture(t_ns: int, frame: bytes, direction: str) -> None:
            self.write(iid, t_ns, frame, _SWITCH_DIR.get(direction, 0))

        return capture

    def attach(self, port: object) -> CaptureTap:
        """``tap(port)`` and append it to ``port.taps``; ``close()`` takes it off."""
        cb = self.tap(port)
        port.taps.append(cb)  # type: ignore[attr-defined]
        self._attached.append((port, cb))
        return cb

    def flush(self) -> None:
        if not self.closed and self.error is None:
            try:
                self._f.flush()
            except OSError as e:
                self._failed(e)

    def close(self) -> None:
        if self.closed:
            return
        for port, cb in self._attached:
            taps = port.taps  # type: ignore[attr-defined]
            if cb in taps:
                taps.remove(cb)
        self._attached.clear()
        self.flush()
        self.closed = True
        if self._owned:
            try:
                self._f.close()
            except OSError as e:  # the buffer's last bytes did not fit
                self._failed(e)

    def __enter__(self) -> PcapngWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------ reading
class PcapngFormatError(ValueError):
    pass


@dataclass
class PcapngRecord:
    t_ns: int
    frame: bytes
    interface: str
    direction: int  # 0 unknown, 1 inbound, 2 outbound
    orig_len: int


@dataclass
class _Iface:
    name: str
    linktype: int
    units_per_s: int


def _parse_options(data: bytes, endian: str) -> list[tuple[int, bytes]]:
    opts = []
    pos = 0
    while pos + 4 <= len(data):
        code, length = struct.unpack_from(endian + "HH", data, pos)
        pos += 4
        if code == OPT_ENDOFOPT:
            break
        if pos + length > len(data):
            raise PcapngFormatError(f"option {code} runs past its block")
        opts.append((code, data[pos:pos + length]))
        pos += length + (-length % 4)
    return opts


def _tsresol(value: bytes) -> int:
    r = value[0]
    return 2 ** (r & 0x7F) if r & 0x80 else 10 ** r


def read_pcapng_records(path: str | Path) -> list[PcapngRecord]:
    """Parse a pcapng file strictly (block lengths, trailers, magic); EPBs as records."""
    data = Path(path).read_bytes()
    pos = 0
    endian = "<"
    ifaces: list[_Iface] = []
    out: list[PcapngRecord] = []
    seen_shb = False
    while pos < len(data):
        if pos + 12 > len(data):
            raise PcapngFormatError(f"truncated block header at offset {pos}")
        if data[pos:pos + 4] == struct.pack("<I", BT_SHB):
            magic = data[pos + 8:pos + 12]
            if magic == struct.pack("<I", BYTE_ORDER_MAGIC):
                endian = "<"
            elif magic == struct.pack(">I", BYTE_ORDER_MAGIC):
                endian = ">"
            else:
                raise PcapngFormatError(f"bad byte-order magic at offset {pos}")
        btype, blen = struct.unpack_from(endian + "II", data, pos)
        if blen < 12 or blen % 4 or pos + blen > len(data):
            raise PcapngFormatError(f"bad block length {blen} at offset {pos}")
        (trailer,) = struct.unpack_from(endian + "I", data, pos + blen - 4)
        if trailer != blen:
            raise PcapngFormatError(f"block at offset {pos}: trailing length {trailer} != {blen}")
        body = data[pos + 8:pos + blen - 4]
        if btype == BT_SHB:
            seen_shb = True
            ifaces = []
            major, _minor = struct.unpack_from(endian + "HH", body, 4)
            if major != 1:
                raise PcapngFormatError(f"unsupported pcapng version {major}")
        elif not seen_shb:
            raise PcapngFormatError("file does not start with a Section Header Block")
        elif btype == BT_IDB:
            linktype, _res, _snap = struct.unpack_from(endian + "HHI", body, 0)
            name, units = "", 1_000_000
            for code, value in _parse_options(body[8:], endian):
                if code == OPT_IF_NAME:
                    name = value.decode("utf-8", "replace")
                elif code == OPT_IF_TSRESOL:
                    units = _tsresol(value)
            ifaces.append(_Iface(name, linktype, units))
        elif btype == BT_EPB:
            iid, hi, lo, caplen, origlen = struct.unpack_from(endian + "IIIII", body, 0)
            if iid >= len(ifaces):
                raise PcapngFormatError(f"packet for undeclared interface {iid} at offset {pos}")
            if 20 + caplen > len(body):
                raise PcapngFormatError(f"packet data runs past its block at offset {pos}")
            frame = body[20:20 + caplen]
            direction = 0
            for code, value in _parse_options(body[20 + caplen + (-caplen % 4):], endian):
                if code == OPT_EPB_FLAGS and len(value) == 4:
                    direction = struct.unpack(endian + "I", value)[0] & 3
            iface = ifaces[iid]
            ts = (hi << 32) | lo
            t_ns = ts * 1_000_000_000 // iface.units_per_s
            out.append(PcapngRecord(t_ns, frame, iface.name, direction, origlen))
        pos += blen
    if not seen_shb:
        raise PcapngFormatError("empty file: no Section Header Block")
    return out


def read_pcapng(path: str | Path) -> list[tuple[int, bytes]]:
    """``[(t_ns, frame), ...]`` of every Enhanced Packet Block in the file."""
    return [(r.t_ns, r.frame) for r in read_pcapng_records(path)]
