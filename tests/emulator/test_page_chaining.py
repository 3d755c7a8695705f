"""Direct jumps chained across 1 KiB pages (``scripts/build_unicorn``, change
cross-page-chaining; ``emulator.cpu.mputlb``) while the MPU is off, and within a page while it
is on; with them, indirect branches that find their block in the jump cache inline (change
inline-jmp-cache).

The twin: firmware (CPU-bound code over many pages, threads, MPU set-ups that turn the MPU on and
off) and the echo-pair simulation run with chaining across pages and with the library's
same-page rule only (``cross_page_chaining`` gives nothing, as for a library without it): the
same instruction counts, virtual times, transcripts and final registers.

The MPU: a loop takes a direct branch to another page until the chain is made; then the MPU is
enabled with that page execute-never, or enabled with it executable and made execute-never by a
region write later (a jump translated before the MPU was enabled must not come back chained):
the branch must be a MemManage IACCVIOL at its target each time, a direct one and an indirect
one.

Indirect branches in privileged and unprivileged thread mode and in handler mode, then one that
clears the Thumb bit to the address of a block translated in Thumb state: it must fault there,
with the inline lookup as with the helper's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.board.loader import load_image
from emulator.board.machine import Machine
from emulator.board.platform import load_platform
from emulator.board.simulation import load_simulation
from emulator.cpu import mputlb
from emulator.cpu.cortexm import CORE_REGS

ROOT = Path(__file__).resolve().parents[2]


def _without_chaining_across_pages(monkeypatch) -> None:
    """From now on machines chain within a page only, as with a library without uc_vb_chain_pages."""
    monkeypatch.setattr(mputlb, "cross_page_chaining", lambda uc: None)


def _firmware_run(elf: Path, seconds: float) -> tuple:
    m = Machine(load_platform("mps2-an385"))
    out = bytearray()
    m.port("uart0").connect(out.extend)
    m.load(load_image(elf))
    stop = m.run(m.clock.cycles(seconds))
    return ((stop.kind, stop.exit_code), m.instructions, m.clock.now, bytes(out),
            tuple(m.cpu.rr(r) for r in CORE_REGS), m.cpu.mputlb.active), m.cpu.mputlb.chain_pages


FIRMWARE = [("cpubench", 2.0), ("preempt", 2.0), ("mpu_regions", 2.0), ("mpu_mbed", 2.0),
            ("mpu_small_regions", 2.0)]


@pytest.mark.parametrize(("name", "seconds"), FIRMWARE)
def test_firmware_runs_the_same_with_chaining_across_pages(firmware, monkeypatch, name, seconds):
    chained, turn = _firmware_run(firmware / f"{name}.elf", seconds)
    assert turn is not None, "the Unicorn library has no uc_vb_chain_pages (run scripts/setup)"
    _without_chaining_across_pages(monkeypatch)
    within, none = _firmware_run(firmware / f"{name}.elf", seconds)
    assert none is None
    assert chained == within
    assert chained[0][0] in ("exit", "time") and chained[1] > 100_000


def test_echo_pair_ends_the_same_with_chaining_across_pages(firmware, monkeypatch):
    def run() -> tuple:
        sim = load_simulation(ROOT / "platforms/simulations/echo-pair.yaml")
        outs = {b.name: bytearray() for b in sim.boards}
        for b in sim.boards:
            b.machine.port("uart0").connect(outs[b.name].extend)
        while sim.board("client").stop is None and sim.now_ns < 60e9:
            sim.run(10_000_000)
        ends = [(b.name, b.stop, b.machine.instructions, b.machine.clock.now, bytes(outs[b.name]),
                 tuple(b.machine.cpu.rr(r) for r in CORE_REGS)) for b in sim.boards]
        return ends, sim.now_ns, [b.machine.cpu.mputlb.chain_pages is not None for b in sim.boards]

    chained, chained_ns, on = run()
    assert all(on), "the Unicorn library has no uc_vb_chain_pages (run scripts/setup)"
    _without_chaining_across_pages(monkeypatch)
    within, within_ns, off = run()
    assert not any(off)
    assert chained_ns == within_ns
    assert chained == within
    client = next(stop for name, stop, *_ in chained if name == "client")
    assert client.kind == "exit" and client.exit_code == 0


def _rasr(size_log2: int, ap: int, xn: bool = False) -> int:
    return (int(xn) << 28) | (ap << 24) | ((size_log2 - 1) << 1) | 1


IACCVIOL = 1 << 0
PASSES = 9


def _branch_loop(enable_at: int, xn_at: int, branch: str = "b far") -> str:
    """Pass n (0..8) writes region 1's RASR (the page of `far`, execute-never from pass
    ``xn_at``) and MPU_CTRL (ENABLE from pass ``enable_at``), then ``branch`` (`b far` or `blx`
    to it) to another page, which comes back. The MemManage handler records CFSR and the
    stacked PC and turns the MPU off."""
    return f"""
    .equ MPU_CTRL, 0xE000ED94
    .equ MPU_RBAR, 0xE000ED9C
    .equ MPU_RASR, 0xE000EDA0
reset:
    STORE32 SHCSR, 1 << 16          @ MEMFAULTENA
    STORE32 MPU_RBAR, 0x10          @ region 0: everything, full access
    STORE32 MPU_RASR, {_rasr(32, 3):#x}
    ldr r0, =MPU_RBAR
    ldr r1, =far
    orrs r1, r1, #0x11              @ region 1 (RNR stays 1): the page of `far`
    str r1, [r0]
    movs r5, #0                     @ pass
    movs r7, #0                     @ times `far` ran
loop:
    movs r6, #0
    cmp r5, #{enable_at}
    blt 1f
    movs r6, #1
1:  ldr r8, ={_rasr(10, 3):#x}
    cmp r5, #{xn_at}
    blt 2f
    ldr r8, ={_rasr(10, 3, xn=True):#x}
2:  ldr r0, =MPU_RASR
    str r8, [r0]
    ldr r0, =MPU_CTRL
    str r6, [r0]
    dsb
    isb
    {branch}
back:
    adds r5, #1
    cmp r5, #{PASSES}
    bne loop
    RESULT 2, r7
    EXIT
memmanage:
    ldr r1, =CFSR
    ldr r2, [r1]
    RESULT 0, r2
    str r2, [r1]
    mrs r0, msp
    ldr r0, [r0, #24]
    RESULT 1, r0
    RESULT 3, r5
    STORE32 MPU_CTRL, 0
    dsb
    isb
    bx lr
    .ltorg
    .balign 1024
far:
    adds r7, #1
    b back
    .balign 1024
"""


@pytest.mark.parametrize("branch", ["b far", "ldr r2, =far + 1\n    blx r2"], ids=["direct", "indirect"])
@pytest.mark.parametrize(("enable_at", "xn_at"), [(PASSES - 1, 0), (4, PASSES - 1)],
                         ids=["enabled-with-the-page-execute-never", "page-made-execute-never-later"])
def test_a_jump_chained_before_the_mpu_was_enabled_is_checked(board, enable_at, xn_at, branch):
    """The direct branch chains across pages, the indirect one finds its block inline (change
    inline-jmp-cache), while the MPU is off: neither may skip the execute check once it is on."""
    b = board(_branch_loop(enable_at, xn_at, branch), {"MemManage": "memmanage"})
    assert b.m.cpu.mputlb.chain_pages is not None, "no uc_vb_chain_pages (run scripts/setup)"
    assert (b["back"] - 2) // 1024 != b["far"] // 1024, "the branch jumps to another page"
    b.run()
    cfsr, pc, ran, at_pass = b.results(4)
    assert cfsr == IACCVIOL, f"no IACCVIOL at the execute-never page (CFSR {cfsr:#x}, far ran {ran} times)"
    assert pc == b["far"]
    assert at_pass == PASSES - 1
    assert ran == PASSES, "far ran again once the handler turned the MPU off"
    assert not b.m.cpu.mputlb.active


INVSTATE = 1 << 17
UNDEFINSTR = 1 << 16  # what the core reports today for code run with the Thumb bit clear
CALLS = 4


def _indirect_branches() -> str:
    """`target` is called with BLX, returned from with BX LR and POP {PC}, in privileged thread
    mode, in the SVCall handler and in unprivileged thread mode; then `bx` to its address with
    bit 0 clear must be a UsageFault at `target`, though a block of that address (translated
    in Thumb state) is in the jump cache."""
    return f"""
reset:
    STORE32 SHCSR, 1 << 18          @ USGFAULTENA
    ldr r4, =target
    adds r5, r4, #1                 @ the Thumb bit
    movs r6, #0                     @ calls of target
    movs r7, #0                     @ calls of via_pop
    bl calls
    svc #0                          @ the same calls in handler mode
    movs r0, #1                     @ nPRIV: unprivileged thread mode
    msr control, r0
    isb
    bl calls
    RESULT 0, r6
    RESULT 1, r7
    bx r4                           @ bit 0 clear: a UsageFault at target
calls:
    push {{lr}}
    movs r3, #{CALLS}
1:  blx r5
    bl via_pop
    subs r3, #1
    bne 1b
    pop {{pc}}
via_pop:
    push {{r4, lr}}
    adds r7, #1
    pop {{r4, pc}}
svc_handler:
    push {{lr}}
    bl calls
    pop {{pc}}
target:
    adds r6, #1
    bx lr
usagefault:
    ldr r1, =CFSR
    ldr r2, [r1]
    RESULT 2, r2
    mrs r0, msp
    ldr r0, [r0, #24]
    RESULT 3, r0
    RESULT 4, r6
    EXIT
"""


def test_indirect_branches_find_the_block_of_the_state_they_leave_in(board, monkeypatch):
    """The inline jump cache lookup of an indirect branch (change inline-jmp-cache, on with
    chaining across pages) runs a block only for the flags it was translated with: the same
    results, instruction count and registers with it and with the helper's lookup only."""
    def run() -> tuple:
        b = board(_indirect_branches(), {"SVCall": "svc_handler", "UsageFault": "usagefault"})
        chaining = b.m.cpu.mputlb.chain_pages is not None
        stop = b.run(expect=None)
        return (stop.kind, b.results(5), b.m.instructions, tuple(b.m.cpu.rr(r) for r in CORE_REGS)), \
            chaining, b

    inline, on, b = run()
    assert on, "no uc_vb_chain_pages (run scripts/setup)"
    kind, (target_calls, pop_calls, cfsr, fault_pc, calls_at_fault), *_ = inline
    assert kind == "exit", "no UsageFault: `target` ran on after `bx` cleared the Thumb bit"
    assert target_calls == pop_calls == 3 * CALLS
    assert cfsr in (INVSTATE, UNDEFINSTR), f"no UsageFault (CFSR {cfsr:#x})"
    assert (fault_pc, calls_at_fault) == (b["target"], 3 * CALLS), \
        "a Thumb block ran after `bx` cleared the Thumb bit"
    _without_chaining_across_pages(monkeypatch)
    helper, off, _ = run()
    assert not off
    assert inline == helper
