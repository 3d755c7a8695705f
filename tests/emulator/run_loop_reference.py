"""``Machine``'s run loop as it was before each step's call was made only when the step has work
(every turn: ``fire_due``, ``next_deadline``, the masked-spin check with its PC and time read, the
wake-up question for a sleeping CPU, ``_tick_plan`` with each of its conditions in turn, the pacer
through ``clock.now``).
``tests/emulator/test_run_loop_twin.py`` runs the same programs through it and through
``Machine._run`` and compares everything observable. ``reference_simulation_run``: ``Simulation.run``
as it was before a board that only sleeps through a quantum was moved without ``Machine.run``."""

from __future__ import annotations

from collections.abc import Callable

from unicorn import UC_ERR_OK
from unicorn.arm_const import UC_ARM_REG_PC

from emulator.board.faultreport import build_report
from emulator.board.faultwatch import FAULT_ACTIVE
from emulator.board.machine import MAX_SLICE, Machine, StopReason
from emulator.board.simulation import Board, Simulation
from emulator.cpu.cortexm import _PLANNABLE, CCR_STKALIGN_BIT, NO_SLICE, UNTIL, CortexM3, Fault, Lockup
from emulator.cpu.nvic import SYSTICK
from emulator.cpu.systick import TICKINT


def reference_run(self: Machine, cycles: int | None, until: Callable[[], bool] | None) -> StopReason:
    cpu, clock, exc = self.cpu, self.clock, self.exc
    end = None if cycles is None else clock.now + cycles
    self._stop = None
    self._until = until
    if self._locked is not None:
        return self._locked
    faults = self.faults
    inbox = self.inbox
    host_polls = self.host_polls
    semihosting = self.semihosting
    fire_due = clock.fire_due
    next_deadline = clock.next_deadline
    try:
        while True:
            if not inbox.empty():
                self._apply_inbox()
            for poll in host_polls:
                poll()
            fire_due()
            if semihosting.exit is not None:
                code = semihosting.exit.code
                semihosting.exit = None
                return StopReason("exit", exit_code=code)
            if self._stop is not None:
                return self._stop
            if self._reset_reason is not None:
                reason, self._reset_reason = self._reset_reason, None
                self._system_reset(reason)
                continue
            if cpu.halt_reason is not None:
                reason, cpu.halt_reason = cpu.halt_reason, None
                return StopReason(reason)
            if cpu.fault is not None:
                stop = self._stopped_by(faults.before_fault(cpu.fault))
                if stop is not None:
                    return stop
                cpu.take_fault()
                continue
            if exc.pending:
                n = exc.deliverable()
                if n:
                    cpu.take_exception(n)
                    # No time passed: what was checked above stands, unless the entry stopped
                    # the run, recorded a fault or left an exception (a stacking error's
                    # BusFault) that preempts its handler.
                    if self._stop is not None or cpu.fault is not None or exc.deliverable():
                        continue
            if until is not None and until():
                return StopReason("condition")
            if exc.active & FAULT_ACTIVE:
                stop = self._stopped_by(faults.check_parked(self.symbols.lookup))
                if stop is not None:
                    return stop
            elif cpu.read_masks()[0] & 1:  # PRIMASK: is it a dead spin?
                stop = self._stopped_by(faults.check_masked_spin(self.symbols.lookup))
                if stop is not None:
                    return stop
            elif faults.spin_pc >= 0:
                faults.spin_pc = -1
            now = clock.base  # between slices: no progress to add
            if end is not None and now >= end:
                return StopReason("time")
            deadline = next_deadline()
            if cpu.sleeping and reference_wakeup(self):
                cpu.sleeping = False  # and run now: nothing checked above has changed
            if cpu.sleeping:
                if deadline is None and self.idle_wait is not None and self.idle_wait(None):
                    continue  # host input arrived (or may still): virtual time stood still
                target = deadline if end is None or (deadline is not None and deadline < end) else end
                if target is None:
                    return StopReason("idle", message="the CPU sleeps and nothing is left to wake it")
                if self.pacer is not None:
                    target = max(now, self.pacer(target))
                clock.advance(target - now)
                continue
            budget = MAX_SLICE
            ticks = None
            if deadline is not None:
                ticks = reference_tick_plan(self, now, deadline, until)
                if ticks is not None:  # the slice may run through SysTick ticks
                    deadline = ticks[3]
                if deadline is not None and deadline - now < budget:
                    budget = deadline - now
            if end is not None and end - now < budget:
                budget = end - now
            reference_slice(self, budget if budget > 1 else 1, ticks)
            if self.pacer is not None:
                self.pacer(clock.base)
    except Lockup as e:
        report = build_report(self, 3, lockup=str(e))
        return StopReason("lockup", report=report, message=report.headline)


def reference_slice(self: Machine, budget: int,
                    ticks: tuple[int, int, int, int | None] | None = None) -> None:
    clock = self.clock
    start = clock.base  # between slices: no progress to add
    clock.slice_end = start + budget
    cpu = self.cpu
    try:
        if self._stepping:
            ran, idle = cpu.step(), 0
        else:
            ran = reference_cpu_run(cpu, budget, ticks)
            idle = cpu.slice_idle
    finally:
        clock.slice_end = None
    clock.advance(ran)
    self.instructions += ran - idle
    if ticks is not None and cpu.slice_ticks:
        # The ticks taken natively: SysTick's next event follows the last of them.
        systick = self.scs.systick
        timer = systick.timer
        if timer is not None and not timer.cancelled and timer.when == start + ticks[0]:
            timer.cancel()
            systick.timer = clock.call_at(start + ticks[0] + cpu.slice_ticks * ticks[1],
                                          systick.expire, "systick")


def reference_cpu_run(cpu: CortexM3, budget: int, ticks: tuple[int, int, int, int | None] | None) -> int:
    """``CortexM3.run`` as it was before the block clock reported the work a slice leaves
    (``WORK_SYNC``, ``WORK_PULL``) and kept the count of native ticks and the slice's base: what
    native code did (a natively taken tick's handler running, excpath's log, the native SysTick
    copy's writes) read from Python after each slice, the slice's base put back from Python, the
    count of instructions run made not negative here."""
    bc, state, exc, clock, mputlb = cpu._bc, cpu._bc_state, cpu.exc, cpu.clock, cpu.mputlb
    cpu._stop_requested = False
    clock.slice_progress = cpu._progress
    cpu.native_base.value = clock.base
    if mputlb.flush_pending:
        mputlb.flush()
    watch = None
    if exc.pending:
        n, prio, running = exc.preempt or exc.preemption()
        if n and prio < running:
            watch = exc.known_masks or cpu.read_masks()
    if watch is None and ticks is not None:
        first = ticks[0]
        bc.set_ticks(ticks[1], ticks[2], cpu.sys.vtor, cpu.sys.ccr >> CCR_STKALIGN_BIT & 1)
    else:
        first = -1
    exc.known_masks = cpu.slice_pc = None
    cpu.running = True
    exc.on_change = cpu._on_exceptions_change
    if (exc.pending & exc.enabled or exc.active & _PLANNABLE or exc.return_plan or cpu._entry_armed
            or cpu.plans_pends):
        cpu.plan_native()
    else:
        exc.changed = False
    uc = cpu.uc
    uc._hook_exception = None
    try:
        state.next_budget = budget
        if watch is not None:
            masks = state.masks
            masks[0], masks[1], masks[2] = watch
            state.next_watch = 1
        elif first >= 0:
            state.next_tick_first = first
        err = bc.run_slice()
        if state.tick_active or cpu._returns_state.ret_count:
            cpu.native_sync()
    finally:
        pull = cpu.slice_pull
        if pull is not None and pull[0].st_dirty:
            pull[1]()
        cpu.running = False
        exc.on_change = None
        clock.slice_progress = int
        if exc.return_plan or cpu._entry_armed:
            cpu._drop_plans()
        cpu.native_base.value = NO_SLICE
    if uc._hook_exception is not None and err == UC_ERR_OK:
        cpu.slice_idle, cpu.slice_ticks = state.idle, state.ticks
        raise uc._hook_exception
    if mputlb.resume_pc is not None:
        cpu.rw(UC_ARM_REG_PC, mputlb.resume_pc | 1)
        mputlb.resume_pc = None
        bc.report()
    pc, primask, faultmask, basepri, ran, before, idle, ticks_taken, budget_spent = bc.out.tolist()[:9]
    cpu.slice_idle, cpu.slice_ticks = idle, ticks_taken
    exc.known_masks = (primask, faultmask, basepri)
    cpu.slice_pc = pc
    if err != UC_ERR_OK or pc == UNTIL or not budget_spent:
        if err != UC_ERR_OK:
            if cpu.fault is None:
                cpu.raise_fault(Fault("UNDEFINSTR" if err == 10 else "PRECISERR", pc,
                                      detail=f"Unicorn error {err} at 0x{pc:08X}"))
        elif pc == UNTIL:
            cpu.raise_fault(Fault("IBUSERR", UNTIL, UNTIL, "execution reached 0xFFFFFF00"))
        elif cpu.fault is None and before == 0xBF30:
            cpu.sleeping = True
    return ran if ran > 0 else 0


def reference_tick_plan(self: Machine, now: int, deadline: int, until: Callable[[], bool] | None
                        ) -> tuple[int, int, int, int | None] | None:
    """``Machine._tick_plan`` as it was: one condition after the other, ``native_ticks_allowed`` as it was."""
    systick = self.scs.systick
    timer = systick.timer
    if (timer is None or timer.when != deadline or until is not None or self._stepping
            or self.pacer is not None or self.host_polls
            or self.exception_observers or not systick.csr & TICKINT
            or not systick.reload or not reference_native_ticks_allowed(self.cpu)):
        return None
    vector = self._systick_vector
    if not vector & 1:
        return None  # the first tick goes through Python, which checks the handler
    period = (systick.reload + 1) * systick.cycles_per_tick()
    return deadline - now, period, vector, self.clock.next_deadline(besides=timer)


def reference_native_ticks_allowed(cpu: CortexM3) -> bool:
    exc = cpu.exc
    return (exc.active in (0, 1 << SYSTICK) and not exc.pending & exc.enabled
            and not cpu.mputlb.active
            and not cpu.sys.sleeponexit and cpu.trace_exceptions is None
            and cpu.on_exception_return is None and not cpu._div_hooks)


def reference_wakeup(self: Machine) -> bool:
    """WFI wakes on an exception that would preempt if PRIMASK were clear."""
    exc = self.exc
    if not exc.pending & exc.enabled:
        return False
    n = exc.highest_pending()
    _primask, faultmask, basepri = self.cpu.read_masks()
    return exc.group_priority(exc.priority[n]) < exc.execution_priority(masks=(0, faultmask, basepri))


def reference_simulation_run(self: Simulation, duration_ns: int) -> dict[str, StopReason | None]:
    end = self.now_ns + duration_ns
    running = [b for b in self.boards if b.stop is None]
    while self.now_ns < end and running:
        target = min(end, self.now_ns + self.quantum_ns)
        horizon = reference_idle_horizon_ns(running)
        if horizon is not None and horizon > target:
            target = min(end, horizon)
        for b in running:
            clock = b.machine.clock
            due = target * clock.hz // 1_000_000_000
            cycles = due - clock.now
            if cycles <= 0:
                continue
            stop = b.machine.run(cycles)
            if stop.kind == "idle":
                clock.advance(max(0, due - clock.now))
                clock.fire_due()
            elif stop.kind != "time":
                b.stop = stop
        self.now_ns = target
        running = [b for b in running if b.stop is None]
    return {b.name: b.stop for b in self.boards}


def reference_idle_horizon_ns(running: list[Board]) -> int | None:
    horizon: int | None = None
    for b in running:
        wake = b.machine.next_wake_cycles()
        if wake is None:
            return None
        if wake < 0:
            continue
        ns = -(-wake * 1_000_000_000 // b.machine.clock.hz)
        horizon = ns if horizon is None else min(horizon, ns)
    return horizon
