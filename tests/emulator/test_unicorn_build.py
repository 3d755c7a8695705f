"""The Unicorn that runs the boards is the one scripts/build_unicorn made.

Released Unicorn 2.1.4 sends every store to RAM through its slow path, calls
a helper at the start of every block to ask whether to leave and calls a block
hook at every block (``scripts/build_unicorn`` says why they cost); the rebuilt
library keeps the store check only on pages mapped executable, checks for an
exit inline, keeps vboard's instruction budget in the translated blocks
(``test_block_budget.py`` checks that it counts what a hook at every block did)
checks for an exit after a guest load or store only on the slow path, and
takes a device page's mapping from its TLB entry. These tests fail when setup
fell back to another library, and check that code RAM still sees its own
rewrites, that a hook's stop still leaves before the block it was called for,
that a device's stop still leaves at its access, and that a device page
unmapped or mapped again after its first access is seen as it now is.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from asm import program
from unicorn import (
    UC_ARCH_ARM,
    UC_ERR_READ_UNMAPPED,
    UC_HOOK_BLOCK,
    UC_HOOK_MEM_READ_UNMAPPED,
    UC_MODE_THUMB,
    UC_PROT_ALL,
    UC_PROT_READ,
    UC_PROT_WRITE,
    Uc,
    UcError,
)
from unicorn import arm_const as A
from unicorn.unicorn_py3.unicorn import uclib

ROOT = Path(__file__).resolve().parents[2]
MARKER = ROOT / ".venv" / "unicorn-fast-stores.json"


def test_loaded_library_is_the_rebuilt_one():
    assert MARKER.exists(), "scripts/build_unicorn never succeeded here (run scripts/setup)"
    marker = json.loads(MARKER.read_text())
    loaded = Path(uclib._name)
    digest = hashlib.sha256(loaded.read_bytes()).hexdigest()
    assert digest == marker["sha256"], f"{loaded} is not the library scripts/build_unicorn built"
    assert digest != marker["stock_sha256"]
    assert marker.get("changes") == ["fast-ram-stores", "inline-exit-check", "budget-in-blocks",
                                     "exit-check-on-slow-path", "mmio-mapping-from-tlb"], \
        f"{loaded} was built without every change of scripts/build_unicorn (run scripts/setup)"


def _engine() -> Uc:
    uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB)
    uc.ctl_set_cpu_model(A.UC_CPU_ARM_CORTEX_M3)
    uc.mem_map(0x00000000, 0x10000, UC_PROT_ALL)                      # code RAM
    uc.mem_map(0x20000000, 0x10000, UC_PROT_READ | UC_PROT_WRITE)     # data RAM
    return uc


def test_code_ram_still_sees_its_own_rewrites():
    """A routine in executable RAM is run, overwritten by a guest store, and run again."""
    src = """
reset:
    ldr r4, =routine
    adds r4, #1            @ Thumb bit
    blx r4                 @ first call: r0 = 1
    mov r5, r0
    ldr r1, =routine
    ldr r2, =0x2002        @ `movs r0, #2` over `movs r0, #1`
    strh r2, [r1]
    dsb
    isb
    blx r4                 @ second call must see the new instruction
    mov r6, r0
    ldr r1, =0x20000000
    str r5, [r1]           @ a data RAM store on the fast path
    ldr r7, [r1]
    wfi
routine:
    movs r0, #1
    bx lr
    .ltorg
"""
    image = program(src, {}).image()
    uc = _engine()
    for seg in image.segments:
        uc.mem_write(seg.address, seg.data)
    entry = int.from_bytes(bytes(uc.mem_read(4, 4)), "little")
    uc.emu_start(entry | 1, 0xFFFFFF00, 0, 200)
    assert uc.reg_read(A.UC_ARM_REG_R5) == 1
    assert uc.reg_read(A.UC_ARM_REG_R6) == 2, "a store into code RAM did not invalidate the old translation"
    assert uc.reg_read(A.UC_ARM_REG_R7) == 1


def test_a_block_hook_s_stop_leaves_before_the_block_runs():
    """blockclock's slices rely on it: the hook called for block N stops, block N does not run."""
    image = program("""
reset:
    movs r0, #0
loop:
    adds r0, #1
    b loop
""", {}).image()
    uc = _engine()
    for seg in image.segments:
        uc.mem_write(seg.address, seg.data)
    calls = []

    def on_block(engine: Uc, address: int, size: int, _data: object) -> None:
        calls.append(address)
        if len(calls) == 5:
            engine.emu_stop()

    uc.hook_add(UC_HOOK_BLOCK, on_block)
    entry = int.from_bytes(bytes(uc.mem_read(4, 4)), "little")
    uc.emu_start(entry | 1, 0xFFFFFF00, 0, 0)
    assert len(calls) == 5 and uc.reg_read(A.UC_ARM_REG_R0) == 4, "four blocks ran, the fifth did not"
    assert uc.reg_read(A.UC_ARM_REG_PC) == calls[-1]


def test_a_device_s_stop_leaves_at_its_access():
    """An MMIO callback that stops ends the run at the access: the loading or storing instruction
    is abandoned (it runs again at the next start) and nothing after it in the block runs."""
    code = program("""
reset:
    movs r0, #0
    ldr r1, =0x40000000
    movs r2, #7
access_load:
    ldr r3, [r1]
    adds r0, #1
access_store:
    str r2, [r1, #4]
    adds r0, #1
    adds r0, #1
    wfi
    .ltorg
""", {})
    uc = _engine()
    for seg in code.image().segments:
        uc.mem_write(seg.address, seg.data)
    accesses = []

    def read(engine: Uc, offset: int, _size: int, _data: object) -> int:
        accesses.append(("read", offset))
        if len(accesses) == 1:
            engine.emu_stop()
        return 0x55

    def write(engine: Uc, offset: int, _size: int, value: int, _data: object) -> None:
        accesses.append(("write", offset, value))
        if len(accesses) == 3:
            engine.emu_stop()

    uc.mmio_map(0x40000000, 0x1000, read, None, write, None)
    entry = int.from_bytes(bytes(uc.mem_read(4, 4)), "little")
    uc.emu_start(entry | 1, 0xFFFFFF00, 0, 0)
    assert uc.reg_read(A.UC_ARM_REG_PC) == code["access_load"]
    assert accesses == [("read", 0)] and uc.reg_read(A.UC_ARM_REG_R0) == 0, "ran past the stopping load"
    assert uc.reg_read(A.UC_ARM_REG_R3) != 0x55
    uc.emu_start(code["access_load"] | 1, 0xFFFFFF00, 0, 0)   # the load again, on to the store: stops
    assert accesses == [("read", 0), ("read", 0), ("write", 4, 7)]
    assert uc.reg_read(A.UC_ARM_REG_R3) == 0x55 and uc.reg_read(A.UC_ARM_REG_R0) == 1, \
        "ran past the stopping store"
    assert uc.reg_read(A.UC_ARM_REG_PC) == code["access_store"]


def test_a_device_page_is_seen_as_it_is_now_mapped():
    """The same load, run three times: from a device, after the device is unmapped (an unmapped
    read, however warm the TLB was), and from a second device mapped at the same address."""
    code = program("""
reset:
    ldr r1, =0x40000000
    ldr r0, [r1, #8]
    wfi
    .ltorg
""", {})
    uc = _engine()
    for seg in code.image().segments:
        uc.mem_write(seg.address, seg.data)
    entry = int.from_bytes(bytes(uc.mem_read(4, 4)), "little")
    unmapped = []
    uc.hook_add(UC_HOOK_MEM_READ_UNMAPPED, lambda *args: unmapped.append(args[2]) and False)

    def device(value: int):
        return lambda _uc, offset, _size, _data: value + offset

    uc.mmio_map(0x40000000, 0x1000, device(0x100), None, lambda *_: None, None)
    uc.emu_start(entry | 1, 0xFFFFFF00, 0, 3)
    assert uc.reg_read(A.UC_ARM_REG_R0) == 0x108 and not unmapped
    uc.mem_unmap(0x40000000, 0x1000)
    uc.reg_write(A.UC_ARM_REG_R0, 0)
    with pytest.raises(UcError) as error:
        uc.emu_start(entry | 1, 0xFFFFFF00, 0, 3)
    assert error.value.errno == UC_ERR_READ_UNMAPPED and unmapped == [0x40000008]
    uc.mmio_map(0x40000000, 0x1000, device(0x200), None, lambda *_: None, None)
    uc.emu_start(entry | 1, 0xFFFFFF00, 0, 3)
    assert uc.reg_read(A.UC_ARM_REG_R0) == 0x208
