"""A tiny MPS2-AN385 guest that sends one broadcast frame through the LAN9118 every few ms.

Built with arm-none-eabi-as/ld into a temporary ELF; used to see frames from a
real QEMU arrive through the socket backend. The frame: broadcast, source
52:54:00:12:34:56, EtherType 0x88B5 (local experimental), payload
``SMOKE_PAYLOAD`` then zeros up to 64 bytes; the packet tag counts up.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SMOKE_SRC_MAC = bytes.fromhex("525400123456")
SMOKE_ETHERTYPE = b"\x88\xb5"
SMOKE_PAYLOAD = b"vboard-qemu-smoke"
FRAME_LEN = 64


def frame_template() -> bytes:
    f = b"\xff" * 6 + SMOKE_SRC_MAC + SMOKE_ETHERTYPE + SMOKE_PAYLOAD
    return f + b"\0" * (FRAME_LEN - len(f))


SOURCE = """
    .syntax unified
    .cpu cortex-m3
    .thumb
    .text
    .word 0x20010000
    .word reset
    .rept 14
    .word hang
    .endr

    .thumb_func
hang:
    b hang

    .thumb_func
reset:
    ldr r4, =0x40200000
    movs r0, #2              @ TX_CFG.TX_ON
    str r0, [r4, #0x70]
    movs r0, #0x0C           @ MAC_CR = TXEN | RXEN, through MAC_CSR_DATA/CMD
    str r0, [r4, #0xA8]
    ldr r0, =0x80000001
    str r0, [r4, #0xA4]
    movs r5, #0
loop:
    ldr r0, =0x00003040      @ TX command A: first + last segment, 64 bytes
    str r0, [r4, #0x20]
    lsls r1, r5, #16         @ TX command B: tag = counter, length 64
    orr r0, r1, #64
    str r0, [r4, #0x20]
    ldr r2, =frame
    movs r3, #16
1:  ldr r0, [r2], #4
    str r0, [r4, #0x20]
    subs r3, #1
    bne 1b
    ldr r0, [r4, #0x48]      @ pop the TX status so the FIFO never fills
    adds r5, #1
    ldr r0, =3000000
2:  subs r0, #1
    bne 2b
    b loop

    .align 2
frame:
    .byte {frame}
    .ltorg
"""


def build_sender(workdir: Path) -> Path:
    """Assemble and link the sender; returns the ELF path (raises RuntimeError with the tool output)."""
    for tool in ("arm-none-eabi-as", "arm-none-eabi-ld"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} not found: install gcc-arm-none-eabi (scripts/setup)")
    src = workdir / "sender.s"
    obj = workdir / "sender.o"
    elf = workdir / "sender.elf"
    src.write_text(SOURCE.replace("{frame}", ", ".join(str(b) for b in frame_template())))
    for cmd in (["arm-none-eabi-as", "-mcpu=cortex-m3", "-mthumb", "-o", str(obj), str(src)],
                ["arm-none-eabi-ld", "-Ttext=0x0", "-e", "reset", "-o", str(elf), str(obj)]):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    return elf
