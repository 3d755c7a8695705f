"""The GDB server (bridge/gdbserver.py): a real gdb session and raw protocol checks."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bridge.gdbserver import GdbServer, checksum, frame  # noqa: E402
from emulator.board.loader import load_image  # noqa: E402
from emulator.board.machine import Machine, StopReason  # noqa: E402
from emulator.board.platform import load_platform  # noqa: E402

FIRMWARE = ROOT / "firmware"
BUILD = FIRMWARE / "build"
PROGRAMS = ("hello", "fault_div0", "crash", "uart_echo", "cpubench")
GDB_TIMEOUT = 60


@pytest.fixture(scope="module")
def firmware() -> Path:
    if not all((BUILD / f"{p}.elf").exists() for p in PROGRAMS):
        r = subprocess.run(["make", "-C", str(FIRMWARE)], capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"firmware build failed:\n{r.stdout}\n{r.stderr}"
    return BUILD


def gdb_binary() -> str:
    for name in ("gdb-multiarch", "arm-none-eabi-gdb"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("neither gdb-multiarch nor arm-none-eabi-gdb is installed")


class Session:
    """A machine with a GdbServer serving it from a background thread."""

    def __init__(self, elf: Path) -> None:
        self.machine = Machine(load_platform("mps2-an385"))
        self.image = load_image(elf)
        self.machine.load(self.image)
        self.uart = bytearray()
        self.machine.port("uart0").connect(self.uart.extend)
        self.server = GdbServer(self.machine, 0)
        self.result: StopReason | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            self.result = self.server.serve(accept_timeout=GDB_TIMEOUT, run_on_detach=False)
        except BaseException as e:  # reported by finish()
            self.error = e

    def finish(self) -> StopReason:
        self.thread.join(GDB_TIMEOUT)
        assert not self.thread.is_alive(), "the server did not end its session"
        assert self.error is None, f"server raised {self.error!r}"
        assert self.result is not None
        return self.result


def run_gdb(elf: Path, port: int, commands: list[str]) -> str:
    args = [gdb_binary(), "--batch", "-nx", "-ex", "set confirm off", "-ex", f"target remote :{port}"]
    for c in commands:
        args += ["-ex", c]
    args.append(str(elf))
    p = subprocess.run(args, capture_output=True, text=True, timeout=GDB_TIMEOUT)
    return p.stdout + p.stderr


def reg_value(out: str, name: str) -> list[int]:
    return [int(v, 16) for v in re.findall(rf"^{name}\s+(0x[0-9a-f]+)", out, re.M)]


def test_gdb_session_breakpoints_steps_memory_and_exit(firmware: Path) -> None:
    elf = firmware / "fault_div0.elf"
    s = Session(elf)
    main = s.machine.symbols.address("main")
    assert main is not None
    out = run_gdb(elf, s.server.port, [
        "break main", "continue", "info registers pc",
        "stepi", "info registers pc",
        "next",
        "print faults",
        "x/4xw 0x0",
        "break usagefault_c", "continue", "print faults", "bt",
        "delete", "continue",
    ])
    result = s.finish()
    assert "Breakpoint 1, main () at tests/fault_div0.c" in out, out
    pcs = reg_value(out, "pc")
    assert len(pcs) == 2, out
    assert pcs[0] == main & ~1, out
    assert pcs[1] != pcs[0], out
    assert "$1 = 0" in out, out
    # The vector table as loaded: initial SP, then Reset_Handler.
    words = re.search(r"^0x0\b.*?:\s+(0x[0-9a-f]{8})\s+(0x[0-9a-f]{8})\s+(0x[0-9a-f]{8})\s+(0x[0-9a-f]{8})",
                      out, re.M)
    assert words, out
    seg = next(seg for seg in s.image.segments if seg.address == 0)
    expected = [int.from_bytes(seg.data[i:i + 4], "little") for i in range(0, 16, 4)]
    assert [int(w, 16) for w in words.groups()] == expected, out
    assert re.search(r"Breakpoint 2, usagefault_c \(frame=0x[0-9a-f]+\) at tests/fault_div0.c", out), out
    assert "$2 = 0" in out, out  # the first trapped divide, before the handler counts it
    assert "<signal handler called>" in out, out  # GDB unwinds the Cortex-M exception frame
    assert "[Inferior 1 (Remote target) exited normally]" in out, out
    assert result.kind == "exit" and result.exit_code == 0
    golden = (FIRMWARE / "golden" / "fault_div0.txt").read_bytes()
    assert bytes(s.uart) == golden


def test_gdb_fault_stops_with_sigsegv_and_can_be_inspected(firmware: Path) -> None:
    elf = firmware / "crash.elf"
    s = Session(elf)
    out = run_gdb(elf, s.server.port, ["continue", "info registers pc", "bt", "kill"])
    result = s.finish()
    assert "Program received signal SIGSEGV" in out, out
    assert "HardFault_Handler" in out, out
    assert re.search(r"in main \(\) at tests/crash.c", out), out  # backtrace through the exception frame
    handler = s.machine.symbols.address("HardFault_Handler")
    assert reg_value(out, "pc") == [handler & ~1], out
    assert result.kind == "halt"


# ----------------------------------------------------------------- raw protocol
class Raw:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self, deadline: float) -> None:
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        data = self.sock.recv(4096)
        if not data:
            raise ConnectionError("server closed the connection")
        self.buf += data

    def read_byte(self, timeout: float = 10) -> bytes:
        deadline = time.monotonic() + timeout
        while not self.buf:
            self._fill(deadline)
        b, self.buf = self.buf[:1], self.buf[1:]
        return b

    def packet(self, timeout: float = 10) -> bytes:
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(rb"\$([^#]*)#([0-9a-f]{2})", self.buf)
            if m:
                self.buf = self.buf[m.end():]
                assert int(m.group(2), 16) == checksum(m.group(1))
                return m.group(1)
            self._fill(deadline)

    def command(self, body: bytes, ack: bool = True) -> bytes:
        self.send(frame(body))
        if ack:
            assert self.read_byte() == b"+"
        return self.packet()

    def close(self) -> None:
        self.sock.close()


def test_protocol_survives_garbage_and_bad_checksums(firmware: Path) -> None:
    s = Session(firmware / "hello.elf")
    raw = Raw(s.server.port)
    try:
        raw.send(b"garbage\x00\xff\x7d}}##")
        raw.send(b"$?#00")  # wrong checksum
        assert raw.read_byte() == b"-"
        raw.send(b"$?#zz")  # not even hex
        assert raw.read_byte() == b"-"
        raw.send(b"$g$?#3f")  # a '$' inside a packet starts a new one
        assert raw.read_byte() == b"+"
        assert raw.packet() == b"T05thread:01;"
        assert raw.command(b"qNoSuchThing") == b""
        assert raw.command(b"m60000000,4") == b"E01"
        assert raw.command(b"mzz") == b"E01"
        assert raw.command(b"?") == b"T05thread:01;"
        # Retransmission on '-'.
        raw.send(b"-")
        assert raw.packet() == b"T05thread:01;"
        assert raw.command(b"QStartNoAckMode") == b"OK"
        xml = raw.command(b"qXfer:features:read:target.xml:0,3fff", ack=False)
        assert xml.startswith(b"l") and b"org.gnu.gdb.arm.m-profile" in xml
        assert raw.command(b"qfThreadInfo", ack=False) == b"m1"
        regs = raw.command(b"g", ack=False)
        assert len(regs) == 23 * 8
        pc = int.from_bytes(bytes.fromhex(regs[15 * 8:16 * 8].decode()), "little")
        assert pc == s.machine.symbols.address("Reset_Handler") & ~1
        # Software breakpoint at main: memory reads show the real code.
        main = s.machine.symbols.address("main") & ~1
        before = raw.command(b"m%x,2" % main, ack=False)
        assert raw.command(b"Z0,%x,2" % main, ack=False) == b"OK"
        assert raw.command(b"c", ack=False) == b"T05swbreak:;thread:01;"
        assert raw.command(b"pzz", ack=False) == b"E01"  # malformed: an error, not a crash
        assert raw.command(b"pf", ack=False) == main.to_bytes(4, "little").hex().encode()
        assert raw.command(b"m%x,2" % main, ack=False) == before != b"00be"
        assert raw.command(b"z0,%x,2" % main, ack=False) == b"OK"
        assert raw.command(b"s", ack=False) == b"T05thread:01;"
        assert raw.command(b"c", ack=False) == b"W00"
    finally:
        raw.close()
    result = s.finish()
    assert result.kind == "exit" and result.exit_code == 0
    assert bytes(s.uart) == (FIRMWARE / "golden" / "hello.txt").read_bytes()


# Busy (cpubench_long: 1.78 G instructions, seconds of work however fast the run), and asleep
# waiting for input.
@pytest.mark.parametrize("program", ["cpubench_long", "uart_echo"])
def test_ctrl_c_interrupts_a_running_target(firmware: Path, program: str) -> None:
    s = Session(firmware / f"{program}.elf")
    raw = Raw(s.server.port)
    try:
        assert raw.command(b"QStartNoAckMode") == b"OK"
        raw.send(frame(b"vCont;c"))
        time.sleep(0.3)
        raw.send(b"\x03")
        assert raw.packet(timeout=10) == b"T02thread:01;"
        assert raw.command(b"vCont;s:1", ack=False) == b"T05thread:01;"
        raw.send(frame(b"k"))
    finally:
        raw.close()
    assert s.finish().kind == "halt"
