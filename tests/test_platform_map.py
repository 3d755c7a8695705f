"""vboard's MPS2 maps held against QEMU 7.2's: every window of ``info mtree -f`` must exist.

For ``mps2-an385`` and ``mps2-an511`` this starts QEMU (``-S``: nothing runs), asks the
monitor for the flattened memory tree of the CPU's address space and compares it with the
platform file as vboard builds it (a ``Machine``): every QEMU window below the core's private
peripheral bus (0xE0000000, the SCS, which vboard's core provides) must be a vboard window
with the same base and size, RAM as memory and I/O as a device, unless it is listed below as
a deliberate difference with its reason. The reverse holds too: every vboard window is a
QEMU window or a listed difference, so nothing is added silently.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

import pytest

from emulator.board.machine import Machine
from emulator.board.platform import load_platform

PPB = 0xE000_0000
PAGE = 0x1000
_LINE = re.compile(r"^\s+([0-9a-f]{16})-([0-9a-f]{16}) \(prio (-?\d+), ([^)]+)\): (.*?)(?: @[0-9a-f]{16})?$")


@dataclass(frozen=True)
class Window:
    base: int
    size: int
    kind: str   # "ram" or "i/o"
    name: str

    def __str__(self) -> str:
        return f"0x{self.base:08X}+0x{self.size:X} {self.kind} '{self.name}'"


# (base, size) of a QEMU window -> (the vboard windows that stand for it, why they differ).
# An empty tuple: vboard has nothing there.
COMMON_DIFFERENCES: dict[tuple[int, int], tuple[tuple[tuple[int, int], ...], str]] = {
    (0x4002_4000, 0x400): (((0x4002_4000, PAGE),), "I2S (1 KiB) and the rest of its page are one 4 KiB "
                                                  "placeholder: the bus maps whole pages"),
    (0x4002_4400, 0xC00): (((0x4002_4000, PAGE),), "the page's tail, inside the i2s placeholder"),
    (0x4020_0000, 0x100): (((0x4020_0000, PAGE),), "LAN9118: QEMU decodes 256 bytes, vboard the whole "
                                                  "4 KiB page (offsets past 0xB4 read 0 with a guest error)"),
}
DIFFERENCES = {
    "mps2-an385": COMMON_DIFFERENCES,
    "mps2-an511": {
        **COMMON_DIFFERENCES,
        (0x4000_9000, 0x7000): (((0x4000_9000, 0x6000), (0x4000_F000, PAGE)),
                                "the TZ-TRNG at 0x4000F000 that Mbed OS's lwIP seeds from (QEMU leaves "
                                "it to this read-as-zero region and Mbed spins in its driver)"),
        (0x4001_4000, 0xC000): (((0x4001_4000, 0xB000), (0x4001_F000, PAGE)),
                                "the CMSDK system controller at 0x4001F000 (Mbed OS CMSDK_SYSCON: reset "
                                "cause in RSTINFO)"),
    },
}


def qemu_windows(machine: str) -> list[Window]:
    """The flattened view of QEMU's CPU address space (``info mtree -f``, "cpu-memory-0")."""
    proc = subprocess.run(["qemu-system-arm", "-M", machine, "-monitor", "stdio", "-S", "-display", "none",
                           "-serial", "null"], input="info mtree -f\nquit\n", capture_output=True, text=True,
                          timeout=60)
    text = proc.stdout.replace("\r", "")
    assert 'AS "cpu-memory-0"' in text, f"no CPU address space from QEMU:\n{text[-2000:]}\n{proc.stderr}"
    view = text.split('AS "cpu-memory-0"', 1)[1].split("FlatView", 1)[0]
    windows = []
    for line in view.splitlines():
        m = _LINE.match(line)
        if m:
            start, end = int(m[1], 16), int(m[2], 16)
            windows.append(Window(start, end - start + 1, "ram" if m[4] == "ram" else "i/o", m[5]))
    assert len(windows) > 30, view
    return windows


def vboard_windows(platform: str) -> list[Window]:
    m = Machine(load_platform(platform))
    windows = [Window(base, region.size, "ram", region.name)
               for region in m.platform.memory for base in (region.base, *region.aliases)]
    for spec in m.platform.devices:
        if spec.base is not None:
            dev = m.devices[spec.name]
            windows.append(Window(spec.base, (dev.SIZE + PAGE - 1) & ~(PAGE - 1), "i/o", spec.name))
    return sorted(windows, key=lambda w: w.base)


@pytest.mark.parametrize("platform", ["mps2-an385", "mps2-an511"])
def test_every_qemu_window_is_on_the_vboard_board(platform: str, qemu: str) -> None:
    ours = {(w.base, w.size): w for w in vboard_windows(platform)}
    differences = DIFFERENCES[platform]
    theirs = [w for w in qemu_windows(platform) if w.base < PPB]
    missing, wrong_kind, used = [], [], set()
    for w in theirs:
        key = (w.base, w.size)
        if key in differences:
            stand_ins, _why = differences[key]
            for piece in stand_ins:
                assert piece in ours, f"{w}: the listed stand-in 0x{piece[0]:08X}+0x{piece[1]:X} is gone"
                used.add(piece)
            if len(stand_ins) > 1:   # a split: the pieces tile the QEMU window exactly
                assert sum(size for _b, size in stand_ins) == w.size and stand_ins[0][0] == w.base, w
            continue
        mine = ours.get(key)
        if mine is None:
            missing.append(str(w))
        elif mine.kind != w.kind:
            wrong_kind.append(f"{w} is {mine}")
        used.add(key)
    assert not missing, f"{platform}: QEMU windows vboard lacks:\n" + "\n".join(missing)
    assert not wrong_kind, f"{platform}: RAM/device mismatches:\n" + "\n".join(wrong_kind)
    extra = [str(w) for key, w in ours.items() if key not in used]
    assert not extra, f"{platform}: vboard windows QEMU does not have (list them as differences):\n" + \
        "\n".join(extra)
    for key in differences:
        assert any((w.base, w.size) == key for w in theirs), \
            f"listed difference 0x{key[0]:08X}+0x{key[1]:X} is no longer in QEMU's map"


def test_qemu_parse_sees_the_gpio_placeholders(qemu: str) -> None:
    """The parser reads QEMU's names and kinds (a check on the test itself)."""
    gpio = [w for w in qemu_windows("mps2-an385") if w.name == "cmsdk-ahb-gpio"]
    expected = [(0x4001_0000 + n * PAGE, PAGE, "i/o") for n in range(4)]
    assert [(w.base, w.size, w.kind) for w in gpio] == expected
