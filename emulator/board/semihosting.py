"""ARM semihosting (``bkpt 0xab``), the calls bare-metal test programs use.

Semihosting for AArch32 and AArch64 v2.0: operation in R0, parameter in R1,
result in R0. Console output and input go through a ``BytePort``-like pair
of callables the machine connects (the core does no host I/O). Time calls
answer in virtual time so runs stay deterministic: SYS_CLOCK and
SYS_ELAPSED count from power-on, SYS_TIME is ``epoch`` plus virtual seconds.

Implemented: SYS_OPEN (":tt" only), SYS_CLOSE, SYS_WRITEC, SYS_WRITE0,
SYS_WRITE, SYS_READ, SYS_READC, SYS_ISERROR, SYS_ISTTY, SYS_FLEN,
SYS_CLOCK, SYS_TIME, SYS_ERRNO, SYS_GET_CMDLINE, SYS_HEAPINFO, SYS_EXIT,
SYS_EXIT_EXTENDED, SYS_ELAPSED, SYS_TICKFREQ. Host file access is refused
(returns -1): firmware under test must not reach the host's files.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from unicorn import UcError
from unicorn import arm_const as A

if TYPE_CHECKING:
    from emulator.cpu.cortexm import CortexM3

SYS_OPEN, SYS_CLOSE, SYS_WRITEC, SYS_WRITE0, SYS_WRITE, SYS_READ, SYS_READC = 1, 2, 3, 4, 5, 6, 7
SYS_ISERROR, SYS_ISTTY, SYS_SEEK, SYS_FLEN = 8, 9, 0xA, 0xC
SYS_CLOCK, SYS_TIME, SYS_ERRNO, SYS_GET_CMDLINE, SYS_HEAPINFO = 0x10, 0x11, 0x13, 0x15, 0x16
SYS_EXIT, SYS_EXIT_EXTENDED, SYS_ELAPSED, SYS_TICKFREQ = 0x18, 0x20, 0x30, 0x31
ADP_STOPPED_APPLICATION_EXIT = 0x20026

TT_HANDLE = 1


@dataclass
class ExitRequest:
    code: int
    reason: int


class Semihosting:
    def __init__(self, write: Callable[[bytes], None], readc: Callable[[], int],
                 now_cycles: Callable[[], int], hz: int, epoch: int = 1_767_225_600,
                 cmdline: str = "firmware") -> None:
        self.write = write
        self.readc = readc
        self.now_cycles = now_cycles
        self.hz = hz
        self.epoch = epoch
        self.cmdline = cmdline
        self.exit: ExitRequest | None = None
        self.errno = 0
        self.heapinfo = (0, 0, 0, 0)

    def __call__(self, cpu: CortexM3) -> bool:
        """Serve the call in R0/R1; True when the firmware asked to exit."""
        uc = cpu.uc
        op = uc.reg_read(A.UC_ARM_REG_R0)
        arg = uc.reg_read(A.UC_ARM_REG_R1)
        try:
            result = self._dispatch(cpu, op, arg)
        except UcError:
            result = -1  # a bad pointer from the firmware
            self.errno = 14  # EFAULT
        if result is not None:
            uc.reg_write(A.UC_ARM_REG_R0, result & 0xFFFFFFFF)
        return self.exit is not None

    def _words(self, cpu: CortexM3, addr: int, n: int) -> tuple[int, ...]:
        return struct.unpack(f"<{n}I", cpu.uc.mem_read(addr, 4 * n))

    def _string(self, cpu: CortexM3, addr: int, limit: int = 4096) -> bytes:
        out = bytearray()
        while len(out) < limit:
            chunk = bytes(cpu.uc.mem_read(addr + len(out), 64))
            nul = chunk.find(b"\0")
            if nul >= 0:
                out += chunk[:nul]
                break
            out += chunk
        return bytes(out)

    def _dispatch(self, cpu: CortexM3, op: int, arg: int) -> int | None:
        if op == SYS_WRITEC:
            self.write(bytes(cpu.uc.mem_read(arg, 1)))
            return None
        if op == SYS_WRITE0:
            self.write(self._string(cpu, arg))
            return None
        if op == SYS_WRITE:
            handle, ptr, length = self._words(cpu, arg, 3)
            if handle != TT_HANDLE:
                return length
            self.write(bytes(cpu.uc.mem_read(ptr, length)))
            return 0
        if op == SYS_READC:
            return self.readc()
        if op == SYS_READ:
            handle, ptr, length = self._words(cpu, arg, 3)
            if handle != TT_HANDLE:
                return length
            data = bytearray()
            while len(data) < length:
                c = self.readc()
                if c < 0:
                    break
                data.append(c)
                if c == 0x0A:
                    break
            cpu.uc.mem_write(ptr, bytes(data))
            return length - len(data)
        if op == SYS_OPEN:
            name_ptr, _mode, _length = self._words(cpu, arg, 3)
            return TT_HANDLE if self._string(cpu, name_ptr) == b":tt" else -1
        if op == SYS_CLOSE:
            return 0
        if op == SYS_ISERROR:
            return 1 if self._words(cpu, arg, 1)[0] & 0x80000000 else 0
        if op == SYS_ISTTY:
            return 1 if self._words(cpu, arg, 1)[0] == TT_HANDLE else 0
        if op in (SYS_FLEN, SYS_SEEK):
            return -1
        if op == SYS_CLOCK:
            return self.now_cycles() * 100 // self.hz
        if op == SYS_TIME:
            return self.epoch + self.now_cycles() // self.hz
        if op == SYS_ERRNO:
            return self.errno
        if op == SYS_GET_CMDLINE:
            ptr, size = self._words(cpu, arg, 2)
            data = self.cmdline.encode()[: max(0, size - 1)] + b"\0"
            cpu.uc.mem_write(ptr, data)
            cpu.uc.mem_write(arg + 4, struct.pack("<I", len(data) - 1))
            return 0
        if op == SYS_HEAPINFO:
            ptr = self._words(cpu, arg, 1)[0]
            cpu.uc.mem_write(ptr, struct.pack("<4I", *self.heapinfo))
            return 0
        if op == SYS_ELAPSED:
            ticks = self.now_cycles()
            cpu.uc.mem_write(arg, struct.pack("<Q", ticks))
            return 0
        if op == SYS_TICKFREQ:
            return self.hz
        if op == SYS_EXIT:
            self._exit(arg, 0)
            return None
        if op == SYS_EXIT_EXTENDED:
            reason, subcode = self._words(cpu, arg, 2)
            self._exit(reason, subcode)
            return None
        self.errno = 38  # ENOSYS
        return -1

    def _exit(self, reason: int, subcode: int) -> None:
        if reason == ADP_STOPPED_APPLICATION_EXIT:
            code = subcode & 0xFF
        else:
            code = 1
        self.exit = ExitRequest(code, reason)
