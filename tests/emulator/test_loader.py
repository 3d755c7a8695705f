"""Firmware images: ELF, Intel HEX and raw binary load the same program; bad images are FirmwareErrors."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from emulator.board.loader import FirmwareError, load_image
from emulator.board.machine import Machine
from emulator.board.platform import load_platform

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "firmware" / "golden"


@pytest.mark.parametrize("suffix", ["elf", "hex", "bin"])
def test_elf_hex_bin_give_the_same_transcript(firmware, vboard, suffix):
    r = vboard(firmware / f"hello.{suffix}", seconds=2.0)
    assert r.stop.kind == "exit" and r.stop.exit_code == 0
    assert r.transcript == (GOLDEN / "hello.txt").read_bytes()


def test_image_kinds_and_segments(firmware):
    elf = load_image(firmware / "hello.elf")
    hexi = load_image(firmware / "hello.hex")
    binary = load_image(firmware / "hello.bin")
    assert (elf.kind, hexi.kind, binary.kind) == ("elf", "hex", "bin")
    assert binary.segments[0].address == 0
    flat = elf.segments[0].data
    assert binary.segments[0].data[:len(flat)] == flat
    assert hexi.segments[0].address == 0 and hexi.segments[0].data[:64] == flat[:64]


def test_symbols(firmware):
    image = load_image(firmware / "hello.elf")
    main = image.symbols.address("main")
    assert main is not None and main % 2 == 0, "function addresses without the Thumb bit"
    assert image.symbols.lookup(main) == "main"
    assert image.symbols.lookup(main + 4) == "main+0x4"
    assert image.symbols.address("Reset_Handler") is not None
    assert image.symbols.address("no_such_symbol") is None
    assert image.symbols.lookup(0xF0000000) is None
    assert image.entry is not None and image.entry & 1


def expect_error(path: Path, *words: str) -> str:
    with pytest.raises(FirmwareError) as e:
        Machine(load_platform("mps2-an385")).load(load_image(path))
    text = str(e.value)
    assert str(path) in text, text
    for word in words:
        assert word in text, text
    return text


def test_truncated_elf(firmware, tmp_path):
    bad = tmp_path / "truncated.elf"
    bad.write_bytes((firmware / "hello.elf").read_bytes()[:200])
    expect_error(bad)


def test_random_bytes_with_elf_magic(tmp_path):
    bad = tmp_path / "random.elf"
    bad.write_bytes(b"\x7fELF" + os.urandom(2000))
    expect_error(bad)


@pytest.mark.parametrize("seed", range(20))
def test_garbage_after_a_valid_elf_header_is_a_firmware_error(firmware, tmp_path, seed):
    import random

    data = bytearray((firmware / "hello.elf").read_bytes())
    rng = random.Random(seed)
    for _ in range(64):
        data[rng.randrange(16, min(len(data), 4096))] = rng.randrange(256)
    bad = tmp_path / f"fuzz{seed}.elf"
    bad.write_bytes(bytes(data))
    try:
        Machine(load_platform("mps2-an385")).load(load_image(bad))
    except FirmwareError as e:
        assert str(bad) in str(e)


def test_x86_elf_is_rejected(tmp_path):
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.fail("no host gcc to build an x86 object (apt-get install gcc)", pytrace=False)
    src = tmp_path / "x.c"
    src.write_text("int f(int x) { return x + 1; }\n")
    obj = tmp_path / "x86.elf"
    subprocess.run([gcc, "-c", "-o", str(obj), str(src)], check=True)
    expect_error(obj, "not ARM")


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(FirmwareError, match="no such file"):
        load_image(tmp_path / "nope.elf")
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    with pytest.raises(FirmwareError, match="empty"):
        load_image(empty)
    with pytest.raises(FirmwareError, match="directory"):
        load_image(tmp_path)


def test_bad_intel_hex(tmp_path):
    bad = tmp_path / "bad.hex"
    bad.write_text(":10000000ZZ\n")
    with pytest.raises(FirmwareError) as e:
        load_image(bad)
    assert str(bad) in str(e.value)


def test_raw_binary_outside_memory(firmware):
    m = Machine(load_platform("mps2-an385"))
    image = load_image(firmware / "hello.bin", base=0x60000000)
    with pytest.raises(FirmwareError) as e:
        m.load(image)
    assert "hello.bin" in str(e.value) and "0x60000000" in str(e.value)


def test_elf_outside_memory(tmp_path, assembler):
    src = tmp_path / "far.s"
    src.write_text(".syntax unified\n.thumb\n.text\n.word 0x20001000\n.word 9\nb .\n")
    obj = tmp_path / "far.o"
    subprocess.run(["arm-none-eabi-as", "-mthumb", "-mcpu=cortex-m3", "-o", str(obj), str(src)], check=True)
    elf = tmp_path / "far.elf"
    subprocess.run(["arm-none-eabi-ld", "-Ttext=0x60000000", "-e", "0x60000000", "-o", str(elf),
                    str(tmp_path / "far.o")], check=True)
    expect_error(elf, "outside the memory")


@pytest.mark.parametrize("name", ["hello", "cpubench", "net_demo", "an511/hello"])
def test_elf_segments_entry_and_symbols_agree_with_pyelftools(firmware, name):
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    path = firmware / f"{name}.elf"
    image = load_image(path)
    with path.open("rb") as f:
        elf = ELFFile(f)
        segments = [(s["p_paddr"], s.data(), bool(s["p_flags"] & 1)) for s in elf.iter_segments()
                    if s["p_type"] == "PT_LOAD" and s["p_filesz"]]
        kinds = {"STT_FUNC": ~1, "STT_OBJECT": ~0}  # function addresses without the Thumb bit
        symbols = {(sym.name, sym["st_value"] & kinds[sym["st_info"]["type"]])
                   for section in elf.iter_sections() if isinstance(section, SymbolTableSection)
                   for sym in section.iter_symbols() if sym["st_info"]["type"] in kinds and sym.name}
        entry = elf["e_entry"]
    assert [(s.address, s.data, s.executable) for s in image.segments] == segments
    assert image.entry == entry
    assert set(zip(image.symbols.names, image.symbols.starts, strict=True)) == symbols
    assert len(symbols) > 20
