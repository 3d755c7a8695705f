"""Firmware images: ELF32 (read here), Intel HEX (intelhex), raw binary.

An image is a list of (address, bytes) segments plus, for ELF, the symbol
table (used by fault reports and the GDB server) and the entry point.
Every failure is a ``FirmwareError`` whose message says what and where.
An ELF file needs only its header, program headers (PT_LOAD segments at
their physical address) and symbol tables, read with ``struct`` (the ELF
specification's Elf32 structures; pyelftools took a tenth of a start).
"""

from __future__ import annotations

import bisect
import struct
from dataclasses import dataclass, field
from pathlib import Path

EM_ARM = 40
# e_machine names for the message about an ELF for another machine.
MACHINES = {3: "EM_386", 8: "EM_MIPS", 20: "EM_PPC", 21: "EM_PPC64", 40: "EM_ARM", 62: "EM_X86_64",
            183: "EM_AARCH64", 243: "EM_RISCV"}
ELF_HEADER = struct.Struct("<16sHHIIIIIHHHHHH")  # Elf32_Ehdr: e_ident .. e_shstrndx
# Elf32_Phdr: p_type, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_flags, p_align
PROGRAM_HEADER = struct.Struct("<8I")
# Elf32_Shdr: sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link, sh_info, sh_addralign,
# sh_entsize
SECTION_HEADER = struct.Struct("<10I")
SH_TYPE, SH_OFFSET, SH_SIZE, SH_LINK = 1, 4, 5, 6
PT_LOAD, PF_X = 1, 1
SHT_SYMTAB, SHT_DYNSYM = 2, 11


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
        raw = p.read_bytes()
    except OSError as e:
        raise FirmwareError(f"{p}: cannot read ({e.strerror})") from None
    if len(raw) < ELF_HEADER.size:
        raise FirmwareError(f"{p}: corrupt ELF (a header of {len(raw)} bytes, not {ELF_HEADER.size})")
    ident = raw[:16]
    machine = int.from_bytes(raw[18:20], "big" if ident[5] == 2 else "little")
    if machine != EM_ARM:
        raise FirmwareError(f"{p}: ELF for {MACHINES.get(machine, f'machine {machine}')}, not ARM (EM_ARM)")
    if ident[4] != 1 or ident[5] != 1:
        raise FirmwareError(f"{p}: not a 32-bit little-endian ARM ELF")
    (_ident, _type, _machine, _version, entry, phoff, shoff, _flags, _ehsize, phentsize, phnum, shentsize,
     shnum, _shstrndx) = ELF_HEADER.unpack_from(raw)
    segments = []
    for header in _table(p, raw, phoff, phentsize, phnum, PROGRAM_HEADER, "program"):
        p_type, offset, _vaddr, paddr, filesz, _memsz, flags, _align = header
        if p_type != PT_LOAD or filesz == 0:
            continue
        data = raw[offset:offset + filesz]
        if len(data) != filesz:
            raise FirmwareError(f"{p}: segment at 0x{paddr:08X} is truncated ({len(data)} of {filesz} bytes)")
        segments.append(Segment(paddr, data, bool(flags & PF_X)))
    if not segments:
        raise FirmwareError(f"{p}: ELF has no loadable segments")
    if shoff and shnum == 0:  # over 0xFF00 sections: the count is in section 0
        shnum = _table(p, raw, shoff, shentsize, 1, SECTION_HEADER, "section")[0][SH_SIZE]
    sections = _table(p, raw, shoff, shentsize, shnum, SECTION_HEADER, "section") if shoff else []
    symbols = Symbols()
    for section in sections:
        if section[SH_TYPE] in (SHT_SYMTAB, SHT_DYNSYM):
            link = section[SH_LINK]
            if link >= len(sections):
                raise FirmwareError(f"{p}: corrupt ELF (symbol table linked to section {link} of "
                                    f"{len(sections)})")
            _add_symbols(p, symbols, _section_data(p, raw, section), _section_data(p, raw, sections[link]))
    return Image(p, "elf", segments, entry, symbols)


def _table(p: Path, raw: bytes, offset: int, entry_size: int, count: int, layout: struct.Struct,
           what: str) -> list[tuple[int, ...]]:
    """The ``count`` entries of a program or section header table."""
    if count == 0:
        return []
    if entry_size < layout.size:
        raise FirmwareError(f"{p}: corrupt ELF ({what} headers of {entry_size} bytes, not {layout.size})")
    if offset + (count - 1) * entry_size + layout.size > len(raw):
        raise FirmwareError(f"{p}: corrupt ELF ({count} {what} headers at {offset} past the end of the file)")
    return [layout.unpack_from(raw, offset + i * entry_size) for i in range(count)]


def _section_data(p: Path, raw: bytes, section: tuple[int, ...]) -> bytes:
    offset, size = section[SH_OFFSET], section[SH_SIZE]
    if offset + size > len(raw):
        raise FirmwareError(f"{p}: corrupt ELF (a section of {size} bytes at {offset} past the file's end)")
    return raw[offset:offset + size]


_STT_OBJECT, _STT_FUNC = 1, 2


def _add_symbols(p: Path, symbols: Symbols, table: bytes, strtab: bytes) -> None:
    """Functions and data objects of an ELF32 symbol table, parsed in bulk (an object per symbol
    took a tenth of a second for a network app)."""
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
