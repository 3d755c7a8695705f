"""Which instruction of a translation block makes a memory access: decoded from the block's code.

Inside a device's read or write callback Unicorn's PC is the first
instruction of the current translation block (it updates the PC per block),
while the general registers are current. So the load or store in progress
is found by decoding the block from its start and computing each load's or
store's address from the registers: ``accesses`` yields (PC, address, size)
per data access of the Thumb-2 loads and stores an ARMv7-M core has (ARMv7-M
ARM A5.2/A5.3: single loads/stores with immediate, register and literal
offsets, LDRD/STRD, LDREX/STREX, LDM/STM, PUSH/POP).

An instruction earlier in the block that computes the same address with the
current registers would be taken for it (two stores to one register in a
row); for a device's first access (what the board log reports) the first
one is the right one.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator

SP, PC = 13, 15
MAX_INSTRUCTIONS = 48  # a translation block is shorter than this in practice


def _is_32bit(hw1: int) -> bool:
    return hw1 >> 11 in (0b11101, 0b11110, 0b11111)


def accesses(code: bytes, start: int, reg: Callable[[int], int]) -> Iterator[tuple[int, int, int]]:
    """(PC, first byte address, byte count) of each data access in ``code`` (read at ``start``);
    ``reg(n)`` gives the current value of register ``n`` (0..14)."""
    pc, off, n = start, 0, 0
    while off + 2 <= len(code) and n < MAX_INSTRUCTIONS:
        hw1 = struct.unpack_from("<H", code, off)[0]
        if _is_32bit(hw1):
            if off + 4 > len(code):
                return
            hw2 = struct.unpack_from("<H", code, off + 2)[0]
            found = _access32(hw1, hw2, pc, reg)
            size = 4
        else:
            found = _access16(hw1, reg)
            size = 2
        if found is not None:
            yield pc, found[0] & 0xFFFFFFFF, found[1]
        pc, off, n = pc + size, off + size, n + 1


def _access16(hw: int, reg: Callable[[int], int]) -> tuple[int, int] | None:
    top = hw >> 12
    rn, rm = (hw >> 3) & 7, (hw >> 6) & 7
    imm5 = (hw >> 6) & 0x1F
    if top == 0b0110:                      # LDR/STR Rt, [Rn, #imm5*4]
        return reg(rn) + imm5 * 4, 4
    if top == 0b0111:                      # LDRB/STRB Rt, [Rn, #imm5]
        return reg(rn) + imm5, 1
    if top == 0b1000:                      # LDRH/STRH Rt, [Rn, #imm5*2]
        return reg(rn) + imm5 * 2, 2
    if top == 0b0101:                      # register offset: STR STRH STRB LDRSB LDR LDRH LDRB LDRSH
        size = (4, 2, 1, 1, 4, 2, 1, 2)[(hw >> 9) & 7]
        return reg(rn) + reg(rm), size
    if top == 0b1001:                      # LDR/STR Rt, [SP, #imm8*4]
        return reg(SP) + (hw & 0xFF) * 4, 4
    if top == 0b1100:                      # LDM/STM Rn!, {list}
        return reg((hw >> 8) & 7), 4 * bin(hw & 0xFF).count("1")
    if hw & 0xFE00 == 0xB400:              # PUSH {list, LR}
        count = bin(hw & 0x1FF).count("1")
        return reg(SP) - 4 * count, 4 * count
    if hw & 0xFE00 == 0xBC00:              # POP {list, PC}
        return reg(SP), 4 * bin(hw & 0x1FF).count("1")
    return None


def _access32(hw1: int, hw2: int, pc: int, reg: Callable[[int], int]) -> tuple[int, int] | None:
    rn = hw1 & 0xF
    base = ((pc + 4) & ~3) if rn == PC else reg(rn)
    if hw1 & 0xFE00 == 0xF800 and not (hw1 >> 5 & 3 == 3):  # single load/store (not hints)
        size = 1 << (hw1 >> 5 & 3)
        if rn == PC:                                        # literal: U is bit 7
            return base + (hw2 & 0xFFF if hw1 & 0x80 else -(hw2 & 0xFFF)), size
        if hw1 & 0x80:                                      # T3: [Rn, #imm12]
            return base + (hw2 & 0xFFF), size
        if hw2 & 0x800:                                     # T4: [Rn, #+/-imm8]{!} or [Rn], #+/-imm8
            imm8 = hw2 & 0xFF
            offset = base + (imm8 if hw2 & 0x200 else -imm8)
            return (offset if hw2 & 0x400 else base), size
        if hw2 & 0xFC0 == 0:                                # [Rn, Rm, LSL #imm2]
            return base + (reg(hw2 & 0xF) << (hw2 >> 4 & 3)), size
        return None
    if hw1 & 0xFFE0 == 0xE840:                              # STREX / LDREX [Rn, #imm8*4]
        return base + (hw2 & 0xFF) * 4, 4
    if hw1 & 0xFE40 == 0xE840:                              # STRD / LDRD [Rn, #+/-imm8*4]
        imm = (hw2 & 0xFF) * 4
        offset = base + (imm if hw1 & 0x80 else -imm)
        return (offset if hw1 & 0x100 else base), 8
    if hw1 & 0xFE40 == 0xE800:                              # LDM/STM (IA, DB)
        mode = hw1 >> 7 & 3
        count = bin(hw2 & 0xFFFF).count("1")
        if mode == 0b01:                                    # increment after
            return base, 4 * count
        if mode == 0b10:                                    # decrement before
            return base - 4 * count, 4 * count
    return None
