"""Assemble small Thumb-2 test programs for the Cortex-M3 into loadable images.

``program(source, vectors)`` wraps ``source`` with a vector table and a
prelude of symbols and macros, runs ``arm-none-eabi-as -mcpu=cortex-m3
-mthumb``, links it at address 0 (``arm-none-eabi-ld``, so literal pools and
``.word label`` resolve) and returns the flat bytes (``arm-none-eabi-objcopy
-O binary``) with the label addresses (from the ELF symbol table).

Conventions of the prelude:

* The vector table has 80 entries (16 system + 64 IRQs); ``vectors`` maps an
  exception number (or a name from ``EXC``) to a handler label. Unlisted
  entries point at ``default_handler``, a bare ``b .`` that the machine
  reports as a fault. Handler labels are plain labels: the table adds the
  Thumb bit itself.
* ``reset`` is the thread-mode entry; the initial MSP is ``STACK_TOP``.
* RAM at ``RES`` (0x20000000) holds 32-bit results (``RESULT n, reg`` stores
  ``reg`` there, clobbering r12 only); ``LOG val`` appends a byte to an event
  log at ``LOGBUF`` (clobbers r0-r3). ``EXIT`` ends the run through
  semihosting (SYS_EXIT, exit code 0). ``IRQ_PRIO n, p``, ``IRQ_ENABLE n``,
  ``IRQ_PEND n`` program the NVIC (clobber r0, r1); ``IRQ_PEND`` ends with
  DSB+ISB, after which the architecture guarantees the interrupt is
  recognised (the core may take it as late as the next block boundary).
  ``UART0_TX_IRQ_ON`` makes UART0's next DATA write raise IRQ 1 (TX, a level
  until INTCLEAR). ``SKIP_FAULTING_INSN`` in a fault handler returns past the 16-bit
  instruction that faulted (stacked PC + 2; clobbers r0).
"""

from __future__ import annotations

import functools
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from emulator.board.loader import Image, Segment, Symbols

TOOLS = ("arm-none-eabi-as", "arm-none-eabi-ld", "arm-none-eabi-objcopy", "arm-none-eabi-nm")

RES = 0x20000000
LOGIDX = 0x20000400
LOGBUF = 0x20000404
STACK_TOP = 0x20010000
NUM_VECTORS = 80

EXC = {"NMI": 2, "HardFault": 3, "MemManage": 4, "BusFault": 5, "UsageFault": 6, "SVCall": 11,
       "DebugMon": 12, "PendSV": 14, "SysTick": 15, **{f"IRQ{i}": 16 + i for i in range(64)}}

PRELUDE = f"""
    .syntax unified
    .cpu cortex-m3
    .thumb
    .equ RES, {RES:#x}
    .equ LOGIDX, {LOGIDX:#x}
    .equ LOGBUF, {LOGBUF:#x}
    .equ STACK_TOP, {STACK_TOP:#x}
    .equ SYST_CSR, 0xE000E010
    .equ SYST_RVR, 0xE000E014
    .equ SYST_CVR, 0xE000E018
    .equ NVIC_ISER, 0xE000E100
    .equ NVIC_ICER, 0xE000E180
    .equ NVIC_ISPR, 0xE000E200
    .equ NVIC_ICPR, 0xE000E280
    .equ NVIC_IABR, 0xE000E300
    .equ NVIC_IPR, 0xE000E400
    .equ ICSR, 0xE000ED04
    .equ VTOR, 0xE000ED08
    .equ AIRCR, 0xE000ED0C
    .equ SCR, 0xE000ED10
    .equ CCR, 0xE000ED14
    .equ SHPR2, 0xE000ED1C
    .equ SHPR3, 0xE000ED20
    .equ SHCSR, 0xE000ED24
    .equ CFSR, 0xE000ED28
    .equ HFSR, 0xE000ED2C
    .equ BFAR, 0xE000ED38
    .equ STIR, 0xE000EF00
    .equ UART0, 0x40004000

    .macro RESULT n, reg
    ldr r12, =RES + 4 * \\n
    str \\reg, [r12]
    .endm

    .macro LOG val
    ldr r0, =LOGIDX
    ldr r1, [r0]
    adds r2, r1, #1
    str r2, [r0]
    ldr r2, =LOGBUF
    movs r3, #\\val
    strb r3, [r2, r1]
    .endm

    @ store32 addr, value (clobbers r0, r1)
    .macro STORE32 addr, value
    ldr r0, =\\addr
    ldr r1, =\\value
    str r1, [r0]
    .endm

    .macro IRQ_PRIO n, p
    ldr r0, =NVIC_IPR + \\n
    movs r1, #\\p
    strb r1, [r0]
    .endm

    .macro IRQ_ENABLE n
    STORE32 NVIC_ISER + 4 * (\\n / 32), (1 << (\\n % 32))
    .endm

    @ pend IRQ n through NVIC_STIR (clobbers r0, r1); DSB+ISB: recognised before the next instruction
    .macro IRQ_PEND n
    STORE32 STIR, \\n
    dsb
    isb
    .endm

    @ UART0 TX interrupt (IRQ 1, priority 0x80) on: the next DATA write raises it (clobbers r0, r1)
    .macro UART0_TX_IRQ_ON
    IRQ_PRIO 1, 0x80
    IRQ_ENABLE 1
    STORE32 UART0 + 0x10, 16        @ BAUDDIV
    STORE32 UART0 + 0x08, 0x5       @ CTRL: TX_EN | TX_INTEN
    .endm

    @ return past the 16-bit instruction that faulted: stacked PC + 2 (clobbers r0)
    .macro SKIP_FAULTING_INSN
    ldr r0, [sp, #24]
    adds r0, #2
    str r0, [sp, #24]
    .endm

    .macro EXIT
    movs r0, #0x18
    ldr r1, =0x20026
    bkpt 0xab
    .endm

    .text
    .global _start
_start:
"""


class ToolMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Program:
    data: bytes
    symbols: dict[str, int]

    def __getitem__(self, label: str) -> int:
        return self.symbols[label]

    def image(self, name: str = "snippet.bin") -> Image:
        syms = Symbols()
        for label, addr in sorted(self.symbols.items(), key=lambda kv: kv[1]):
            syms.add(label, addr, 0)
        return Image(Path(name), "bin", [Segment(0, self.data)], 0, syms)


def check_tools() -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        raise ToolMissing(f"missing {', '.join(missing)} (Debian: apt-get install binutils-arm-none-eabi)")


def vector_table(vectors: dict[int | str, str]) -> str:
    table = ["default_handler"] * NUM_VECTORS
    for key, label in vectors.items():
        n = EXC[key] if isinstance(key, str) else key
        table[n] = label
    lines = ["    .word STACK_TOP", "    .word reset + 1"]
    lines += [f"    .word {label} + 1" for label in table[2:]]
    return "\n".join(lines)


def program(source: str, vectors: dict[int | str, str] | None = None) -> Program:
    """Assemble ``source`` (which defines ``reset``) behind a vector table; see the module doc."""
    text = (PRELUDE + vector_table(vectors or {}) + "\n" + source
            + "\ndefault_handler:\n    b .\n    .ltorg\n")
    return _assemble(text)


@functools.lru_cache(maxsize=256)
def _assemble(text: str) -> Program:
    check_tools()
    with tempfile.TemporaryDirectory(prefix="vboard-asm-") as tmp:
        t = Path(tmp)
        (t / "p.s").write_text(text)
        _tool("arm-none-eabi-as", "-mcpu=cortex-m3", "-mthumb", "-o", "p.o", "p.s", cwd=t)
        _tool("arm-none-eabi-ld", "-Ttext=0", "-e", "0", "-o", "p.elf", "p.o", cwd=t)
        _tool("arm-none-eabi-objcopy", "-O", "binary", "p.elf", "p.bin", cwd=t)
        nm = _tool("arm-none-eabi-nm", "p.elf", cwd=t)
        symbols = {}
        for line in nm.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "tT":
                symbols[parts[2]] = int(parts[0], 16)
        data = (t / "p.bin").read_bytes()
    assert struct.unpack_from("<I", data, 0)[0] == STACK_TOP
    return Program(data, symbols)


def _tool(*argv: str, cwd: Path) -> str:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed:\n{proc.stderr}")
    return proc.stdout
