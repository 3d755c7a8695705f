"""Board log records reach the RPC event stream as ``log`` events (bridge/rpc_runtime.py)."""

from __future__ import annotations

from pathlib import Path

from bridge.rpc_runtime import Runtime

FW = Path(__file__).resolve().parent.parent / "firmware" / "build"


def test_faults_the_firmware_handles_become_log_events(firmware) -> None:  # noqa: ANN001
    rt = Runtime()
    try:
        rt.call(lambda: rt.load(str(firmware / "fault_unserved.elf")))
        goal = rt.call(lambda: rt.add_goal(50_000_000))
        assert goal.done.wait(60), "RunFor 50 ms did not finish"
        logs = [e for e in rt.events.since(0) if e.kind == "log"]
        texts = [e.text for e in logs]
        access = "cpu: 4-byte write of 0x60000018 at PC "
        assert any(t.startswith(access) and "<pinmux_write>" in t for t in texts), texts
        assert any(t.startswith("cpu: BusFault: precise data bus error") for t in texts), texts
        assert {e.reason for e in logs} == {"warning"} and {e.board for e in logs} == {"board"}
        assert all(e.time_ns > 0 for e in logs), "stamped with the board's virtual time"
        state = rt.call(rt.state)
        assert state["boards"][0]["state"] == "exited", state
    finally:
        rt.close()
