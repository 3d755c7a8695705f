"""The Unicorn that runs the boards is the one scripts/build_unicorn made.

Released Unicorn 2.1.4 sends every store to RAM through its slow path, calls
a helper at the start of every block to ask whether to leave and calls a block
hook at every block (``scripts/build_unicorn`` says why they cost); the rebuilt
library keeps the store check only on pages mapped executable, checks for an
exit inline, keeps vboard's instruction budget in the translated blocks
(``test_block_budget.py`` checks that it counts what a hook at every block did)
checks for an exit after a guest load or store only on the slow path,
takes a page's mapping from its TLB entry, calls a device's callback
straight from the slow path, while uc_vb_chain_pages is on, chains a
direct jump to a block on another page and has a block entered with no budget
left leave before it runs, for cpu_exec's loop to call the block hook, gives each halfword of
Thumb code its own jump cache entry and, while uc_vb_chain_pages is on, has a block ending in an
indirect branch look in the jump cache itself (``test_page_chaining.py`` checks it). These tests
fail when setup fell back
to another library, and check that code RAM still sees its own rewrites, that
such a jump chains only while uc_vb_chain_pages is on, that a hook's
stop still leaves before the block it was called for (with and without the
budget: a block that left for the hook runs once the hook gives more), that a device's stop
still leaves at its access, that a device or RAM page unmapped or mapped
again after its first access is seen as it now is, and that device accesses
of every size, unaligned ones, ones under memory hooks and stores to a
region without a write callback reach the callbacks and hooks as before.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
from pathlib import Path

import pytest
from asm import program
from unicorn import (
    UC_ARCH_ARM,
    UC_CTL_IO_WRITE,
    UC_CTL_TLB_FLUSH,
    UC_ERR_READ_UNMAPPED,
    UC_ERR_WRITE_PROT,
    UC_HOOK_BLOCK,
    UC_HOOK_MEM_READ,
    UC_HOOK_MEM_READ_AFTER,
    UC_HOOK_MEM_READ_UNMAPPED,
    UC_HOOK_MEM_WRITE,
    UC_HOOK_MEM_WRITE_PROT,
    UC_HOOK_TLB_FILL,
    UC_MODE_THUMB,
    UC_PROT_ALL,
    UC_PROT_READ,
    UC_PROT_WRITE,
    UC_TLB_VIRTUAL,
    Uc,
    UcError,
)
from unicorn import arm_const as A
from unicorn.unicorn_py3.unicorn import uclib

from emulator.board.loader import Image

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
                                     "exit-check-on-slow-path", "mmio-mapping-from-tlb",
                                     "mmio-direct-call", "cross-page-chaining",
                                     "block-hook-from-loop", "jmp-cache-by-halfword",
                                     "inline-jmp-cache", "no-tcg-optimizer"], \
        f"{loaded} was built without every change of scripts/build_unicorn (run scripts/setup)"


def _engine() -> Uc:
    uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB)
    uc.ctl_set_cpu_model(A.UC_CPU_ARM_CORTEX_M3)
    uc.mem_map(0x00000000, 0x10000, UC_PROT_ALL)                      # code RAM
    uc.mem_map(0x20000000, 0x10000, UC_PROT_READ | UC_PROT_WRITE)     # data RAM
    return uc


def _engine_with(image: Image) -> Uc:
    """``_engine()`` with ``image``'s segments written in."""
    uc = _engine()
    for seg in image.segments:
        uc.mem_write(seg.address, seg.data)
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
    uc = _engine_with(image)
    entry = int.from_bytes(bytes(uc.mem_read(4, 4)), "little")
    uc.emu_start(entry | 1, 0xFFFFFF00, 0, 200)
    assert uc.reg_read(A.UC_ARM_REG_R5) == 1
    assert uc.reg_read(A.UC_ARM_REG_R6) == 2, "a store into code RAM did not invalidate the old translation"
    assert uc.reg_read(A.UC_ARM_REG_R7) == 1


def test_a_jump_to_another_page_chains_only_while_chaining_across_pages_is_on():
    """A loop branches to a block on the next 1 KiB page and back. Each run starts with an empty
    TLB, and a TLB fill hook sees every page the run looks a block up on: the second run, whose
    jumps the first chained, never looks up `far`'s page while uc_vb_chain_pages is on; once it
    is off (every chain and block dropped) the third run looks it up again, and so does the
    fourth: the third made no chain to another page."""
    code = program("""
reset:
loop:
    b far
back:
    adds r5, #1
    cmp r5, #4
    bne loop
    wfi
    .balign 1024
far:
    b back
    .balign 1024
""", {})
    uc = _engine_with(code.image())
    chain_pages = uclib.uc_vb_chain_pages
    chain_pages.restype, chain_pages.argtypes = ctypes.c_int, [ctypes.c_void_p, ctypes.c_int]
    assert chain_pages(uc._uch, 1) == 0
    pages: list[int] = []

    def fill(_uc: Uc, vaddr: int, _access: int, entry, _data: object) -> bool:
        pages.append(vaddr)
        entry.paddr, entry.perms = vaddr, UC_PROT_ALL
        return True

    uc.ctl_set_tlb_mode(UC_TLB_VIRTUAL)
    uc.hook_add(UC_HOOK_TLB_FILL, fill)
    looked_up = []
    for chaining in (True, True, False, False):
        if not chaining:
            assert chain_pages(uc._uch, 0) == 0
        uc.ctl(UC_CTL_TLB_FLUSH, UC_CTL_IO_WRITE)
        pages.clear()
        uc.reg_write(A.UC_ARM_REG_R5, 0)
        uc.emu_start(code["loop"] | 1, code["back"] + 6, 0, 0)
        assert uc.reg_read(A.UC_ARM_REG_R5) == 4
        looked_up.append(code["far"] in pages)
    assert looked_up == [True, False, True, True]


COUNTING_LOOP = """
reset:
    movs r0, #0
loop:
    adds r0, #1
    b loop
"""


def test_a_block_hook_s_stop_leaves_before_the_block_runs():
    """blockclock's slices rely on it: the hook called for block N stops, block N does not run."""
    uc = _engine_with(program(COUNTING_LOOP, {}).image())
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


class _VbIcount(ctypes.Structure):
    _fields_ = [("left", ctypes.c_int64), ("block_left", ctypes.c_int64), ("block", ctypes.c_uint64),
                ("hook_exits", ctypes.c_uint64)]


def test_a_block_that_finds_the_budget_used_up_leaves_for_the_block_hook():
    """With uc_vb_icount on, a block entered with no budget left leaves before it runs; cpu_exec's
    loop calls the block hook there and, unless the hook stopped, runs the block, which then takes
    its count off the budget. The first block (movs, adds, b) takes 3 of 5, the loop's blocks
    (adds, b) 2 each: the hook is called at the third, fifth and seventh block, gives 4 more
    each time, and stops at its third call before the seventh block runs. hook_exits counts
    the blocks that left for the hook."""
    uc = _engine_with(program(COUNTING_LOOP, {}).image())
    icount = uclib.uc_vb_icount
    icount.restype, icount.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
    budget = _VbIcount.from_address(icount(uc._uch))
    budget.left = budget.block_left = 5
    calls = []

    def on_block(engine: Uc, address: int, _size: int, _data: object) -> None:
        calls.append((address, budget.left, budget.block_left, engine.reg_read(A.UC_ARM_REG_PC)))
        if len(calls) == 3:
            engine.emu_stop()
        else:
            budget.left += 4
            budget.block_left += 4

    uc.hook_add(UC_HOOK_BLOCK, on_block)
    entry = int.from_bytes(bytes(uc.mem_read(4, 4)), "little")
    loop = (entry & ~1) + 2
    uc.emu_start(entry | 1, 0xFFFFFF00, 0, 0)
    assert calls == [(loop, 0, 0, loop)] * 3
    assert uc.reg_read(A.UC_ARM_REG_R0) == 6, "six blocks ran, the seventh did not"
    assert uc.reg_read(A.UC_ARM_REG_PC) == loop
    assert (budget.left, budget.block_left, budget.block) == (0, 0, loop | 4 << 32)
    assert budget.hook_exits == 3


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
    uc = _engine_with(code.image())
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
    uc = _engine_with(code.image())
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


_HOOKMEM = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_uint64, ctypes.c_int,
                            ctypes.c_int64, ctypes.c_void_p)


def _device_run(src: str, read_value, hooks: dict[int, str] | None = None) -> tuple[Uc, list[tuple]]:
    """Run ``src`` against a device at 0x40000000 whose reads return ``read_value(offset)``;
    the callbacks and the memory hooks named in ``hooks`` (UC_HOOK_* -> name) log in one list."""
    code = program(src, {})
    uc = _engine_with(code.image())
    log: list[tuple] = []
    keep = []

    def read(_uc: Uc, offset: int, size: int, _data: object) -> int:
        log.append(("read", offset, size))
        return read_value(offset)

    def write(_uc: Uc, offset: int, size: int, value: int, _data: object) -> None:
        log.append(("write", offset, size, value))

    for kind, name in (hooks or {}).items():
        # Through the C API: the Python binding does not take UC_HOOK_MEM_READ_AFTER.
        def hook(_uch, _access, address, size, value, _data, name=name):
            log.append((name, address, size, value & 0xFFFFFFFF))
        callback = _HOOKMEM(hook)
        keep.append(callback)
        handle = ctypes.c_size_t()
        assert uclib.uc_hook_add(uc._uch, ctypes.byref(handle), kind, ctypes.cast(callback, ctypes.c_void_p),
                                 None, 1, 0) == 0
    uc.mmio_map(0x40000000, 0x1000, read, None, write, None)
    entry = int.from_bytes(bytes(uc.mem_read(4, 4)), "little")
    uc.emu_start(entry | 1, 0xFFFFFF00, 0, 0)
    return uc, log


def test_device_accesses_of_each_size_reach_the_callback_as_before():
    """Bytes, halfwords, words and doublewords (two words), signed and unsigned: each callback
    gets its offset and size, a store its value cut to its size, a load the callback's value cut
    to its size (then sign-extended by the instruction), whether or not it takes the direct call
    (mmio-direct-call)."""
    uc, log = _device_run("""
reset:
    ldr r0, =0x40000000
    ldr r7, =0x12345678
    ldrb r1, [r0, #1]
    ldrh r2, [r0, #2]
    ldr r3, [r0, #4]
    ldrsb r4, [r0, #9]
    ldrsh r5, [r0, #10]
    ldrd r8, r9, [r0, #16]
    strb r7, [r0, #0x21]
    strh r7, [r0, #0x22]
    str r7, [r0, #0x24]
    strd r7, r7, [r0, #0x28]
    wfi
    .ltorg
""", lambda offset: 0xF1F2F3F4F5F6F780 + offset)
    assert log == [("read", 1, 1), ("read", 2, 2), ("read", 4, 4), ("read", 9, 1), ("read", 10, 2),
                   ("read", 16, 4), ("read", 20, 4),
                   ("write", 0x21, 1, 0x78), ("write", 0x22, 2, 0x5678), ("write", 0x24, 4, 0x12345678),
                   ("write", 0x28, 4, 0x12345678), ("write", 0x2C, 4, 0x12345678)]
    regs = [uc.reg_read(r) for r in (A.UC_ARM_REG_R1, A.UC_ARM_REG_R2, A.UC_ARM_REG_R3, A.UC_ARM_REG_R4,
                                     A.UC_ARM_REG_R5, A.UC_ARM_REG_R8, A.UC_ARM_REG_R9)]
    assert regs == [0x81, 0xF782, 0xF5F6F784, 0xFFFFFF89, 0xFFFFF78A, 0xF5F6F790, 0xF5F6F794]


def test_an_unaligned_device_access_is_split_as_before():
    """A word at offset 2 is read as the words at 0 and 4 and put together, a halfword at 1 as
    the halfwords at 0 and 2; a word stored at 5 is stored as four bytes (the direct call takes
    aligned accesses only)."""
    uc, log = _device_run("""
reset:
    ldr r0, =0x40000000
    ldr r7, =0x12345678
    ldr r1, [r0, #2]
    ldrh r2, [r0, #0x11]
    str r7, [r0, #0x25]
    wfi
    .ltorg
""", lambda offset: 0x11111111 * (offset // 2 + 1))
    assert log == [("read", 0, 4), ("read", 4, 4), ("read", 0x10, 2), ("read", 0x12, 2),
                   ("write", 0x25, 1, 0x78), ("write", 0x26, 1, 0x56), ("write", 0x27, 1, 0x34),
                   ("write", 0x28, 1, 0x12)]
    assert uc.reg_read(A.UC_ARM_REG_R1) == 0x33331111
    assert uc.reg_read(A.UC_ARM_REG_R2) == 0xAA99


def test_memory_hooks_still_see_device_accesses():
    """With memory hooks set a device access takes the way that calls them: read hook, callback,
    read-after hook; write hook, callback."""
    _, log = _device_run("""
reset:
    ldr r0, =0x40000000
    movs r7, #0x5A
    ldr r1, [r0, #4]
    strb r7, [r0, #8]
    wfi
    .ltorg
""", lambda offset: 0x1234, {UC_HOOK_MEM_READ: "hook_read", UC_HOOK_MEM_READ_AFTER: "hook_after",
                              UC_HOOK_MEM_WRITE: "hook_write"})
    assert log == [("hook_read", 0x40000004, 4, 0), ("read", 4, 4), ("hook_after", 0x40000004, 4, 0x1234),
                   ("hook_write", 0x40000008, 1, 0x5A), ("write", 8, 1, 0x5A)]


def test_a_device_without_a_write_callback_refuses_stores():
    """A region mapped with a read callback only is not writable: a store is a protection fault
    (the direct call leaves it to the way that reports it) and a load still reads."""
    code = program("""
reset:
    ldr r0, =0x40000000
    ldr r1, [r0, #4]
    str r1, [r0, #8]
    wfi
    .ltorg
""", {})
    uc = _engine_with(code.image())
    refused = []
    uc.hook_add(UC_HOOK_MEM_WRITE_PROT, lambda _uc, _access, address, _size, _value, _data:
                refused.append(address) and False)
    uc.mmio_map(0x40000000, 0x1000, lambda _uc, offset, _size, _data: 0x77 + offset, None, None, None)
    entry = int.from_bytes(bytes(uc.mem_read(4, 4)), "little")
    with pytest.raises(UcError) as error:
        uc.emu_start(entry | 1, 0xFFFFFF00, 0, 0)
    assert error.value.errno == UC_ERR_WRITE_PROT and refused == [0x40000008]
    assert uc.reg_read(A.UC_ARM_REG_R1) == 0x7B


def test_ram_reached_on_the_slow_path_is_seen_as_it_is_now_mapped():
    """Two RAM pages 16 MiB apart share a TLB entry, so each load of the loop misses and goes
    through the slow path, which takes the page's mapping from the entry (mmio-direct-call):
    after the second page is unmapped the same load is an unmapped read, and after it is mapped
    again it reads the new page."""
    code = program("""
reset:
    ldr r1, =0x20000000
    ldr r2, =0x21000000
    movs r0, #0
    movs r3, #8
loop:
    ldr r4, [r1]
    ldr r5, [r2]
    adds r0, r0, r5
    subs r3, #1
    bne loop
    wfi
    .ltorg
""", {})
    uc = _engine_with(code.image())
    uc.mem_map(0x21000000, 0x1000, UC_PROT_READ | UC_PROT_WRITE)
    uc.mem_write(0x21000000, (3).to_bytes(4, "little"))
    unmapped = []
    uc.hook_add(UC_HOOK_MEM_READ_UNMAPPED, lambda *args: unmapped.append(args[2]) and False)
    entry = int.from_bytes(bytes(uc.mem_read(4, 4)), "little")
    uc.emu_start(entry | 1, code["loop"] + 12, 0, 0)
    assert uc.reg_read(A.UC_ARM_REG_R0) == 24 and not unmapped
    uc.mem_unmap(0x21000000, 0x1000)
    with pytest.raises(UcError) as error:
        uc.emu_start(entry | 1, code["loop"] + 12, 0, 0)
    assert error.value.errno == UC_ERR_READ_UNMAPPED and unmapped == [0x21000000]
    uc.mem_map(0x21000000, 0x1000, UC_PROT_READ | UC_PROT_WRITE)
    uc.mem_write(0x21000000, (5).to_bytes(4, "little"))
    uc.emu_start(entry | 1, code["loop"] + 12, 0, 0)
    assert uc.reg_read(A.UC_ARM_REG_R0) == 40

