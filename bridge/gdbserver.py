"""A GDB remote-serial-protocol server for a vboard ``Machine``.

``GdbServer(machine, port).serve()`` listens on 127.0.0.1 (port 0 picks a
free one, see ``.port``), serves one GDB connection and drives the machine
from the calling thread only: while the target runs, the machine runs in
slices of about 1 ms of virtual time and the socket is polled between
slices for GDB's interrupt byte (0x03). Nothing here touches the machine
from another thread.

Protocol: ack mode and ``QStartNoAckMode``; ``qSupported`` with
``qXfer:features:read`` serving a target description built from GDB's
standard ``org.gnu.gdb.arm.m-profile`` feature (r0-r12, sp, lr, pc, xpsr
at regnum 25, so GDB picks the Cortex-M register layout and exception-frame
unwinder) plus ``org.gnu.gdb.arm.m-system`` (msp, psp, primask, basepri,
faultmask, control); ``?``, ``g``/``G``, ``p``/``P``, ``m``/``M``/``X``,
``c``/``s``/``C``/``S``, ``vCont``, ``Z0``/``Z1``/``z0``/``z1``, ``k``,
``vKill``, ``D``, ``qAttached``, ``qC``, ``qfThreadInfo``/``qsThreadInfo``,
``H``/``T``, ``qRcmd`` (``monitor reset``); everything else gets the empty
reply. Stop replies: ``T05`` for a breakpoint or step, ``T02`` for Ctrl-C,
``T0b`` (SIGSEGV) for a fault or lockup (the connection stays so the user
can inspect), ``W<code>`` when the firmware exits through semihosting.

Breakpoints are Thumb ``bkpt #0`` (0xBE00) written over the instruction.
They are planted only while the target runs and removed whenever it stops,
so memory reads and writes from GDB always see the real code; each write
drops Unicorn's translation cache for those two bytes. Continuing from a
breakpoint address first steps that one instruction with nothing planted.
The core's ``on_bkpt`` hook reports the hit. A single step runs exactly one
instruction (``CortexM3.step``) inside the machine's own loop (timers,
exception entry, semihosting and faults behave as in a normal run, see
``step_instruction``); an exception that becomes deliverable is taken
before the step ends, as with DHCSR.C_STEP.

MMIO addresses read and written by GDB go to the device models (with the
same side effects as on hardware, e.g. reading UART DATA consumes a byte);
unmapped addresses answer ``E01``.

Why not PyPI ``udbserver`` (0.3.0, a Rust gdbstub behind a ctypes call,
evaluated): ``udbserver(uc, port, start_addr)`` blocks and services GDB from
inside a ``UC_HOOK_CODE`` hook it adds for every instruction, so it owns
the execution loop and would bypass ours: no slice loop with clock events,
exception entry/return, semihosting exit or fault reporting, a
per-instruction hook that costs the speed we run at, and it describes the
core with the A-profile ``org.gnu.gdb.arm.core`` feature (cpsr, no xPSR,
MSP/PSP) so GDB's Cortex-M unwinding would not apply.
"""

from __future__ import annotations

import logging
import select
import socket
import struct
from collections import deque
from collections.abc import Callable
from typing import Any

from unicorn import UcError
from unicorn import arm_const as A

from emulator.board.machine import DWT_BASE, SCS_BASE, Machine, StopReason

log = logging.getLogger("vboard.gdb")

PACKET_SIZE = 0x4000
MAX_PACKET = 2 * PACKET_SIZE + 64
BKPT_INSN = b"\x00\xbe"  # bkpt #0 (Thumb)

SIGINT = 2
SIGTRAP = 5
SIGSEGV = 11

# GDB register numbers (the target description's regnum) -> name.
REGS: list[tuple[int, str]] = [(i, f"r{i}") for i in range(13)] + [
    (13, "sp"), (14, "lr"), (15, "pc"), (25, "xpsr"),
    (26, "msp"), (27, "psp"), (28, "primask"), (29, "basepri"), (30, "faultmask"), (31, "control"),
]
_REGNUMS = dict(REGS)
_CORE_IDS = {i: getattr(A, f"UC_ARM_REG_R{i}") for i in range(13)} | {
    13: A.UC_ARM_REG_SP, 14: A.UC_ARM_REG_LR}


def _target_xml() -> str:
    types = {"sp": "data_ptr", "pc": "code_ptr", "msp": "data_ptr", "psp": "data_ptr"}
    lines = ['<?xml version="1.0"?>', '<!DOCTYPE target SYSTEM "gdb-target.dtd">',
             '<target version="1.0">', "<architecture>arm</architecture>",
             '<feature name="org.gnu.gdb.arm.m-profile">']
    for num, name in REGS:
        if num == 26:
            lines += ["</feature>", '<feature name="org.gnu.gdb.arm.m-system">']
        group = "general" if num <= 25 else "system"
        lines.append(f'<reg name="{name}" bitsize="32" regnum="{num}" '
                     f'type="{types.get(name, "uint32")}" group="{group}"/>')
    lines += ["</feature>", "</target>"]
    return "\n".join(lines) + "\n"


TARGET_XML = _target_xml()


def checksum(data: bytes) -> int:
    return sum(data) & 0xFF


def frame(body: bytes) -> bytes:
    """``$body#cs`` with the protocol's escapes applied to ``body``."""
    esc = bytearray()
    for b in body:
        if b in b"#$}*":
            esc += bytes((0x7D, b ^ 0x20))
        else:
            esc.append(b)
    return b"$" + bytes(esc) + b"#%02x" % checksum(esc)


def unescape(data: bytes) -> bytes:
    out = bytearray()
    it = iter(data)
    for b in it:
        if b == 0x7D:
            out.append(next(it, 0x20) ^ 0x20)
        else:
            out.append(b)
    return bytes(out)


class PacketReader:
    """Splits the byte stream from GDB into acks, interrupts and packets.

    Events: ``("+",)``, ``("-",)``, ``("int",)``, ``("pkt", body)`` and
    ``("bad", raw)`` for a packet whose checksum is wrong. Bytes outside
    packets that are none of these are dropped; a ``$`` inside a packet
    starts it again, and an overlong packet is dropped.
    """

    def __init__(self) -> None:
        self._buf: bytearray | None = None  # inside a packet: bytes after '$'
        self._csum: bytearray | None = None  # after '#': checksum digits

    def feed(self, data: bytes) -> list[tuple[Any, ...]]:
        events: list[tuple[Any, ...]] = []
        for b in data:
            if self._csum is not None:
                self._csum.append(b)
                if len(self._csum) == 2:
                    body = bytes(self._buf or b"")
                    digits = bytes(self._csum)
                    self._buf = self._csum = None
                    try:
                        ok = int(digits, 16) == checksum(body)
                    except ValueError:
                        ok = False
                    events.append(("pkt", body) if ok else ("bad", body))
            elif self._buf is not None:
                if b == 0x23:  # '#'
                    self._csum = bytearray()
                elif b == 0x24:  # '$': resynchronise
                    self._buf = bytearray()
                elif len(self._buf) >= MAX_PACKET:
                    self._buf = None
                    events.append(("bad", b""))
                else:
                    self._buf.append(b)
            elif b == 0x24:
                self._buf = bytearray()
            elif b == 0x2B:
                events.append(("+",))
            elif b == 0x2D:
                events.append(("-",))
            elif b == 0x03:
                events.append(("int",))
        return events


class _Disconnected(Exception):
    pass


class _Kill(Exception):
    pass


def step_instruction(machine: Machine) -> StopReason:
    """Exactly one instruction (``Machine.step``)."""
    return machine.step()


class GdbServer:
    """Serves one GDB connection; ``serve()`` drives ``machine`` until GDB is done."""

    def __init__(self, machine: Machine, port: int = 0, host: str = "127.0.0.1",
                 slice_seconds: float = 0.001) -> None:
        self.machine = machine
        self.listener = socket.create_server((host, port))
        self.port: int = self.listener.getsockname()[1]
        self.host = host
        self.chunk = max(1, machine.clock.cycles(slice_seconds))
        self.breakpoints: dict[int, int] = {}  # address -> kind
        self._planted: dict[int, bytes] = {}  # address -> original halfword
        self._windows = self._device_windows()
        self.conn: socket.socket | None = None
        self._reader = PacketReader()
        self._events: deque[tuple[Any, ...]] = deque()
        self._ack = True
        self._last: bytes = b""
        self._last_stop = b"T05thread:01;"
        self._exited = False

    # ------------------------------------------------------------ plumbing
    def _device_windows(self) -> list[tuple[int, int, Any]]:
        m = self.machine
        windows = [(SCS_BASE, m.scs), (DWT_BASE, m.dwt)]
        for spec in m.platform.devices:
            if spec.base is not None and spec.name in m.devices:
                windows.append((spec.base, m.devices[spec.name]))
        return [(base, (dev.SIZE + 0xFFF) & ~0xFFF, dev) for base, dev in windows]

    def _window(self, addr: int) -> tuple[int, int, Any] | None:
        for base, size, dev in self._windows:
            if base <= addr < base + size:
                return base, size, dev
        return None

    def _send_raw(self, data: bytes) -> None:
        assert self.conn is not None
        try:
            self.conn.sendall(data)
        except OSError as e:
            raise _Disconnected(str(e)) from None

    def _send(self, body: bytes) -> None:
        pkt = frame(body)
        self._last = pkt
        log.debug("-> %r", body[:200])
        self._send_raw(pkt)

    def _recv(self, timeout: float | None) -> bool:
        """Read what is there (waiting up to ``timeout``); False if nothing came."""
        assert self.conn is not None
        ready, _, _ = select.select([self.conn], [], [], timeout)
        if not ready:
            return False
        try:
            data = self.conn.recv(65536)
        except OSError as e:
            raise _Disconnected(str(e)) from None
        if not data:
            raise _Disconnected("gdb closed the connection")
        self._events.extend(self._reader.feed(data))
        return True

    def _next_event(self) -> tuple[Any, ...]:
        while not self._events:
            self._recv(None)
        return self._events.popleft()

    # --------------------------------------------------------------- serve
    def serve(self, accept_timeout: float | None = None, run_on_detach: bool = True) -> StopReason:
        """Accept one GDB connection and serve it.

        Returns how the session ended: after ``D`` the machine runs on
        (``run_on_detach``) and its final StopReason is returned (kind
        "detach" without it); ``k``/``vKill`` or a closed connection give kind
        "halt"; an exit reported to GDB gives kind "exit". Raises
        ``TimeoutError`` if nobody connects within ``accept_timeout`` seconds.
        """
        self.listener.settimeout(accept_timeout)
        try:
            conn, peer = self.listener.accept()
        finally:
            self.listener.close()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        log.info("gdb connected from %s:%d", *peer[:2])
        self.conn = conn
        cpu = self.machine.cpu
        saved_bkpt, saved_idle = cpu.on_bkpt, self.machine.idle_wait
        cpu.on_bkpt = self._on_bkpt
        detached = False
        result = StopReason("halt", message="gdb disconnected")
        try:
            result = self._loop()
            detached = result.kind == "detach"
        except _Disconnected as e:
            log.info("gdb connection ended: %s", e)
        except _Kill:
            result = StopReason("halt", message="killed by gdb")
        finally:
            self._unplant()
            cpu.on_bkpt = saved_bkpt
            self.machine.idle_wait = saved_idle
            conn.close()
            self.conn = None
        if detached and run_on_detach:
            return self.machine.run()
        return result

    def _loop(self) -> StopReason:
        while True:
            ev = self._next_event()
            kind = ev[0]
            if kind == "-":
                if self._ack and self._last:
                    self._send_raw(self._last)
                continue
            if kind in ("+", "int"):
                continue  # 0x03 while stopped: nothing to interrupt
            if kind == "bad":
                log.debug("bad packet %r", ev[1][:80])
                if self._ack:
                    self._send_raw(b"-")
                continue
            body: bytes = ev[1]
            if self._ack:
                self._send_raw(b"+")
            log.debug("<- %r", body[:200])
            try:
                reply = self._handle(body)
            except (_Disconnected, _Kill):
                raise
            except Exception:  # a malformed packet must not end the session
                log.debug("error handling %r", body[:80], exc_info=True)
                reply = b"E01"
            if reply is None:
                continue
            if isinstance(reply, StopReason):
                return reply
            self._send(reply)
            if self._exited and reply.startswith(b"W"):
                return StopReason("exit", exit_code=int(reply[1:3], 16), message="exit reported to gdb")

    # ------------------------------------------------------------ packets
    def _handle(self, body: bytes) -> bytes | StopReason | None:
        if not body:
            return b""
        c = body[:1]
        rest = body[1:]
        if c == b"?":
            return self._last_stop
        if c == b"g":
            return b"".join(self._reg_hex(n) for n, _ in REGS)
        if c == b"G":
            return self._write_all_regs(rest)
        if c == b"p":
            n = int(rest, 16)
            return self._reg_hex(n) if n in _REGNUMS else b"E01"
        if c == b"P":
            num, val = rest.split(b"=")
            n = int(num, 16)
            if n not in _REGNUMS:
                return b"E01"
            self._write_reg(n, struct.unpack("<I", bytes.fromhex(val.decode()))[0])
            return b"OK"
        if c == b"m":
            addr, length = (int(x, 16) for x in rest.split(b","))
            data = self.read_memory(addr, min(length, PACKET_SIZE // 2 - 8))
            return data.hex().encode() if data else b"E01"
        if c == b"M":
            head, data = rest.split(b":", 1)
            addr, length = (int(x, 16) for x in head.split(b","))
            payload = bytes.fromhex(data.decode())[:length]
            return b"OK" if self.write_memory(addr, payload) else b"E01"
        if c == b"X":
            head, data = rest.split(b":", 1)
            addr, length = (int(x, 16) for x in head.split(b","))
            payload = unescape(data)[:length]
            return b"OK" if self.write_memory(addr, payload) else b"E01"
        if c in (b"c", b"C"):
            return self._resume(step=False, addr=self._resume_addr(c, rest))
        if c in (b"s", b"S"):
            return self._resume(step=True, addr=self._resume_addr(c, rest))
        if c in (b"Z", b"z"):
            return self._breakpoint(c == b"Z", rest)
        if c == b"k":
            raise _Kill
        if c == b"D":
            self._send(b"OK")
            return StopReason("detach")
        if c == b"H" or c == b"T":
            return b"OK"
        if c == b"q":
            return self._query(body)
        if c == b"Q":
            if body == b"QStartNoAckMode":
                self._send(b"OK")
                self._ack = False
                return None
            return b""
        if c == b"v":
            return self._v_packet(body)
        return b""

    def _resume_addr(self, c: bytes, rest: bytes) -> int | None:
        if c in (b"C", b"S"):
            _sig, _, rest = rest.partition(b";")
        return int(rest, 16) if rest else None

    def _query(self, body: bytes) -> bytes:
        if body.startswith(b"qSupported"):
            return (b"PacketSize=%x;qXfer:features:read+;QStartNoAckMode+;swbreak+;"
                    b"vContSupported+" % PACKET_SIZE)
        if body.startswith(b"qXfer:features:read:"):
            annex, _, span = body[len(b"qXfer:features:read:"):].partition(b":")
            if annex != b"target.xml":
                return b"E00"
            off, length = (int(x, 16) for x in span.split(b","))
            data = TARGET_XML.encode()
            piece = data[off:off + length]
            return (b"m" if off + length < len(data) else b"l") + piece
        if body == b"qAttached":
            return b"1"
        if body == b"qC":
            return b"QC1"
        if body == b"qfThreadInfo":
            return b"m1"
        if body == b"qsThreadInfo":
            return b"l"
        if body.startswith(b"qRcmd,"):
            return self._monitor(bytes.fromhex(body[6:].decode()).decode(errors="replace").strip())
        return b""

    def _monitor(self, cmd: str) -> bytes:
        if cmd in ("reset", "reset halt", "system_reset"):
            self.machine.reset()
            self._last_stop = b"T05thread:01;"
            return b"OK"
        text = "monitor commands: reset\n" if cmd in ("help", "") else f"unknown monitor command '{cmd}'\n"
        self._send(b"O" + text.encode().hex().encode())
        return b"OK"

    def _v_packet(self, body: bytes) -> bytes | None:
        if body == b"vCont?":
            return b"vCont;c;C;s;S"
        if body.startswith(b"vCont;"):
            actions = body[6:].split(b";")
            action = actions[0].split(b":")[0] if actions else b""
            if action[:1] in (b"s", b"S"):
                return self._resume(step=True, addr=None)
            if action[:1] in (b"c", b"C"):
                return self._resume(step=False, addr=None)
            if action[:1] == b"t":
                return self._last_stop
            return b"E01"
        if body.startswith(b"vKill"):
            self._send(b"OK")
            raise _Kill
        return b""

    # ------------------------------------------------------------ registers
    def read_reg(self, n: int) -> int:
        cpu = self.machine.cpu
        if n in _CORE_IDS:
            return cpu.rr(_CORE_IDS[n])
        if n == 15:
            return cpu.pc & ~1
        if n == 25:
            return cpu.rr(A.UC_ARM_REG_XPSR)
        if n in (26, 27):
            return cpu.banked_sps()[n - 26]
        if n == 28:
            return cpu.rr(A.UC_ARM_REG_PRIMASK)
        if n == 29:
            return cpu.rr(A.UC_ARM_REG_BASEPRI)
        if n == 30:
            return cpu.rr(A.UC_ARM_REG_FAULTMASK)
        if n == 31:
            return cpu.control()
        raise KeyError(n)

    def _reg_hex(self, n: int) -> bytes:
        return struct.pack("<I", self.read_reg(n) & 0xFFFFFFFF).hex().encode()

    def _write_reg(self, n: int, value: int) -> None:
        cpu = self.machine.cpu
        value &= 0xFFFFFFFF
        if n in _CORE_IDS:
            cpu.rw(_CORE_IDS[n], value)
        elif n == 15:
            cpu.pc = value
        elif n == 25:
            ipsr = value & 0x1FF
            if ipsr != cpu.ipsr():
                msp, psp = cpu.banked_sps()
                cpu.set_context(ipsr, cpu.control(), msp, psp)
            cpu.rw(A.UC_ARM_REG_XPSR, value)
            cpu.rebuild_hflags()
        elif n in (26, 27, 31):
            msp, psp = cpu.banked_sps()
            control = cpu.control()
            if n == 26:
                msp = value
            elif n == 27:
                psp = value
            else:
                control = value
            cpu.set_context(cpu.ipsr(), control, msp, psp)
        elif n == 28:
            cpu.rw(A.UC_ARM_REG_PRIMASK, value & 1)
        elif n == 29:
            cpu.rw(A.UC_ARM_REG_BASEPRI, value & 0xFF)
        elif n == 30:
            cpu.rw(A.UC_ARM_REG_FAULTMASK, value & 1)

    def _write_all_regs(self, hexdata: bytes) -> bytes:
        raw = bytes.fromhex(hexdata.decode())
        for i, (n, _name) in enumerate(REGS):
            if 4 * i + 4 > len(raw):
                break
            value = struct.unpack_from("<I", raw, 4 * i)[0]
            if value != self.read_reg(n):  # G carries every register: write only the changed ones
                self._write_reg(n, value)
        return b"OK"

    # --------------------------------------------------------------- memory
    def read_memory(self, addr: int, length: int) -> bytes:
        """Up to ``length`` bytes from ``addr``; shorter if it runs into unmapped space."""
        out = bytearray()
        uc = self.machine.cpu.uc
        while len(out) < length:
            a = (addr + len(out)) & 0xFFFFFFFF
            want = length - len(out)
            win = self._window(a)
            if win is not None:
                base, size, dev = win
                n = min(want, base + size - a)
                piece = self._device_read(dev, a - base, n)
                out += piece
                if len(piece) < n:
                    break
                continue
            n = min(want, self._next_window(a) - a)
            try:
                out += uc.mem_read(a, n)
                continue
            except UcError:
                pass
            for i in range(n):  # partly mapped: as much as can be read
                try:
                    out += uc.mem_read(a + i, 1)
                except UcError:
                    break
            break
        data = bytes(out)
        for bp, orig in self._planted.items():  # never show a planted bkpt
            for i in range(2):
                if addr <= bp + i < addr + len(data):
                    k = bp + i - addr
                    data = data[:k] + orig[i:i + 1] + data[k + 1:]
        return data

    def _next_window(self, addr: int) -> int:
        nxt = 1 << 32
        for base, _size, _dev in self._windows:
            if addr < base < nxt:
                nxt = base
        return nxt

    @staticmethod
    def _unit(off: int, n: int) -> int:
        if off % 4 == 0 and n >= 4:
            return 4
        if off % 2 == 0 and n >= 2:
            return 2
        return 1

    def _device_read(self, dev: Any, off: int, n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            o = off + len(out)
            size = self._unit(o, n - len(out))
            try:
                value = int(dev.read(o, size)) & ((1 << (8 * size)) - 1)
            except Exception:
                log.debug("device read at +0x%X failed", o, exc_info=True)
                break
            out += value.to_bytes(size, "little")
        return bytes(out)

    def write_memory(self, addr: int, data: bytes) -> bool:
        if not data:
            return True
        uc = self.machine.cpu.uc
        pos = 0
        while pos < len(data):
            a = addr + pos
            win = self._window(a)
            if win is not None:
                base, size, dev = win
                n = min(len(data) - pos, base + size - a)
                o = 0
                while o < n:
                    sz = self._unit(a - base + o, n - o)
                    try:
                        dev.write(a - base + o, sz, int.from_bytes(data[pos + o:pos + o + sz], "little"))
                    except Exception:
                        return False
                    o += sz
                pos += n
                continue
            n = min(len(data) - pos, self._next_window(a) - a)
            chunk = data[pos:pos + n]
            try:
                uc.mem_write(a, chunk)
            except UcError:
                return False
            uc.ctl_remove_cache(a, a + n)
            pos += n
        return True

    # ----------------------------------------------------------- breakpoints
    def _breakpoint(self, insert: bool, rest: bytes) -> bytes:
        fields = rest.split(b";")[0].split(b",")
        if len(fields) < 3:
            return b"E01"
        btype, addr, kind = fields[0], int(fields[1], 16) & ~1, int(fields[2], 16)
        if btype not in (b"0", b"1"):
            return b""  # watchpoints: not supported, GDB falls back to software ones
        if insert:
            try:
                self.machine.cpu.uc.mem_read(addr, 2)
            except UcError:
                return b"E01"
            if self._window(addr) is not None:
                return b"E01"
            self.breakpoints[addr] = kind
        else:
            self.breakpoints.pop(addr, None)
        return b"OK"

    def _plant(self) -> None:
        uc = self.machine.cpu.uc
        for addr in self.breakpoints:
            if addr in self._planted:
                continue
            try:
                self._planted[addr] = bytes(uc.mem_read(addr, 2))
                uc.mem_write(addr, BKPT_INSN)
            except UcError:
                self._planted.pop(addr, None)
                continue
            uc.ctl_remove_cache(addr, addr + 2)

    def _unplant(self) -> None:
        uc = self.machine.cpu.uc
        for addr, orig in self._planted.items():
            try:
                uc.mem_write(addr, orig)
            except UcError:
                continue
            uc.ctl_remove_cache(addr, addr + 2)
        self._planted.clear()

    def _on_bkpt(self, _cpu: Any, _pc: int) -> bool:
        return True  # with a debugger attached every BKPT halts

    def _on_reset(self, _reason: str) -> None:
        # A system reset reloads the image over planted breakpoints: plant them again.
        if self._planted:
            self._planted.clear()
            self._plant()

    # ----------------------------------------------------------- run control
    def _resume(self, step: bool, addr: int | None) -> bytes:
        if self._exited:
            return self._last_stop
        if addr is not None:
            self.machine.cpu.pc = addr
        reply = self._stop_reply(self._run(step))
        self._last_stop = reply
        if reply.startswith(b"W"):
            self._exited = True
        return reply

    def _run(self, step: bool) -> StopReason:
        m = self.machine
        cpu = m.cpu
        if step or (cpu.pc & ~1) in self.breakpoints:
            r = step_instruction(m)
            if step or r.kind != "condition":
                return r
        m.on_reset.append(self._on_reset)
        saved_idle = m.idle_wait
        if saved_idle is not None:
            m.idle_wait = lambda timeout: saved_idle(0.02 if timeout is None else min(timeout, 0.02))
        self._plant()
        try:
            while True:
                r = m.run(cycles=self.chunk)
                if r.kind == "time":
                    if self._interrupted(0):
                        return StopReason("interrupt")
                    continue
                if r.kind == "idle":  # asleep with nothing to wake it: wait for host input or Ctrl-C
                    if self._interrupted(0.02):
                        return StopReason("interrupt")
                    continue
                return r
        finally:
            self._unplant()
            m.idle_wait = saved_idle
            m.on_reset.remove(self._on_reset)

    def _interrupted(self, timeout: float) -> bool:
        if not self._recv(timeout):
            return False
        hit = False
        for ev in list(self._events):
            if ev[0] == "int":
                hit = True
        if hit:
            self._events = deque(ev for ev in self._events if ev[0] != "int")
        return hit

    def _stop_reply(self, r: StopReason) -> bytes:
        kind = r.kind
        if kind == "exit":
            code = (r.exit_code or 0) & 0xFF
            return b"W%02x" % code
        if kind in ("fault", "lockup"):
            log.info("target stopped: %s", r.message or kind)
            return b"T%02xthread:01;" % SIGSEGV
        if kind == "interrupt":
            return b"T%02xthread:01;" % SIGINT
        if kind == "breakpoint" and (self.machine.cpu.pc & ~1) in self.breakpoints:
            return b"T%02xswbreak:;thread:01;" % SIGTRAP
        return b"T%02xthread:01;" % SIGTRAP


def serve(machine: Machine, port: int = 0, announce: Callable[[int], None] | None = None) -> StopReason:
    """Convenience: start a server, tell ``announce`` the port, serve one session."""
    server = GdbServer(machine, port)
    if announce is not None:
        announce(server.port)
    return server.serve()
