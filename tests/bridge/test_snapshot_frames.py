"""Frames in flight on the switch in a snapshot: ``save_board`` reads each from the event
``Switch._launch`` scheduled, ``restore_board`` schedules it again as the same kind of event (so a
snapshot of a restored run keeps its frames too), and a run from the snapshot repeats the
original one (echo-pair, saved at a moment a frame is on its way)."""

from __future__ import annotations

from bridge.rpc_snapshot import restore_board, restore_switch, save_board, save_switch
from emulator.board.simulation import Simulation, load_simulation
from emulator.net.network import SwitchPort, arrival_of

ECHO_PAIR = "platforms/simulations/echo-pair.yaml"


def _in_flight(s: Simulation) -> list[tuple[int, str, bytes]]:
    got = []
    for b in s.boards:
        for t in b.machine.clock.pending():
            if t.name.startswith("frame->"):
                port, frame = arrival_of(t.callback) or (None, b"")
                assert isinstance(port, SwitchPort), t
                got.append((t.when, port.name, frame))
    return got


def _save(s: Simulation) -> tuple[object, ...]:
    return [save_board(b.name, b.machine) for b in s.boards], save_switch(s.switch), s.now_ns


def test_frames_in_flight_are_saved_restored_and_replayed() -> None:
    s = load_simulation(ECHO_PAIR)
    steps = 0
    while len(_in_flight(s)) == 0 or steps < 2000:  # past the handshake, into the stream
        s.run(5_000)
        steps += 1
        assert steps < 200_000, "no frame ever in flight"
    flying = _in_flight(s)
    boards, switch, now_ns = _save(s)
    assert sorted(f for bs in boards for f in bs.clock["frames"]) == sorted(flying)
    s.run(3_000_000)
    after = _save(s)

    for bs, b in zip(boards, s.boards, strict=True):
        assert restore_board(bs, b.machine, s.switch) == []
    restore_switch(switch, s.switch)
    s.now_ns = now_ns
    assert _in_flight(s) == flying
    assert _save(s) == (boards, switch, now_ns)  # the restored events are read back the same
    s.run(3_000_000)
    assert _save(s) == after
