"""Native reads of the SCS's plain registers against the Python path, after random writes.

AIRCR, the NVIC priority bytes (IPR), SHPR1-3 and the enabled set (ISER/ICER) are
answered by ``native/scsread.c`` from values the SCS model publishes whenever the
exception state they show changes. A core with its SCS goes through a random
program of every kind of change of that state: guest writes of every register
that changes it at every size (IPR, SHPR, AIRCR with and without VECTKEY,
ISER/ICER, SHCSR), the exception state's own calls, its reset and the SCS's, and
a snapshot restore's assignments. After each step every read C answers
(``ScsReadPort.peek``, what the firmware's read gets), at every size and offset,
must equal the model's ``read``; unaligned and disallowed sizes must reach Python.
A board test does the same around the RPC's snapshot restore and a debugger's
writes through the memory map.
"""

from __future__ import annotations

import random

import pytest
from test_scs_fast_reads import Core

from emulator.cpu.nvic import IRQ0, MEMMANAGE, PENDSV, SVCALL, SYSTICK, ExceptionState
from emulator.cpu.scs import PLAIN_REGS

NUM_IRQ = 8
STEPS = 250
AIRCR, SHCSR = 0xD0C, 0xD24
IPR_ALL = range(0x400, 0x5F0, 4)
WRITABLE = [*range(0x400, 0x400 + NUM_IRQ + 4, 4), 0x5EC, 0xD18, 0xD1C, 0xD20, 0x100, 0x104, 0x13C,
            0x180, 0x184, 0x1BC, AIRCR, AIRCR, AIRCR, AIRCR]


def served(c: Core) -> int:
    """Compare every plain register read at every size; the number of reads C answered."""
    port, scs = c.scs.native_reads, c.scs
    count = 0
    for reg in PLAIN_REGS:
        for size in (1, 2, 4):
            for offset in range(reg.offset, reg.offset + 4):
                fast = port.peek(offset, size)
                if offset % size or size not in reg.sizes:
                    assert fast is None, f"{size}-byte read of 0x{offset:03X} answered in C"
                    continue
                assert fast is not None, f"{size}-byte read of 0x{offset:03X} not answered in C"
                slow = scs.read(offset, size)
                assert fast == slow, f"{size}-byte read of 0x{offset:03X}: C 0x{fast:X}, Python 0x{slow:X}"
                count += 1
    return count


def snapshot(exc: ExceptionState) -> dict:
    return {"priority": list(exc.priority), "enabled": exc.enabled, "pending": exc.pending,
            "active": exc.active, "prigroup": exc.prigroup, "irq_level": exc.irq_level}


def restore(exc: ExceptionState, e: dict) -> None:
    """What bridge.rpc_snapshot.restore_board assigns."""
    exc.priority = list(e["priority"])
    exc.enabled, exc.pending, exc.active = e["enabled"], e["pending"], e["active"]
    exc.prigroup, exc.irq_level = e["prigroup"], e["irq_level"]


def step(c: Core, rng: random.Random, saved: list[dict]) -> None:
    scs, exc = c.scs, c.exc
    kind = rng.randrange(10)
    if kind < 4:
        offset = rng.choice(WRITABLE)
        size = rng.choice((1, 2, 4)) if 0x400 <= offset < 0x5F0 or offset >= 0xD18 else 4
        if offset == AIRCR:
            size = rng.choice((2, 4, 4))
        offset += rng.randrange(0, 4, size)
        value = rng.randrange(1 << (8 * size))
        if offset == AIRCR and rng.random() < 0.7:
            value = (0x05FA << 16) | (value & 0x700)
        scs.write(offset, size, value)
    elif kind == 4:
        scs.write(SHCSR, 4, rng.randrange(1 << 19) & 0x70000)
    elif kind == 5:
        exc.set_priority(rng.choice((MEMMANAGE, SVCALL, PENDSV, SYSTICK, *range(IRQ0, IRQ0 + NUM_IRQ))),
                         rng.randrange(256))
    elif kind == 6:
        exc.set_enabled(IRQ0 + rng.randrange(NUM_IRQ), rng.random() < 0.6)
    elif kind == 7:
        if rng.random() < 0.5:
            exc.reset()
        else:
            scs.reset()
    elif kind == 8:
        saved.append(snapshot(exc))
    elif saved:
        restore(exc, rng.choice(saved))


@pytest.mark.parametrize("seed", range(4))
def test_native_plain_reads_match_python(seed):
    rng = random.Random(seed)
    c = Core()
    saved: list[dict] = []
    total = served(c)
    priorities, prigroups = set(), set()
    for _ in range(STEPS):
        step(c, rng, saved)
        total += served(c)
        priorities.update(c.exc.priority[IRQ0:])
        prigroups.add(c.exc.prigroup)
    assert total > 50_000 and len(priorities) > 20 and len(prigroups) > 4


def test_traced_scs_reads_plain_registers_through_python():
    c = Core()
    c.scs.trace = True
    c.scs.native_register_window()
    assert c.scs.native_reads.peek(AIRCR, 4) is None
    assert c.scs.native_reads.peek(0x400, 1) is None


def test_priorities_past_num_irq_read_zero_in_c():
    c = Core()
    for offset in IPR_ALL:
        c.scs.write(offset, 4, 0xFFFFFFFF)
    port = c.scs.native_reads
    assert port.peek(0x404, 4) == 0xFFFFFFFF  # IRQs 4..7
    assert port.peek(0x408, 4) == port.peek(0x5EC, 1) == 0 == c.scs.read(0x408, 4)


def test_snapshot_restore_and_debugger_writes(board):
    """Around the RPC's snapshot restore and writes through the memory map between slices (a
    debugger's), C answers what the model does."""
    from bridge.rpc_snapshot import restore_board, save_board

    b = board("""
reset:
    IRQ_PRIO 3, 0x40
    IRQ_ENABLE 3
    ldr r0, =0xE000ED0C
    ldr r1, =0x05FA0300
    str r1, [r0]
    EXIT
""")
    b.run()
    m = b.m
    base, port = m.scs.mmio_base, m.scs.native_reads

    def check() -> None:
        for reg in PLAIN_REGS:
            for size in reg.sizes:
                for offset in range(reg.offset, reg.offset + 4, size):
                    mapped = int.from_bytes(m.cpu.uc.mem_read(base + offset, size), "little")
                    assert port.peek(offset, size) == mapped == m.scs.read(offset, size), hex(offset)

    assert port.peek(0x403, 1) == 0x40 and port.peek(AIRCR, 4) == 0xFA050300
    check()
    snap = save_board("b", m)
    m.cpu.uc.mem_write(base + 0x403, b"\x80")
    m.cpu.uc.mem_write(base + 0x180, (8).to_bytes(4, "little"))
    m.cpu.uc.mem_write(base + AIRCR, (0x05FA0500).to_bytes(4, "little"))
    assert port.peek(0x403, 1) == 0x80 and port.peek(0x100, 4) == 0 and port.peek(AIRCR, 4) == 0xFA050500
    check()
    restore_board(snap, m, None)
    assert port.peek(0x403, 1) == 0x40 and port.peek(0x100, 4) == 8 and port.peek(AIRCR, 4) == 0xFA050300
    check()

# FreeRTOS's vPortValidateInterruptPriority in every interrupt-safe API call: read the running
# interrupt's priority byte and AIRCR.PRIGROUP and check them against what was set. Here in
# thread mode, over IRQ 9's byte (0xE000E409), r7 times; r6 counts mismatches.
VALIDATE_LOOP = """
reset:
    IRQ_PRIO 9, 0xA0
    ldr r0, =0xE000ED0C
    ldr r1, =0x05FA0300
    str r1, [r0]
    ldr r2, =0xE000E409
    ldr r3, =0xFA050300
    ldr r7, =LOOPS
    movs r6, #0
loop:
    ldrb r4, [r2]
    cmp r4, #0xA0
    it ne
    addne r6, r6, #1
    ldr r5, [r0]
    cmp r5, r3
    it ne
    addne r6, r6, #1
    subs r7, r7, #1
    bne loop
    RESULT 0, r6
    EXIT
"""


def test_validate_interrupt_priority_loop_reads_in_c(board):
    loops = 2000
    b = board(VALIDATE_LOOP.replace("LOOPS", str(loops)))
    port = b.m.scs.native_reads
    before = port.fast_reads
    b.run(200_000)
    assert b.result(0) == 0
    assert port.fast_reads - before == 2 * loops
