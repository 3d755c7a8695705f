"""What test tools watch on a loaded session: LEDs, the board's log, frames a board sent.

``SessionObserver(session, events)`` is built by the runtime when a session
is loaded, on the emulation thread. It records, with virtual time stamps:

- every change of a board LED, plus the state now: the FPGAIO user LEDs
  (``fpgaio.led<N>``) and GPIO output pins (``gpio0.pin<N>``, on while the
  pin drives high);
- the board's log: the records of ``machine.board_log`` when the machine has
  one, and the runtime's events (faults, exits, link changes, network
  errors, resets) as entries, in the order they were seen;
- the frames each board's network interface sent into the switch (bounded;
  from the first ``Frames`` request on, so a session nobody asks pays nothing).

Readers give a sequence number (``since``) and get what came after it, so a
Robot tester or a pytest fixture can poll between two runs of virtual time.
The ``Observe`` service (``ObserveServices``) answers from it; handlers ask
the emulation thread through ``Runtime.call``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from bridge.proto import vboard_pb2 as pb

KEEP_FRAMES = 4096
KEEP_LOG = 20_000
# Runtime events that become log entries (faults are in the board's own log already).
EVENT_LEVELS = {"error": "error", "network": "warning", "exit": "info", "link": "info", "reset": "info",
                "wifi": "info"}


@dataclass
class LedChange:
    seq: int
    time_ns: int
    board: str
    led: str
    on: bool


@dataclass
class LogEntry:
    seq: int
    time_ns: int
    board: str
    level: str
    source: str
    message: str


@dataclass
class SentFrame:
    seq: int
    time_ns: int
    port: str
    data: bytes


def _led_sources(machine: Any) -> list[tuple[str, Any, int, str, Any]]:
    """(device, model, count, name stem, state now) of what drives LEDs: FPGAIO user LEDs (``led``),
    GPIO output pins (``pin``: high while the pin drives high)."""
    out = []
    for name, dev in machine.devices.items():
        if hasattr(dev, "on_leds"):
            out.append((name, dev, int(getattr(dev, "num_leds", 2)), "led", lambda dev=dev: int(dev.leds)))
        elif hasattr(dev, "on_outputs") and hasattr(dev, "outputs"):
            out.append((name, dev, 16, "pin", lambda dev=dev: int(dev.outputs())))
    return out


class SessionObserver:
    def __init__(self, session: Any, events: Any) -> None:
        self.session = session
        self.events = events
        self.led_changes: list[LedChange] = []
        self.log: deque[LogEntry] = deque(maxlen=KEEP_LOG)
        self.frames: deque[SentFrame] = deque(maxlen=KEEP_FRAMES)
        self.seq = 0
        self.record_frames = False
        self._event_seq = events.seq
        for b in session.boards:
            self._watch_leds(b)
            self._watch_log(b)
        self.watch_switch()

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    # ---------------------------------------------------------------- LEDs
    def _watch_leds(self, b: Any) -> None:
        for name, dev, count, attr, now in _led_sources(b.machine):
            state = {"bits": now()}

            def changed(bits: int, name: str = name, count: int = count, attr: str = attr,
                        state: dict = state) -> None:
                old, state["bits"] = state["bits"], bits
                t = b.time_ns()
                for i in range(count):
                    if (old ^ bits) >> i & 1:
                        self.led_changes.append(LedChange(self._next(), t, b.name, f"{name}.{attr}{i}",
                                                          bool(bits >> i & 1)))

            getattr(dev, "on_leds" if attr == "led" else "on_outputs").append(changed)

    def leds(self, board: Any) -> list[tuple[str, bool]]:
        out = []
        for name, _dev, count, attr, now in _led_sources(board.machine):
            bits = now()
            out += [(f"{name}.{attr}{i}", bool(bits >> i & 1)) for i in range(count)]
        return out

    # ----------------------------------------------------------------- log
    def _watch_log(self, b: Any) -> None:
        board_log = getattr(b.machine, "board_log", None)
        if board_log is None:
            return

        def record(r: Any) -> None:
            self.log.append(LogEntry(self._next(), r.time_ns, b.name, r.level, r.source, r.message))

        board_log.subscribe(record)

    def pull_events(self) -> None:
        """Runtime events since the last pull become log entries (faults, link changes, ...)."""
        for e in self.events.since(self._event_seq):
            self._event_seq = e.seq
            level = EVENT_LEVELS.get(e.kind)
            if level is None or not e.text:
                continue
            source = e.port or e.board or "emulation"
            self.log.append(LogEntry(self._next(), e.time_ns, e.board, level, source, e.text.splitlines()[0]))

    # -------------------------------------------------------------- frames
    def watch_switch(self) -> None:
        """Tap the board ports of the session's switch (again after a host backend replaced it)."""
        switch = self.session.switch
        if switch is None:
            return
        for port in switch.ports:
            if getattr(port, "_observed", False):
                continue
            port._observed = True

            def tap(t_ns: int, frame: bytes, direction: str, name: str = port.name) -> None:
                if direction == "in" and self.record_frames:  # entering the switch: the board sent it
                    self.frames.append(SentFrame(self._next(), t_ns, name, bytes(frame)))

            port.taps.append(tap)


class ObserveServices:
    """The ``Observe`` service handlers; mixed into ``bridge.rpc_server.Services`` (needs ``self.rt``)."""

    rt: Any

    def _observer(self) -> SessionObserver:
        from bridge.rpc_errors import precondition

        obs = getattr(self.rt, "observer", None)
        if obs is None or self.rt.session is None:
            raise precondition("nothing is loaded (Load a firmware or a simulation first)")
        return obs

    def Observe_Leds(self, req: pb.ObserveRequest, ctx: Any) -> pb.LedReply:  # noqa: N802
        def collect() -> pb.LedReply:
            obs = self._observer()
            b = self.rt.session.board(req.board)
            reply = pb.LedReply(time_ns=b.time_ns(), seq=obs.seq)
            for name, on in obs.leds(b):
                reply.leds.add(name=name, on=on)
            for c in obs.led_changes:
                if c.seq > req.since and c.board == b.name:
                    reply.changes.add(seq=c.seq, time_ns=c.time_ns, led=c.led, on=c.on)
            return reply

        return self.rt.call(collect)

    def Observe_Log(self, req: pb.ObserveRequest, ctx: Any) -> pb.LogReply:  # noqa: N802
        def collect() -> pb.LogReply:
            obs = self._observer()
            obs.pull_events()
            reply = pb.LogReply(seq=obs.seq, time_ns=self.rt.session.time_ns())
            for e in obs.log:
                if e.seq > req.since and (not req.board or e.board in ("", req.board)):
                    reply.entries.add(seq=e.seq, time_ns=e.time_ns, board=e.board, level=e.level,
                                      source=e.source, message=e.message)
            return reply

        return self.rt.call(collect)

    def Observe_Frames(self, req: pb.ObserveRequest, ctx: Any) -> pb.FrameReply:  # noqa: N802
        def collect() -> pb.FrameReply:
            obs = self._observer()
            obs.record_frames = True
            obs.watch_switch()
            reply = pb.FrameReply(seq=obs.seq, time_ns=self.rt.session.time_ns())
            for f in obs.frames:
                if f.seq > req.since and (not req.port or f.port == req.port):
                    reply.frames.add(seq=f.seq, time_ns=f.time_ns, port=f.port, data=f.data)
            return reply

        return self.rt.call(collect)
