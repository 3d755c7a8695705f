"""The PMSAv7 MPU: registers (through the SCS), the access decision, and enforcement on the core.

ARMv7-M ARM (DDI0403E) B3.5. Register tests drive ``m.scs`` directly; the
enforcement tests run small programs that program the MPU, make a violating
access and record CFSR, MMFAR and the stacked PC from their MemManage or
HardFault handler, which then turns the MPU off and returns, so the access
runs again and the program ends normally.
"""

from __future__ import annotations

import pytest

from emulator.cpu.mpu import ALL, Mpu, R, W, X, default_permissions

TYPE, CTRL, RNR, RBAR, RASR = 0xD90, 0xD94, 0xD98, 0xD9C, 0xDA0
ALIASES = [(0xDA4, 0xDA8), (0xDAC, 0xDB0), (0xDB4, 0xDB8)]

DACCVIOL, IACCVIOL, MMARVALID = 1 << 1, 1 << 0, 1 << 7
FORCED = 1 << 30


def rasr(size_log2: int, ap: int, xn: bool = False, srd: int = 0, enable: bool = True) -> int:
    return (int(xn) << 28) | (ap << 24) | (srd << 8) | ((size_log2 - 1) << 1) | int(enable)


@pytest.fixture
def m(board):
    return board("""
reset:
    b reset
""").m


def r(m, off):
    return m.scs.read(off, 4)


def w(m, off, value):
    m.scs.write(off, 4, value)


# ------------------------------------------------------------------ registers
def test_type_reports_8_unified_regions(m):
    assert r(m, TYPE) == 0x00000800
    w(m, TYPE, 0)
    assert r(m, TYPE) == 0x00000800


def test_ctrl_keeps_its_three_bits(m):
    assert r(m, CTRL) == 0
    w(m, CTRL, 0xFFFFFFFF)
    assert r(m, CTRL) == 7
    w(m, CTRL, 0)
    assert r(m, CTRL) == 0


def test_rnr_selects_the_region_of_rbar_and_rasr(m):
    for n in range(8):
        w(m, RNR, n)
        w(m, RBAR, 0x20000000 + 0x1000 * n)
        w(m, RASR, rasr(12, 3))
    for n in range(8):
        w(m, RNR, n)
        assert r(m, RNR) == n
        assert r(m, RBAR) == 0x20000000 + 0x1000 * n | n, "RBAR reads ADDR and the REGION number"
        assert r(m, RASR) == rasr(12, 3)
    w(m, RNR, 9)  # no such region: ignored
    assert r(m, RNR) == 7


def test_rbar_valid_writes_the_region_number_to_rnr(m):
    w(m, RNR, 0)
    w(m, RBAR, 0x20004000 | 0x10 | 5)
    assert r(m, RNR) == 5
    assert r(m, RBAR) == 0x20004005
    w(m, RNR, 0)
    assert r(m, RBAR) == 0, "region 0 untouched"
    w(m, RBAR, 0x20008000 | 0x10 | 12)  # VALID with a region past 7: ignored
    assert r(m, RNR) == 0 and r(m, RBAR) == 0
    w(m, RBAR, 0x2000801F & ~0x10)  # without VALID: the region in RNR; low bits dropped
    assert r(m, RBAR) == 0x20008000


def test_rasr_keeps_the_architected_fields(m):
    w(m, RASR, 0xFFFFFFFF)
    assert r(m, RASR) == 0x173FFF3F


@pytest.mark.parametrize("rbar_alias, rasr_alias", ALIASES)
def test_alias_registers_reach_the_region_in_rnr(m, rbar_alias, rasr_alias):
    w(m, rbar_alias, 0x00010000 | 0x10 | 3)
    w(m, rasr_alias, rasr(16, 6))
    w(m, RNR, 3)
    assert r(m, RBAR) == 0x00010003 == r(m, rbar_alias)
    assert r(m, RASR) == rasr(16, 6) == r(m, rasr_alias)


def test_mpu_registers_reset(m):
    w(m, RBAR, 0x20000000 | 0x10 | 2)
    w(m, RASR, rasr(12, 3))
    w(m, CTRL, 5)
    m.reset()
    assert (r(m, CTRL), r(m, RNR), r(m, RBAR), r(m, RASR)) == (0, 0, 0, 0)
    assert not m.cpu.mputlb.active


# ------------------------------------------------------------------ decision
def _mpu(*regions: tuple[int, int, int], ctrl: int = 1) -> Mpu:
    mpu = Mpu()
    for n, (base, value) in enumerate(regions):
        mpu.write(RNR, n)
        mpu.write(RBAR, base)
        mpu.write(RASR, value)
    mpu.write(CTRL, ctrl)
    return mpu


@pytest.mark.parametrize("ap, priv, user", [
    (0, 0, 0), (1, R | W, 0), (2, R | W, R), (3, R | W, R | W), (4, 0, 0), (5, R, 0), (6, R, R), (7, R, R)])
def test_access_permissions_by_ap(ap, priv, user):
    mpu = _mpu((0x20000000, rasr(12, ap)))
    expect_priv = priv | X if priv else 0
    expect_user = user | X if user else 0
    assert mpu.permissions(0x20000800, privileged=True) == expect_priv
    assert mpu.permissions(0x20000800, privileged=False) == expect_user


def test_xn_removes_execute_only():
    mpu = _mpu((0x20000000, rasr(12, 3, xn=True)))
    assert mpu.permissions(0x20000000, True) == R | W


def test_higher_region_number_wins_and_subregions_fall_through():
    # Region 0: 64 KiB read-only; region 1: 8 KiB full access with subregions 1 and 7 disabled.
    mpu = _mpu((0x20000000, rasr(16, 6)), (0x20000000, rasr(13, 3, srd=0x82)))
    assert mpu.permissions(0x20000000, True) == ALL           # region 1, subregion 0
    assert mpu.permissions(0x20000400, True) == R | X         # subregion 1 disabled -> region 0
    assert mpu.permissions(0x20000800, True) == ALL           # subregion 2
    assert mpu.permissions(0x20001C00, True) == R | X         # subregion 7 disabled
    assert mpu.permissions(0x20002000, True) == R | X         # past region 1
    assert mpu.permissions(0x20010000, True) == 0             # past both, no PRIVDEFENA


def test_background_region_is_privileged_only():
    mpu = _mpu((0x20000000, rasr(12, 3)), ctrl=1 | 4)
    assert mpu.permissions(0x00001000, True) == ALL
    assert mpu.permissions(0x40004000, True) == R | W, "peripheral space is XN in the default map"
    assert mpu.permissions(0x00001000, False) == 0


def test_ppb_is_always_accessible_and_system_space_never_executes():
    mpu = _mpu((0x00000000, rasr(32, 3)))
    assert mpu.permissions(0xE000ED00, False) == R | W
    assert mpu.permissions(0xF0000000, True) == R | W
    assert mpu.permissions(0x10000000, True) == ALL


def test_unaligned_or_tiny_regions_match_nothing():
    mpu = _mpu((0x20000400, rasr(12, 3)), (0x20000000, (3 << 24) | (3 << 1) | 1))  # 16 bytes: too small
    assert mpu.permissions(0x20000400, True) == 0
    assert mpu.permissions(0x20000000, True) == 0


def test_disabled_mpu_and_negative_priority_use_the_default_map():
    mpu = _mpu((0x20000000, rasr(12, 0)))
    assert mpu.permissions(0x20000000, True) == 0
    assert mpu.permissions(0x20000000, True, negative_priority=True) == ALL, "HFNMIENA clear"
    mpu.write(CTRL, 1 | 2)
    assert mpu.permissions(0x20000000, True, negative_priority=True) == 0, "HFNMIENA set"
    mpu.write(CTRL, 0)
    assert mpu.permissions(0x20000000, False) == ALL
    assert default_permissions(0xA0000000) == R | W


def test_a_page_split_by_a_region_boundary_gets_the_union():
    mpu = _mpu((0x20000000, rasr(12, 3)), (0x20000100, rasr(6, 0)))  # 64-byte no-access hole
    assert mpu.permissions(0x20000100, True) == 0
    assert mpu.page_permissions(0x20000000, 1024, True, False) == ALL
    assert mpu.page_permissions(0x20000400, 1024, True, False) == ALL


def test_split_gives_what_some_byte_and_what_every_byte_allows():
    # A 1 KiB privileged-only page with a 32-byte read-only and a 32-byte full-access region.
    mpu = _mpu((0x20000000, rasr(10, 1)), (0x20000000, rasr(5, 3)), (0x20000020, rasr(5, 2)))
    assert mpu.split(0x20000000, 1024, False, False) == (ALL, 0)
    assert mpu.split(0x20000000, 4, False, False) == (ALL, ALL)
    assert mpu.split(0x2000001C, 8, False, False) == (ALL, R | X), "straddles the two regions"
    assert mpu.split(0x20000020, 32, False, False) == (R | X, R | X)
    assert mpu.split(0x20000000, 1024, True, False) == (ALL, ALL)


# ------------------------------------------------------------------ enforcement
MPU_MACROS = r"""
    .equ MPU_CTRL, 0xE000ED94
    .equ MPU_RBAR, 0xE000ED9C
    .equ MPU_RASR, 0xE000EDA0
    .equ MMFAR, 0xE000ED34
    .macro MPU_REGION n, base, rasr
    STORE32 MPU_RBAR, (\base) + 0x10 + \n
    STORE32 MPU_RASR, \rasr
    .endm
"""

# A fault handler: CFSR, MMFAR, HFSR and the stacked PC into results 0..3, the MPU off,
# CFSR cleared, back to the faulting instruction.
RECORD_AND_DISABLE = """
    ldr r1, =CFSR
    ldr r2, [r1]
    RESULT 0, r2
    str r2, [r1]
    ldr r1, =MMFAR
    ldr r2, [r1]
    RESULT 1, r2
    ldr r1, =HFSR
    ldr r2, [r1]
    RESULT 2, r2
    str r2, [r1]
    mrs r0, msp
    ldr r0, [r0, #24]
    RESULT 3, r0
    STORE32 MPU_CTRL, 0
    dsb
    isb
    bx lr
"""

FULL = rasr(32, 3)
BACK_TO_PRIVILEGED = """
    movs r0, #0
    msr control, r0
    bx lr
"""


def _run(board, body: str, handlers: dict[str, str], extra: str = "") -> object:
    vectors = {name: name.lower() for name in handlers}
    text = MPU_MACROS + "reset:\n" + body + "\n    EXIT\n" + "".join(
        f"{name.lower()}:\n{code}" for name, code in handlers.items()) + extra
    b = board(text, vectors)
    b.run()
    return b


def test_store_to_read_only_region_is_a_memmanage_with_mmfar(board):
    b = _run(board, f"""
    STORE32 SHCSR, 1 << 16          @ MEMFAULTENA
    MPU_REGION 0, 0, {FULL:#x}
    MPU_REGION 1, 0x20004000, {rasr(12, 6):#x}
    STORE32 MPU_CTRL, 1
    dsb
    isb
    ldr r4, =0x20004010
    ldr r5, [r4]                    @ reading is allowed
    movs r5, #0x5A
store:
    str r5, [r4]
    ldr r6, [r4]
    RESULT 4, r6
    """, {"MemManage": RECORD_AND_DISABLE})
    cfsr, mmfar, hfsr, pc, value = b.results(5)
    assert cfsr == DACCVIOL | MMARVALID, hex(cfsr)
    assert mmfar == 0x20004010
    assert hfsr == 0
    assert pc == b["store"], "the stacked PC is the faulting store"
    assert value == 0x5A, "the store ran again once the handler turned the MPU off"
    assert not b.m.cpu.mputlb.active


def test_execution_from_an_xn_region_is_an_iaccviol(board):
    b = _run(board, f"""
    STORE32 SHCSR, 1 << 16
    MPU_REGION 0, 0, {FULL:#x}
    MPU_REGION 1, xn_code, {rasr(10, 3, xn=True):#x}
    STORE32 MPU_CTRL, 1
    dsb
    isb
    bl xn_code
    RESULT 4, r7
    """, {"MemManage": RECORD_AND_DISABLE}, extra="""
    .ltorg
    .balign 1024
xn_code:
    movs r7, #0x33
    bx lr
    .balign 1024
""")
    cfsr, mmfar, hfsr, pc, r7 = b.results(5)
    assert cfsr == IACCVIOL, hex(cfsr)
    assert hfsr == 0
    assert pc == b["xn_code"]
    assert r7 == 0x33, "the function ran once the MPU was off"
    del mmfar  # not valid for IACCVIOL


def test_unprivileged_access_to_a_privileged_region_faults(board):
    b = _run(board, f"""
    STORE32 SHCSR, 1 << 16
    MPU_REGION 0, 0, {FULL:#x}
    MPU_REGION 1, 0x20008000, {rasr(12, 1):#x}    @ privileged RW, unprivileged none
    STORE32 MPU_CTRL, 1
    ldr r4, =0x20008004
    ldr r5, [r4]                    @ privileged: allowed
    movs r0, #1
    msr control, r0                 @ nPRIV
    isb
user_load:
    ldr r5, [r4]
    mrs r0, control
    RESULT 4, r0
    """, {"MemManage": RECORD_AND_DISABLE.replace("    bx lr", BACK_TO_PRIVILEGED)})
    cfsr, mmfar, _hfsr, pc, control = b.results(5)
    assert cfsr == DACCVIOL | MMARVALID, hex(cfsr)
    assert mmfar == 0x20008004
    assert pc == b["user_load"]
    assert control == 0


def test_without_memfaultena_the_violation_escalates_to_hardfault(board):
    b = _run(board, f"""
    MPU_REGION 0, 0, {FULL:#x}
    MPU_REGION 1, 0x20004000, {rasr(12, 5):#x}
    STORE32 MPU_CTRL, 1
    ldr r4, =0x20004000
store:
    str r4, [r4]
    """, {"HardFault": RECORD_AND_DISABLE})
    cfsr, mmfar, hfsr, pc = b.results(4)
    assert cfsr == DACCVIOL | MMARVALID and mmfar == 0x20004000
    assert hfsr == FORCED
    assert pc == b["store"]


def test_mbed_style_setup_runs(board):
    """Mbed OS's ARMv7-M MPU setup: code region RX, RAM regions RW XN, PRIVDEFENA; the program
    keeps running (stores to RAM, code from flash, devices through the background region)."""
    b = _run(board, f"""
    MPU_REGION 0, 0x00000000, {rasr(29, 3):#x}
    MPU_REGION 1, 0x20000000, {rasr(29, 3, xn=True):#x}
    MPU_REGION 2, 0x60000000, {rasr(29, 3, xn=True):#x}
    MPU_REGION 3, 0x80000000, {rasr(29, 3, xn=True):#x}
    STORE32 MPU_CTRL, 5             @ ENABLE | PRIVDEFENA
    dsb
    isb
    ldr r0, =0xE000ED90
    ldr r1, [r0]
    RESULT 0, r1
    movs r4, #0
    ldr r5, =0x20000100
loop:
    str r4, [r5, r4, lsl #2]
    adds r4, #1
    cmp r4, #64
    bne loop
    ldr r1, [r5, #252]
    RESULT 1, r1
    """, {})
    assert b.results(2) == [0x800, 63]
    assert b.m.cpu.mputlb.active
    assert not b.m.cpu.mputlb.check_frames, "all RAM is read-write: no frame checks on entry/return"


RECORD_AND_EXIT = """
    ldr r1, =CFSR
    ldr r2, [r1]
    RESULT 0, r2
    ldr r1, =HFSR
    ldr r2, [r1]
    RESULT 1, r2
    mrs r0, ipsr
    RESULT 2, r0
    EXIT
"""


SHCSR_TO_RESULT_3 = """
    ldr r1, =SHCSR
    ldr r2, [r1]
    RESULT 3, r2
"""


def test_stacking_refused_by_the_mpu_is_mstkerr(board):
    """SVC from thread mode on a PSP the MPU makes read-only: nothing is stacked, SVCall becomes
    active and MemManage (MSTKERR, no MMFAR), a derived exception of higher priority, preempts
    it before its first instruction."""
    b = _run(board, f"""
    STORE32 SHCSR, 1 << 16
    STORE32 SHPR2, 0x80 << 24       @ SVCall below MemManage
    MPU_REGION 0, 0, {FULL:#x}
    MPU_REGION 1, 0x20008000, {rasr(12, 6):#x}   @ the process stack page: read-only
    STORE32 MPU_CTRL, 1
    ldr r0, =0x20008800
    msr psp, r0
    movs r0, #2
    msr control, r0                 @ thread mode on PSP, privileged
    isb
    svc #0
    """, {"SVCall": "    LOG 1\n    b .\n", "MemManage": "    LOG 2\n" + SHCSR_TO_RESULT_3 + RECORD_AND_EXIT})
    cfsr, hfsr, ipsr, shcsr = b.results(4)
    assert cfsr == 1 << 4, hex(cfsr)  # MSTKERR only
    assert hfsr == 0 and ipsr == 4
    assert shcsr & 0x81 == 0x81, "SVCall and MemManage active"
    assert b.log() == bytes([2])
    assert b.m.cpu.read_words(0x20008800 - 32, 8) == [0] * 8, "no frame was written"


def test_unstacking_refused_by_the_mpu_is_munstkerr(board):
    b = _run(board, f"""
    STORE32 SHCSR, 1 << 16
    MPU_REGION 0, 0, {FULL:#x}
    STORE32 MPU_CTRL, 1
    ldr r0, =0x20008800
    msr psp, r0
    movs r0, #2
    msr control, r0
    isb
    svc #0
    """, {"SVCall": f"""
    MPU_REGION 1, 0x20008000, {rasr(12, 0):#x}   @ the process stack page: no access
    dsb
    isb
    bx lr
""", "MemManage": RECORD_AND_EXIT})
    cfsr, hfsr, ipsr = b.results(3)
    assert cfsr == 1 << 3, hex(cfsr)  # MUNSTKERR only
    assert hfsr == 0 and ipsr == 4


def test_mpu_state_goes_into_the_scs_snapshot(board):
    src = board("reset:\n    b reset\n").m
    w(src, RBAR, 0x20004000 | 0x10 | 2)
    w(src, RASR, rasr(12, 6))
    w(src, CTRL, 5)
    state = src.scs.get_state()
    dst = board("reset:\n    b reset\n").m
    dst.scs.set_state(state)
    assert (r(dst, CTRL), r(dst, RNR), r(dst, RBAR), r(dst, RASR)) == (5, 2, 0x20004002, rasr(12, 6))
    assert dst.cpu.mputlb.active


def test_hardfault_runs_with_the_default_map_unless_hfnmiena(board):
    """Region 1 forbids all access to a RAM page. A HardFault (UDF with UsageFault disabled)
    reads the page: allowed with HFNMIENA clear (the MPU is off at negative priority); back in
    thread mode the page is forbidden again (MemManage), so no TLB entry outlived the handler."""
    b = _run(board, f"""
    STORE32 SHCSR, 1 << 16
    MPU_REGION 0, 0, {FULL:#x}
    MPU_REGION 1, 0x20008000, {rasr(12, 0):#x}
    STORE32 MPU_CTRL, 1
    dsb
    isb
    udf #0
after_udf:
    ldr r4, =0x20008000
thread_load:
    ldr r5, [r4]
    """, {"HardFault": """
    ldr r1, =0x20008000
    ldr r2, [r1]                    @ allowed: HFNMIENA is clear
    movs r2, #1
    RESULT 4, r2
    mrs r0, msp
    ldr r1, [r0, #24]
    adds r1, #2                     @ past the UDF
    str r1, [r0, #24]
    bx lr
""", "MemManage": RECORD_AND_DISABLE})
    cfsr, mmfar, _hfsr, pc, hardfault_read = b.results(5)
    assert hardfault_read == 1
    assert cfsr & (DACCVIOL | MMARVALID) == DACCVIOL | MMARVALID and mmfar == 0x20008000
    assert pc == b["thread_load"]


@pytest.mark.parametrize("size_log2", [12, 5], ids=["4KiB", "32B-in-a-page"])
def test_single_steps_through_a_violation_and_its_handler(board, size_log2):
    """Stepping (as the GDB server does): the denied store faults, the handler runs step by step
    and returns without touching the MPU, skipping the store; the next access to the same page
    is a normal read, not a stale trap mapping. A 32-byte region is decided per access: a store
    just past it, in the same page, is allowed."""
    allowed = 0x20004000 + (1 << size_log2) + 0x20
    b = board(MPU_MACROS + f"""
reset:
    STORE32 SHCSR, 1 << 16
    MPU_REGION 0, 0, {FULL:#x}
    MPU_REGION 1, 0x20004000, {rasr(size_log2, 6):#x}
    STORE32 MPU_CTRL, 1
    dsb
    isb
    ldr r4, =0x20004010
    movs r5, #0x5A
    ldr r7, ={allowed:#x}
    str r5, [r7]
    str r5, [r4]
    ldr r6, [r4]
    RESULT 1, r6
    EXIT
memmanage:
    ldr r1, =CFSR
    ldr r2, [r1]
    RESULT 0, r2
    str r2, [r1]
    mrs r0, msp
    ldr r1, [r0, #24]
    adds r1, #2
    str r1, [r0, #24]
    bx lr
""", {"MemManage": "memmanage"})
    m = b.m
    for _ in range(200):
        stop = m.step()
        if stop.kind == "exit":
            break
    assert stop.kind == "exit", stop
    assert b.results(2) == [DACCVIOL | MMARVALID, 0]
    assert b.m.cpu.read_u32(allowed) == 0x5A


FRAME_OF_EITHER_STACK = """
    tst lr, #4
    ite eq
    mrseq r0, msp
    mrsne r0, psp
"""


def test_regions_below_a_page_are_decided_per_access(board):
    """An RTOS MPU port's 32-byte regions, as FreeRTOS's MPU demo for this board uses them: in
    one 1 KiB page, a task (unprivileged, process stack, entered from an SVC) stores where the
    MPU allows and, in the same translation block, to the next 32 bytes, which it denies the
    second time round. The denied store faults with its own PC and address (the core resumes
    at it, not at the allowed store before it), and the allowed one does not fault."""
    b = _run(board, f"""
    STORE32 SHCSR, 1 << 16          @ MEMFAULTENA
    MPU_REGION 0, 0, {FULL:#x}
    MPU_REGION 1, 0x20004020, {rasr(5, 6):#x}
    STORE32 MPU_CTRL, 1
    dsb
    isb
    ldr r4, =0x20004000
    ldr r7, =0x20004004
    ldr r5, =0x20004020
    ldr r0, [r5]                    @ reading the read-only region is allowed
    ldr r0, =0x20008000
    msr psp, r0
    movs r6, #3
    movs r3, #0
    msr control, r6                 @ unprivileged on the process stack, as an RTOS task
    isb
    movs r6, #1
loop:                               @ the same translation block twice, entered from an SVC
    svc 0
    movs r2, #0
    strb r6, [r4]                   @ allowed
denied:
    strb r2, [r7]                   @ allowed the first time, denied the second
    adds r3, r3, #1
    mov r7, r5
    cmp r3, #2
    bne loop
    movs r0, #0
    msr control, r0
    RESULT 4, r3
    """, {"MemManage": RECORD_AND_DISABLE.replace("    mrs r0, msp\n", FRAME_OF_EITHER_STACK),
          "SVCall": "    bx lr\n"})
    cfsr, mmfar, hfsr, pc, loops = b.results(5)
    assert cfsr == DACCVIOL | MMARVALID, hex(cfsr)
    assert mmfar == 0x20004020
    assert pc == b["denied"], "the stacked PC is the denied store"
    assert loops == 2
