"""``Machine._run`` makes a step's call only when the step has work (an event due, a cancelled timer
on top of the heap, a PC the masked-spin check has not seen, an enabled pending exception for a
sleeping CPU, a SysTick plan that can apply). The same programs through it and through the loop as
it was before (``run_loop_reference``, every call every turn) give the same transcripts, frames
sent and their times, final virtual time, instruction count, stop reason and masked-spin state, and
the SysTick ticks, returns and entries native code took. A run that reaches its end with nothing
left to do returns without another turn; a simulation moves a board that only sleeps through a
quantum without ``Machine.run`` (``Machine.sleep_through``): the simulations run the same through
``Simulation.run`` and the loops as they were (``reference_simulation_run``). ``Machine._run``'s
common first turn (awake, nothing due, pending or watched) is checked against whatever may be left
for it between runs: a timer due at the start or inside the run, an exception pended, host input
posted, PRIMASK set, a halt."""

from __future__ import annotations

import types
from pathlib import Path

import pytest
from run_loop_reference import reference_run, reference_simulation_run
from unicorn.arm_const import UC_ARM_REG_PRIMASK, UC_ARM_REG_R4, UC_ARM_REG_R5

from emulator.board.loader import load_image
from emulator.board.machine import Machine, StopReason
from emulator.board.platform import load_platform
from emulator.board.simulation import load_simulation

MS = 25_000  # cycles of the 25 MHz board


def _use_reference(m: Machine) -> None:
    """The run loop as it was (``run_loop_reference``) for this machine."""
    m._run = types.MethodType(reference_run, m)  # type: ignore[method-assign]


def _observed(m: Machine, stop, out: bytearray, sent: list) -> tuple:
    f, cpu = m.faults, m.cpu
    return (stop.kind, stop.exit_code, stop.message, bytes(out), list(sent), m.clock.now, m.instructions,
            f.spin_pc, f.spin_loop, cpu.sleeping,
            # what native code did (a plan taken or declined differently shows here first)
            cpu.native_ticks, cpu.planned_returns, cpu.watched_entries)


def _between_runs(m: Machine) -> tuple:
    """What anyone may look at when ``run`` returned: everything due by then has been done (an
    event due at the end fired, an exception deliverable then taken)."""
    return (m.clock.now, m.instructions, m.cpu.pc, m.exc.pending, m.exc.active, m.faults.spin_pc,
            [(t.when, t.name) for t in m.clock.pending()])


def _probe(m: Machine, when: int, probes: list) -> None:
    """A harmless event at ``when``, where a run ends: a run that returned without firing it shows."""
    m.clock.call_at(when, lambda: probes.append(m.clock.now), "probe")


def _firmware_run(elf: Path, reference: bool, host_poll: bool, chunk_ms: float | None,
                  frames: list[tuple[int, bytes]] = (), until_cycles: int | None = None) -> tuple:
    m = Machine(load_platform("mps2-an385"))
    if reference:
        _use_reference(m)
    out = bytearray()
    m.port("uart0").connect(out.extend)
    sent: list[tuple[int, bytes]] = []
    fp = m.frame_port("eth0")
    fp.connect(lambda frame: sent.append((m.clock.now, bytes(frame))))
    fp.set_link(True)
    if host_poll:
        m.host_polls.append(lambda: None)  # a boundary per tick: no SysTick plan, every turn in Python
    m.load(load_image(elf))
    for when, frame in frames:
        m.clock.call_at(when, lambda frame=frame: fp.deliver(frame), "frame")
    limit = until_cycles if until_cycles is not None else m.clock.cycles(10.0)
    chunk = limit if chunk_ms is None else m.clock.cycles(chunk_ms / 1000)
    steps, probes = [], []
    while True:
        if len(steps) % 2:  # at every other end: the others end with nothing due
            _probe(m, m.clock.now + min(chunk, limit - m.clock.now), probes)
        stop = m.run(min(chunk, limit - m.clock.now))
        steps.append(_between_runs(m) + (len(out), len(probes)))
        if stop.kind != "time" or m.clock.now >= limit:
            return _observed(m, stop, out, sent) + (steps,)


@pytest.mark.parametrize("host_poll, chunk_ms", [(False, None), (False, 0.25), (True, None), (True, 1.0)])
@pytest.mark.parametrize("name", ["nested_irq", "timers", "preempt", "tickless", "sleeponexit"])
def test_programs_run_the_same_through_the_reference_loop(firmware, name, host_poll, chunk_ms):
    elf = firmware / f"{name}.elf"
    ours = _firmware_run(elf, False, host_poll, chunk_ms)
    assert ours[0] == "exit" and ours[1] == 0, ours[:3]
    assert ours == _firmware_run(elf, True, host_poll, chunk_ms)


BOARD_MAC, PEER_MAC = bytes.fromhex("525400123456"), bytes.fromhex("02be0c000001")


@pytest.mark.parametrize("host_poll", [False, True])
def test_frames_echoed_while_sleeping_with_primask_set_run_the_same(firmware, host_poll):
    """rawframe sleeps in `cpsid i; wfi; cpsie i` between frames: the turns where the masked-spin
    check and the wake-up question are skipped. Its DHCP phase takes 3 s of board time."""
    start = 3_100 * MS
    frames = [(start + i * 17_500 + (i % 3) * 4_000, BOARD_MAC + PEER_MAC + b"\x88\xb5" + bytes([i]) * 50)
              for i in range(60)]
    elf, until = firmware / "rawframe.elf", start + 60 * 20_000
    ours = _firmware_run(elf, False, host_poll, None, frames, until)
    assert ours[0] == "time"
    echoed = [frame for _t, frame in ours[4] if frame[12:14] == b"\x88\xb5"]
    assert len(echoed) == 60, len(echoed)
    assert ours == _firmware_run(elf, True, host_poll, None, frames, until)


MASKED_SLEEP_THEN_SPIN = """
reset:
    STORE32 SYST_RVR, {reload}
    STORE32 SYST_CVR, 0
    STORE32 SYST_CSR, 7
    ldr r4, =0
sleep:
    cpsid i
    wfi
    cpsie i
    adds r4, r4, #1
    cmp r4, #{sleeps}
    bne sleep
    cpsid i
    {tail}
systick:
    bx lr
"""


@pytest.mark.parametrize("tail, expect", [
    ("halt:\n    b halt", "fault"),                                     # a dead spin: reported
    ("ldr r0, =UART0\npoll:\n    ldr r1, [r0, #4]\n    b poll", "time"),  # a masked poll: left alone
])
def test_masked_sleeps_and_spins_stop_the_same(board, tail, expect):
    source = MASKED_SLEEP_THEN_SPIN.format(reload=MS - 1, sleeps=30, tail=tail)
    seen = []
    for reference in (False, True):
        b = board(source, {"SysTick": "systick"})
        if reference:
            _use_reference(b.m)
        stop = b.m.run(400 * MS)
        assert stop.kind == expect, stop.message
        seen.append(_observed(b.m, stop, b.uart, []) + (stop.report.headline if stop.report else None,))
    assert seen[0] == seen[1]


SIMULATIONS = Path(__file__).resolve().parents[2] / "platforms" / "simulations"


def _simulation_run(name: str, reference: bool, step_ns: int, limit_ns: int) -> tuple:
    sim = load_simulation(SIMULATIONS / f"{name}.yaml")
    outs, wire, steps, probes = [], [], [], []
    for b in sim.boards:
        if reference:
            _use_reference(b.machine)
        outs.append(bytearray())
        b.machine.port("uart0").connect(outs[-1].extend)
    for sp in sim.switch.ports:
        sp.taps.append(lambda t, frame, way, port=sp.name: wire.append((port, t, way, bytes(frame))))
    while sim.board("client").stop is None and sim.now_ns < limit_ns:
        if len(steps) % 2:  # at every other step's end: each board, asleep or not, has an event due there
            for b in sim.boards:
                _probe(b.machine, (sim.now_ns + step_ns) * b.machine.clock.hz // 1_000_000_000, probes)
        if reference:
            reference_simulation_run(sim, step_ns)
        else:
            sim.run(step_ns)
        steps.append([_between_runs(b.machine) + (len(out), len(probes)) for b, out in zip(sim.boards, outs,
                                                                                            strict=True)])
    boards = [_observed(b.machine, b.stop or StopReason("running"), out, [])
              for b, out in zip(sim.boards, outs, strict=True)]
    return sim.now_ns, boards, wire, sorted((k, str(v)) for k, v in sim.switch.counters().items()), steps


@pytest.mark.parametrize("name, step_ns, limit_ns", [
    ("rawping-pair", 1_000_000, 20_000_000_000),     # rawframe sleeps with PRIMASK set between frames
    ("telemetry-pair", 1_000_000, 20_000_000_000),   # both sleep (tickless) between reports
    ("echo-pair", 1_000_000, 60_000_000_000),        # both busy: runs that end with work left
])
def test_simulations_run_the_same_through_the_reference_loops(firmware, name, step_ns, limit_ns):
    ours = _simulation_run(name, False, step_ns, limit_ns)
    assert ours[1][-1][:2] == ("exit", 0), ours[1]
    assert ours == _simulation_run(name, True, step_ns, limit_ns)


PEND_THEN_SPIN = """
reset:
    IRQ_ENABLE 0
    STORE32 NVIC_ISPR, 1
    b spin
spin:
    adds r4, r4, #1
    b spin
irq0:
    adds r5, r5, #1
    bx lr
"""


@pytest.mark.parametrize("cycles", range(1, 10))
def test_runs_ending_where_an_exception_is_pended_stop_the_same(board, cycles):
    """The write that pends IRQ 0 ends its slice with the block (``b spin``); a run of that many
    cycles ends there too, with the exception deliverable: taken before the run returns."""
    seen = []
    for reference in (False, True):
        b = board(PEND_THEN_SPIN, {16: "irq0"})
        if reference:
            _use_reference(b.m)
        steps = []
        for n in (cycles, 20):
            stop = b.m.run(n)
            steps.append((stop.kind, _between_runs(b.m), b.trace[:]))
        seen.append(steps)
    assert seen[0] == seen[1]


SLEEP_WITHOUT_EVENTS = """
reset:
    IRQ_ENABLE 0
sleep:
    {mask}
    wfi
    cpsie i
    adds r4, r4, #1
    b sleep
irq0:
    adds r5, r5, #1
    bx lr
"""


@pytest.mark.parametrize("mask", ["", "cpsid i"])
@pytest.mark.parametrize("cycles", [None, 3 * MS])
def test_sleeps_with_nothing_scheduled_wait_and_stop_the_same(board, mask, cycles):
    """A CPU asleep with no event scheduled: the idle wait is asked (host input may wake it), an
    answer of True turns the loop again, a wake-up posted during the wait pends IRQ 0 (taken, or
    only waking the CPU under PRIMASK); the run then ends where it should (``idle``, or its end)."""
    seen = []
    for reference in (False, True):
        b = board(SLEEP_WITHOUT_EVENTS.format(mask=mask), {16: "irq0"})
        m = b.m
        if reference:
            _use_reference(m)
        waits: list[tuple] = []

        def wait(timeout: float | None, m: Machine = m, waits: list = waits) -> bool:
            waits.append((timeout, m.clock.now, m.instructions, m.cpu.sleeping))
            if len(waits) in (2, 4):
                m.post(lambda: m.exc.set_pending(16))
            return len(waits) < 6

        m.idle_wait = wait
        steps = []
        for _ in range(2):
            stop = m.run(cycles)
            steps.append((stop.kind, stop.message, _between_runs(m), m.cpu.sleeping, m.cpu.rr(UC_ARM_REG_R4),
                          m.cpu.rr(UC_ARM_REG_R5), list(waits)))
        seen.append(steps)
    assert seen[0][0][0] == ("idle" if cycles is None else "time"), seen[0]
    assert len(seen[0][-1][-1]) >= 6
    assert seen[0] == seen[1]


SPIN_WITH_IRQ = """
reset:
    IRQ_ENABLE 0
spin:
    adds r4, r4, #1
    b spin
irq0:
    adds r5, r5, #1
    bx lr
"""


def _poke(m: Machine, step: int, fired: list) -> None:
    """Between two runs, one thing the common first turn must see (or nothing)."""
    exc, clock = m.exc, m.clock
    kind = step % 8
    if kind == 1:  # a timer due where the run starts
        clock.call_at(clock.now, lambda: fired.append(("due", clock.now)), "due")
    elif kind == 2:  # an exception pended directly
        exc.set_pending(16)
    elif kind == 3:  # host input
        m.post(lambda: exc.set_pending(16))
    elif kind == 4:  # PRIMASK set (the masks unknown), then a pend held back by it
        m.cpu.rw(UC_ARM_REG_PRIMASK, 1)
        exc.set_pending(16)
    elif kind == 5:
        m.cpu.rw(UC_ARM_REG_PRIMASK, 0)
    elif kind == 6:  # a timer inside the run that pends the exception
        clock.call_at(clock.now + 37, lambda: (fired.append(("mid", clock.now)), exc.set_pending(16)), "mid")
    elif kind == 7 and step == 15:
        m.cpu.halt_reason = "halt"


@pytest.mark.parametrize("cycles", [1, 7, 300, 1_000])
def test_common_first_turn_sees_what_is_left_between_runs(board, cycles):
    seen = []
    for reference in (False, True):
        b = board(SPIN_WITH_IRQ, {16: "irq0"})
        m = b.m
        if reference:
            _use_reference(m)
        fired: list = []
        steps = []
        for step in range(24):
            _poke(m, step, fired)
            stop = m.run(cycles)
            steps.append((stop.kind, _between_runs(m), m.cpu.rr(UC_ARM_REG_R4), m.cpu.rr(UC_ARM_REG_R5),
                          m.exc.known_masks, list(fired), len(b.trace)))
        seen.append((steps, b.trace[:]))
    assert any(s[0] == "halt" for s in seen[0][0])
    assert seen[0][0][-1][3] >= 4  # the handler ran for the pends
    assert seen[0] == seen[1]
