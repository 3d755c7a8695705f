"""Renode's LED keywords over the board's LEDs (``fpgaio.led0``, ``fpgaio.led1``, ``gpio0.pin5`` ...).

``Create LED Tester    sysbus.fpgaio.led0    defaultTimeout=0    machine=``
returns an id; ``Assert LED State    true    timeout=1`` runs the board until
the LED is in that state (``timeout=0``, the default: it must be now);
``Assert LED Is Blinking    testDuration    onDuration    offDuration
tolerance=0.05`` runs for ``testDuration`` and fails when the LED never
changed or a period was out of ``onDuration``/``offDuration`` ± tolerance
(the first change only synchronises, as in Renode); ``Assert LED Duty Cycle``
and ``Assert And Hold LED State`` as Renode's. Times are seconds of virtual
time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from robot.api import logger

from vboard.robot_args import keyword_args, pick_tester, seconds_ns, to_bool
from vboard.robot_core import observe


@dataclass
class LedTester:
    id: int
    board: str
    led: str
    timeout_ns: int
    in_test: bool = False


class LedKeywords:
    def _init_leds(self) -> None:
        self.led_testers: dict[int, LedTester] = {}
        self.led_timeout_ns = 0

    def _forget_session(self) -> None:
        super()._forget_session()  # type: ignore[misc]
        self.led_testers = {}

    def _led(self, tester_id: Any) -> LedTester:
        return pick_tester(self.led_testers, tester_id, "LED",
                           "There is more than one LED tester available - please specify testerId.")

    def _led_reply(self, t: LedTester, since: int = 0) -> Any:
        return observe(self._c(), "Leds", board=t.board, since=since)  # type: ignore[attr-defined]

    def _led_state(self, t: LedTester, reply: Any) -> bool:
        return next(x.on for x in reply.leds if x.name == t.led)

    def _changes(self, t: LedTester, duration_ns: int) -> tuple[bool, list[tuple[int, bool]], int, int]:
        """Run ``duration_ns``; (state at start, [(time, state)] changes meanwhile, start, end)."""
        first = self._led_reply(t)
        start, since, initial = int(first.time_ns), int(first.seq), self._led_state(t, first)
        self._run_until(lambda: None, duration_ns, t.board)  # type: ignore[attr-defined]
        later = self._led_reply(t, since)
        changes = [(int(c.time_ns), bool(c.on)) for c in later.changes if c.led == t.led]
        return initial, changes, start, int(later.time_ns)

    @keyword_args
    def set_default_led_timeout(self, timeout: Any) -> None:
        self.led_timeout_ns = seconds_ns(timeout)

    @keyword_args
    def create_led_tester(self, led: str, defaultTimeout: Any = None, machine: Any = None) -> int:  # noqa: N803
        """A tester on ``led`` (``sysbus.fpgaio.led0`` or ``fpgaio.led0``) of ``machine``; returns its id."""
        board = self.setup.board_name(machine) if self.setup.machines else str(machine or "")  # type: ignore[attr-defined]
        board = board or self.default_board  # type: ignore[attr-defined]
        name = str(led).removeprefix("sysbus.")
        t = LedTester(max(self.led_testers, default=-1) + 1, board, name,
                      self.led_timeout_ns if defaultTimeout in (None, "") else seconds_ns(defaultTimeout),
                      getattr(self, "in_test", False))
        names = [x.name for x in self._led_reply(t).leds]
        if name not in names:
            raise AssertionError(f"Create LED Tester: no LED '{led}' (LEDs: {', '.join(names) or 'none'})")
        for tid, other in self.led_testers.items():
            if (other.board, other.led) == (board, name):
                return tid
        self.led_testers[t.id] = t
        return t.id

    @keyword_args
    def assert_led_state(self, state: Any, timeout: Any = None, testerId: Any = None,  # noqa: N803
                         pauseEmulation: Any = False) -> None:  # noqa: N803
        """Run until the LED is ``state`` (true: on) within ``timeout``; with 0, it must be now."""
        t = self._led(testerId)
        want = to_bool(state, "state")
        timeout_ns = t.timeout_ns if timeout in (None, "") else seconds_ns(timeout)
        ok = self._run_until(lambda: True if self._led_state(t, self._led_reply(t)) == want else None,  # type: ignore[attr-defined]
                            timeout_ns, t.board, pause=to_bool(pauseEmulation, "pauseEmulation"))
        if not ok:
            raise AssertionError(f"LED assertion not met: {t.led} is not {'on' if want else 'off'} "
                                 f"within {timeout_ns / 1e9:g} s of virtual time")
        logger.info(f"{t.led} is {'on' if want else 'off'} at {self._now_ns() / 1e6:.3f} ms (virtual)")  # type: ignore[attr-defined]

    @keyword_args
    def assert_and_hold_led_state(self, initialState: Any, timeoutAssert: Any, timeoutHold: Any,  # noqa: N803
                                  testerId: Any = None, pauseEmulation: Any = False) -> None:  # noqa: N803
        """The LED reaches ``initialState`` within ``timeoutAssert`` and then holds it ``timeoutHold``."""
        self.assert_led_state(initialState, timeoutAssert, testerId, pauseEmulation)
        t = self._led(testerId)
        _, changes, _, _ = self._changes(t, seconds_ns(timeoutHold, "timeoutHold"))
        if changes:
            raise AssertionError(f"LED changed state: {t.led} at {changes[0][0] / 1e6:.3f} ms (virtual)")

    @keyword_args
    def assert_led_is_blinking(self, testDuration: Any, onDuration: Any, offDuration: Any,  # noqa: N803
                               tolerance: Any = 0.05, testerId: Any = None,  # noqa: N803
                               pauseEmulation: Any = False) -> None:  # noqa: N803
        t = self._led(testerId)
        on_s, off_s, tol = float(onDuration), float(offDuration), float(tolerance)
        _, changes, _, _ = self._changes(t, seconds_ns(testDuration, "testDuration"))
        if not changes:
            raise AssertionError("Expected blinking pattern not detected (LED state never changed)")
        for (t0, _), (t1, state) in zip(changes, changes[1:], strict=False):
            expected = off_s if state else on_s  # state after the change: the period before it was the other
            took = (t1 - t0) / 1e9
            if not expected * (1 - tol) <= took <= expected * (1 + tol):
                raise AssertionError(f"Expected blinking pattern not detected (State duration was out of "
                                     f"specified range: {took:g} s, expected {expected:g} s ± {tol:g})")
        logger.info(f"{t.led} blinked: {len(changes)} changes, the last at {changes[-1][0] / 1e6:.3f} ms")

    @keyword_args
    def assert_led_duty_cycle(self, testDuration: Any, expectedDutyCycle: Any, tolerance: Any = 0.05,  # noqa: N803
                              testerId: Any = None, pauseEmulation: Any = False) -> None:  # noqa: N803
        t = self._led(testerId)
        initial, changes, start, end = self._changes(t, seconds_ns(testDuration, "testDuration"))
        on_ns, state, since = 0, initial, start
        for when, new in changes:
            on_ns += (when - since) if state else 0
            state, since = new, when
        on_ns += (end - since) if state else 0
        duty = on_ns / max(1, end - start)
        want, tol = float(expectedDutyCycle), float(tolerance)
        if not want - tol <= duty <= want + tol:
            raise AssertionError(f"Fill assertion not met: expected {want * 100:g} with tolerance "
                                 f"{tol * 100:g}%, but got {duty * 100:g}")
