"""Finding the load or store a device access comes from (emulator/cpu/accesspc.py, Machine.where)."""

from __future__ import annotations

import pytest
from asm import ToolMissing, program

from emulator.board.machine import Machine
from emulator.board.platform import load_platform
from emulator.cpu.accesspc import accesses

R0, R2, SP = 0x40003000, 8, 0x20001000
FORMS = [  # label, instruction, address, bytes
    ("imm5_word", "ldr r1, [r0, #8]", R0 + 8, 4),
    ("imm5_byte", "strb r1, [r0, #3]", R0 + 3, 1),
    ("imm5_half", "strh r1, [r0, #6]", R0 + 6, 2),
    ("reg16", "str r1, [r0, r2]", R0 + R2, 4),
    ("sp_rel", "ldr r1, [sp, #16]", SP + 16, 4),
    ("t3_imm12", "ldr.w r1, [r0, #0x104]", R0 + 0x104, 4),
    ("t3_byte", "ldrb.w r1, [r0, #0x20]", R0 + 0x20, 1),
    ("t4_neg", "ldr r1, [r0, #-4]", R0 - 4, 4),
    ("t4_post", "ldr r1, [r0], #4", R0, 4),
    ("t4_pre_half", "strh r1, [r0, #2]!", R0 + 2, 2),
    ("reg32_lsl", "ldr.w r1, [r0, r2, lsl #2]", R0 + 4 * R2, 4),
    ("ldrd", "ldrd r4, r5, [r0, #8]", R0 + 8, 8),
    ("strd_neg", "strd r4, r5, [r0, #-8]", R0 - 8, 8),
    ("ldrex", "ldrex r1, [r0, #4]", R0 + 4, 4),
    ("ldm16", "ldm r0!, {r1, r2}", R0, 8),
    ("stmdb", "stmdb r0, {r1, r2, r3}", R0 - 12, 12),
    ("stmia32", "stmia.w r0, {r1, r8}", R0, 8),
    ("push", "push {r4, lr}", SP - 8, 8),
    ("pop", "pop {r4}", SP, 4),
]


@pytest.fixture(scope="module")
def prog():
    body = "\n".join(f"{label}:\n    {insn}\n    adds r6, #1" for label, insn, _, _ in FORMS)
    try:
        return program(f"reset:\n{body}\n    b .\n")
    except ToolMissing as e:
        pytest.fail(str(e), pytrace=False)


def test_each_load_and_store_form_gives_its_address(prog):
    regs = {0: R0, 2: R2, 13: SP}
    start = prog["reset"]
    found = list(accesses(prog.data[start:], start, lambda n: regs.get(n, 0)))
    expected = [(prog[label], address, size) for label, _, address, size in FORMS]
    assert found[:len(FORMS)] == expected


def test_a_device_access_is_named_by_its_instruction_not_the_blocks_start(assembler):
    # One translation block: a RAM store, a system register read, then the first access to an
    # unimplemented window (0x40003000); the log line names the store at `touch`.
    p = program("""
reset:
    ldr r0, =0x40003000
    ldr r3, =0x20000000
    ldr r5, =0xE000ED00
    movs r1, #1
    str r1, [r3]
    ldr r6, [r5]
    adds r0, #4
touch:
    str r1, [r0, #8]
    EXIT
""")
    m = Machine(load_platform("mps2-an385"))
    m.load(p.image())
    assert m.run(100_000).kind == "exit"
    (line,) = [r.message for r in m.board_log.records(source="apb_region_3000")]
    assert f"at PC 0x{p['touch']:08X} <touch>" in line, line
