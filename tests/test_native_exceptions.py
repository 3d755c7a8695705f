"""Native exception entry, return and tail-chain (emulator/native/excpath.c) change nothing but speed.

Each program runs twice: as shipped (native entry/return/tail-chain, native SysTick
ticks, returns from handlers Python entered made natively when nothing follows them,
entries where the watched masks let a pending exception in) and with all refused
(every exception through the Python path of ``CortexM3``, the reference). At ten points
along the run the instruction count, virtual time, core registers, banked stack pointers,
CONTROL, masks and NVIC state must be identical, and so must the UART transcript. ``preempt`` is an RTOS-style
scheduler (threads on PSP, SysTick pending PendSV, privileged and unprivileged
threads, SP off 8-byte alignment, BASEPRI critical sections); the native run must
have taken and left thread mode on PSP natively, thousands of times.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

import pytest
from unicorn import arm_const as A

from emulator.board.loader import load_image
from emulator.board.machine import Machine
from emulator.board.platform import load_platform
from emulator.cpu import excpath
from emulator.cpu.cortexm import CORE_REGS, CortexM3

PROGRAMS = {"preempt": 0.25, "threads": 0.2, "nested_irq": 0.5, "timers": 0.5, "mpu_regions": 0.2,
            "fault_unmapped": 0.2, "tickless": 1.0, "nvic_irqs": 0.2, "sleeponexit": 0.2,
            "microbench_tick": 0.1, "yield_switch": 0.12}
POINTS = 10
BOARD_MAC, PEER_MAC = bytes.fromhex("525400123456"), bytes.fromhex("02be0c000001")


def _echo_frames(i: int) -> list[bytes]:
    """rawframe's input at point ``i``: frames to echo (EtherType 0x88B5), an ARP request, QUIT last."""
    if i == POINTS - 1:
        return [BOARD_MAC + PEER_MAC + b"\x88\xb5QUIT" + bytes(46)]
    arp = (b"\xff" * 6 + PEER_MAC + b"\x08\x06" + bytes.fromhex("0001080006040001") + PEER_MAC
           + bytes([10, 0, 2, 2]) + bytes(6) + bytes([10, 0, 2, 15]) + bytes(18))
    echoes = [BOARD_MAC + PEER_MAC + b"\x88\xb5" + bytes([i, k]) + bytes(48 + 100 * k) for k in range(4)]
    return [*echoes, arp]


# Programs driven by input (device interrupts from frames and received bytes): what the host
# gives the board before each point, posted so that it arrives at a slice boundary.
FED = {
    "uart_echo": (0.1, lambda m, i: m.post(lambda: m.port("uart0").deliver(b"abc %d\n" % i if i < POINTS - 1
                                                                          else b"q"))),
    "eth_irq_styles": (0.3, lambda m, i: m.post(lambda: m.frame_port("eth0").deliver(
        b"\xff" * 6 + PEER_MAC + b"\x88\xb5" + bytes(60)))),
    "rawframe": (0.35, lambda m, i: m.post(
        lambda: [m.frame_port("eth0").deliver(f) for f in _echo_frames(i)])),
}


class _Counting:
    """Wraps ExcPath: counts the entries from and returns to thread mode on PSP it did."""

    def __init__(self, path: excpath.ExcPath, cpu) -> None:
        self.path, self.cpu = path, cpu
        self.psp_entries = self.psp_returns = self.tail_chains = 0

    def enter(self, *args):
        on_psp = self.cpu.control() & 2 and not self.cpu.ipsr()
        result = self.path.enter(*args)
        self.psp_entries += bool(on_psp and not result[0] & excpath.DECLINED)
        return result

    def leave(self, mode, stkalign):
        result = self.path.leave(mode, stkalign)
        self.psp_returns += mode == excpath.TO_THREAD_PSP and not result[0] & excpath.DECLINED
        return result

    def tail_chain(self, *args):
        self.tail_chains += 1
        return self.path.tail_chain(*args)


def _machine(elf, native: bool) -> tuple[Machine, bytearray, _Counting]:
    m = Machine(load_platform("mps2-an385"))
    out = bytearray()
    m.port("uart0").connect(out.extend)
    m.load(load_image(elf))
    counting = _Counting(m.cpu._excpath, m.cpu)
    if native:
        m.cpu._excpath = counting
    else:
        m.cpu.native_exceptions = False
        m._tick_plan = lambda *_args: None
    return m, out, counting


def _state(m: Machine) -> tuple:
    cpu, e = m.cpu, m.exc
    return (m.instructions, m.clock.now, tuple(cpu.rr(r) for r in CORE_REGS), cpu.banked_sps(),
            cpu.rr(A.UC_ARM_REG_XPSR), cpu.control(), cpu.read_masks(), e.active, e.pending,
            cpu.sys.cfsr, cpu.sys.hfsr, m.scs.systick.value())


def _trajectory(elf, seconds: float, native: bool, feed=None, warm_up: float = 0.0,
                prepare: Callable[[Machine], None] | None = None,
                each: Callable[[Machine], None] | None = None) -> tuple[list[tuple], bytes, _Counting]:
    """The states at POINTS steps of a run; ``prepare`` sees the machine before it, ``each`` after
    every step."""
    m, out, counting = _machine(elf, native)
    if prepare is not None:
        prepare(m)
    m.run(m.clock.cycles(warm_up))
    step = m.clock.cycles(seconds) // POINTS
    states = []
    for i in range(POINTS):
        if feed is not None:
            feed(m, i)
        m.run(step)
        if each is not None:
            each(m)
        states.append(_state(m))
    return states, bytes(out), counting


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_native_exception_paths_match_the_python_path(firmware, name):
    elf = firmware / f"{name}.elf"
    fast, fast_out, _ = _trajectory(elf, PROGRAMS[name], native=True)
    ref, ref_out, _ = _trajectory(elf, PROGRAMS[name], native=False)
    assert fast_out == ref_out
    for i, (a, b) in enumerate(zip(fast, ref, strict=True)):
        assert a == b, f"{name}: state differs at point {i + 1}/{POINTS}"


@pytest.mark.parametrize("name", sorted(FED))
def test_native_exception_paths_match_the_python_path_with_input(firmware, name):
    """Device interrupts from input (frames, UART bytes) taken and returned from natively where
    they can be, against the Python path; rawframe after its 3 s of DHCP, uart_echo once it
    prompts (a byte before that is lost, on hardware too)."""
    elf = firmware / f"{name}.elf"
    seconds, feed = FED[name]
    warm_up = {"rawframe": 3.5, "uart_echo": 0.01}.get(name, 0.0)  # serving, prompting
    fast, fast_out, counting = _trajectory(elf, seconds, True, feed, warm_up)
    ref, ref_out, _ = _trajectory(elf, seconds, False, feed, warm_up)
    assert fast_out == ref_out
    for i, (a, b) in enumerate(zip(fast, ref, strict=True)):
        assert a == b, f"{name}: state differs at point {i + 1}/{POINTS}"
    assert counting.cpu.planned_returns > 0
    if name != "eth_irq_styles":  # these two sleep with PRIMASK set: the unmask takes the IRQ natively
        assert counting.cpu.watched_entries > 0


def _without_icsr_route(m: Machine) -> None:
    """ICSR writes through the SCS's register table and the board's SCS write (the path before
    ``SystemControlSpace._write_icsr_word``; the trampoline and ``scs.write`` share the map), none
    pended in C (``scsread.c``'s write, ``excpath.c``'s ex_pend)."""
    del m.scs._word_writes[0xD04]
    m.scs.native_reads.pend_writes = False


def test_yields_match_the_python_path(firmware):
    """yield_switch's 40 000 yields (ICSR.PENDSVSET from thread mode, pended in C, PendSV entered
    at the next block natively, its return planned) and SysTick's tail-chained switches: the same
    instruction counts, virtual times, registers, NVIC state and transcript as with every
    exception through the Python path and ICSR writes through the register table; and, natively,
    the same exception work (entries, planned returns, tail-chains, ticks) with and without the
    ICSR route and the native pends."""
    elf, seconds = firmware / "yield_switch.elf", PROGRAMS["yield_switch"]
    fast, fast_out, counting = _trajectory(elf, seconds, native=True)
    table, table_out, table_counting = _trajectory(elf, seconds, native=True, feed=_once(_without_icsr_route))
    ref, ref_out, _ = _trajectory(elf, seconds, native=False, feed=_once(_without_icsr_route))
    assert b"yield_switch: done" in fast_out
    assert fast_out == table_out == ref_out
    for i, (a, b, c) in enumerate(zip(fast, table, ref, strict=True)):
        assert a == b == c, f"yield_switch: state differs at point {i + 1}/{POINTS}"
    work = [(c.cpu.watched_entries, c.cpu.planned_returns, c.tail_chains, c.psp_entries, c.cpu.native_ticks)
            for c in (counting, table_counting)]
    assert work[0] == work[1]
    assert counting.cpu.watched_entries >= 39_900 and counting.cpu.planned_returns >= 39_900
    assert counting.cpu.native_pends >= 39_900 and table_counting.cpu.native_pends == 0


def _once(change):
    """A ``feed`` that makes ``change`` to the machine before the first point only."""
    return lambda m, i: change(m) if i == 0 else None


def test_rtos_switches_stay_native(firmware):
    """preempt switches threads ~2000 times (SysTick at 10 kHz, tail-chained into PendSV):
    the entries from PSP, the returns to PSP and the tail-chains are all native."""
    _states, out, counting = _trajectory(firmware / "preempt.elf", PROGRAMS["preempt"], native=True)
    assert b"preempt: done" in out
    # PendSV's returns to the threads: planned ones (native/excpath.c ex_planned_return), made
    # without a call into Python, or through the Python hook's native path.
    assert counting.psp_returns + counting.cpu.planned_returns >= 1500
    assert counting.cpu.planned_returns >= 1500
    assert counting.tail_chains >= 1500
    assert counting.psp_entries >= 1500


def _icsr_image_checked(monkeypatch) -> list[int]:
    """Whenever Python's NVIC has taken in native changes (``native_sync``) and at each point: a
    valid ICSR image (what ``native/scsread.c`` answers ICSR reads with) is the NVIC's (its
    ``icsr_image`` set, so that its next change drops it) and equals what a Python read of ICSR
    would store now. Returns a list whose first item counts the checks that found it valid."""
    valid_seen = [0]
    native_sync = CortexM3.native_sync

    def checked_sync(cpu: CortexM3) -> None:
        native_sync(cpu)
        _check_icsr_image(cpu, valid_seen)

    monkeypatch.setattr(CortexM3, "native_sync", checked_sync)
    return valid_seen


def _check_icsr_image(cpu: CortexM3, valid_seen: list[int]) -> None:
    port = cpu._icsr_image_valid
    if not port.value:
        return
    image = (ctypes.c_uint32 * 3).from_address(ctypes.addressof(port))
    exc = cpu.exc
    assert exc.icsr_image, "a valid ICSR image the NVIC's next change would not drop"
    scs = cpu.store_icsr_image.__self__
    bits = scs._icsr_pending_fields(exc.highest_pending()) if exc.pending else 0
    active = exc.active
    summary = 0 if not active else 0xFFFFFFFF if active & (active - 1) else active.bit_length() - 1
    assert (image[1], image[2]) == (bits, summary), "the ICSR image is not the NVIC's"
    valid_seen[0] += 1


@pytest.mark.parametrize("name", ["tickless", "nested_irq", "preempt", "rawframe"])
def test_icsr_image_is_the_nvics(firmware, monkeypatch, name):
    """The ICSR image native reads answer with, stored by Python's reads, by plans
    (``plan_native``: the highest pending exception at hand) and by planned returns to thread
    mode with nothing left active or pending (``ret_icsr_n``), against Python's NVIC; and the
    same run as with every exception through the Python path. tickless and rawframe read ICSR
    after each wake-up: mostly answered in C."""
    valid_seen = _icsr_image_checked(monkeypatch)
    elf = firmware / f"{name}.elf"
    seconds, feed = FED.get(name) or (PROGRAMS[name], None)
    warm_up = 3.5 if name == "rawframe" else 0.0
    counters: list[list[int]] = []  # the run's count of ICSR reads through Python

    def prepare(m: Machine) -> None:
        counters.append(_count_python_icsr_reads(m, monkeypatch))

    states, out, _ = _trajectory(elf, seconds, True, feed, warm_up, prepare,
                                 lambda m: _check_icsr_image(m.cpu, valid_seen))
    ref, ref_out, _ = _trajectory(elf, seconds, False, feed, warm_up)
    assert out == ref_out
    assert states == ref
    if name == "tickless":  # 20 reads through Python with neither the plans' image nor the returns'
        assert valid_seen[0] > 5 and counters[0][0] <= 8, (valid_seen[0], counters[0][0])


def _count_python_icsr_reads(m: Machine, monkeypatch) -> list[int]:
    count = [0]
    read = m.scs._word_reads[0xD04]

    def counted() -> int:
        count[0] += 1
        return read()

    monkeypatch.setitem(m.scs._word_reads, 0xD04, counted)
    return count
