"""Firmware images: ELF (pyelftools), Intel HEX (intelhex), raw binary.

An image is a list of (address, bytes) segments plus, for ELF, the symbol
table (used by fault reports and the GDB server) and the entry point.
Every failure is a ``FirmwareError`` whose message says what and where.
"""

from __future__ import annotations

import bisect
import struct
from dataclasses import dataclass, field
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.constants import P_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

EM_ARM = 40


class FirmwareError(Exception):
    """A firmware image that cannot be loaded; the message names file and problem."""


@dataclass
class Segment:
    address: int
    data: bytes
    executable: bool = True


@dataclass
class Symbols:
    """Function and object symbols, searchable by address."""

    names: list[str] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    by_name: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, address: int, size: int) -> None:
        self.by_name.setdefault(name, address)
        i = bisect.bisect_right(self.starts, address)
        self.starts.insert(i, address)
        self.names.insert(i, name)
        self.sizes.insert(i, size)

    def lookup(self, address: int) -> str | None:
        """``name+0xoff`` for an address inside a known symbol."""
        i = bisect.bisect_right(self.starts, address) - 1
        while i >= 0:
            start, size = self.starts[i], self.sizes[i]
            if start <= address < start + max(size, 1) or (size == 0 and address == start):
                off = address - start
                return self.names[i] + (f"+0x{off:x}" if off else "")
            if address - start > 0x10000:
                break
            i -= 1
        return None

    def address(self, name: str) -> int | None:
        return self.by_name.get(name)


@dataclass
class Image:
    path: Path
    kind: str
    segments: list[Segment]
    entry: int | None = None
    symbols: Symbols = field(default_factory=Symbols)

    def code_ranges(self) -> list[tuple[int, int]]:
        return [(s.address, s.address + len(s.data)) for s in self.segments if s.executable and s.data]


MAX_IMAGE_BYTES = 256 * 1024 * 1024  # a firmware file read at most (the boards have tens of MiB)


def load_image(path: str | Path, *, base: int = 0) -> Image:
    """Load ``path`` by its contents: ELF magic, Intel HEX text, else raw binary at ``base``."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            head = f.read(4)
        if not p.is_file():
            raise FirmwareError(f"{p}: not a regular file (a firmware image is a file)")
        if p.stat().st_size > MAX_IMAGE_BYTES:
            raise FirmwareError(f"{p}: {p.stat().st_size >> 20} MiB: larger than any board's memory "
                                f"(at most {MAX_IMAGE_BYTES >> 20} MiB)")
    except FileNotFoundError:
        raise FirmwareError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise FirmwareError(f"{p}: is a directory, not a firmware image") from None
    except OSError as e:
        raise FirmwareError(f"{p}: cannot read ({e.strerror})") from None
    if head == b"\x7fELF":
        return _load_elf(p)
    if p.suffix.lower() in (".hex", ".ihex") or head[:1] == b":":
        return _load_hex(p)
    if p.suffix.lower() in (".elf", ".axf", ".out"):
        raise FirmwareError(f"{p}: not an ELF file (no ELF magic at offset 0)")
    data = p.read_bytes()
    if not data:
        raise FirmwareError(f"{p}: empty file")
    return Image(p, "bin", [Segment(base, data)])


def _load_elf(p: Path) -> Image:
    try:
        with p.open("rb") as f:
            elf = ELFFile(f)
            if elf["e_machine"] != "EM_ARM":
                raise FirmwareError(f"{p}: ELF for {elf['e_machine']}, not ARM (EM_ARM)")
            if elf.elfclass != 32 or not elf.little_endian:
                raise FirmwareError(f"{p}: not a 32-bit little-endian ARM ELF")
            segments = []
            for seg in elf.iter_segments():
                if seg["p_type"] != "PT_LOAD" or seg["p_filesz"] == 0:
                    continue
                data = seg.data()
                if len(data) != seg["p_filesz"]:
                    raise FirmwareError(f"{p}: segment at 0x{seg['p_paddr']:08X} is truncated "
                                        f"({len(data)} of {seg['p_filesz']} bytes)")
                segments.append(Segment(seg["p_paddr"], data, bool(seg["p_flags"] & P_FLAGS.PF_X)))
            if not segments:
                raise FirmwareError(f"{p}: ELF has no loadable segments")
            symbols = Symbols()
            for section in elf.iter_sections():
                if isinstance(section, SymbolTableSection):
                    _add_symbols(p, symbols, section.data(), elf.get_section(section["sh_link"]).data())
            return Image(p, "elf", segments, elf["e_entry"], symbols)
    except FirmwareError:
        raise
    except (ELFError, ValueError, KeyError, IndexError, AssertionError, OSError) as e:
        raise FirmwareError(f"{p}: corrupt ELF ({e})") from None
    except Exception as e:  # pyelftools raises a zoo of types on garbage input
        raise FirmwareError(f"{p}: corrupt ELF ({type(e).__name__}: {e})") from None


_STT_OBJECT, _STT_FUNC = 1, 2


def _add_symbols(p: Path, symbols: Symbols, table: bytes, strtab: bytes) -> None:
    """Functions and data objects of an ELF32 symbol table, parsed in bulk (pyelftools builds
    an object per symbol, a tenth of a second for a network app)."""
    if len(table) % 16:
        raise FirmwareError(f"{p}: corrupt ELF (symbol table of {len(table)} bytes, not a multiple of 16)")
    for name_off, value, size, info, _other, _shndx in struct.iter_unpack("<IIIBBH", table):
        kind = info & 0xF
        if kind not in (_STT_FUNC, _STT_OBJECT) or not name_off:
            continue
        end = strtab.find(b"\0", name_off)
        if name_off >= len(strtab) or end < 0:
            raise FirmwareError(f"{p}: corrupt ELF (symbol name at {name_off} outside its string table)")
        name = strtab[name_off:end].decode("utf-8", "replace")
        symbols.add(name, value & ~1 if kind == _STT_FUNC else value, size)


def _load_hex(p: Path) -> Image:
    from intelhex import IntelHex, IntelHexError

    ih = IntelHex()
    try:
        ih.loadhex(str(p))
    except (IntelHexError, ValueError, UnicodeDecodeError) as e:
        raise FirmwareError(f"{p}: bad Intel HEX ({e})") from None
    segments = [Segment(start, ih.tobinstr(start=start, end=end - 1)) for start, end in ih.segments()]
    if not segments:
        raise FirmwareError(f"{p}: Intel HEX file holds no data")
    start = ih.start_addr or {}
    entry = start.get("EIP")
    return Image(p, "hex", segments, entry)
