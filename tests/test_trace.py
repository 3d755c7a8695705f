"""``vboard run --trace FILE``: a Chrome/Perfetto JSON trace in virtual time.

The file is checked against a JSON schema of the trace-event format (the
subset the writer uses, no other keys), then by what it must show:
``nested_irq`` preempting at three levels, tail-chaining and PendSV last, at
the virtual times ``--trace-exceptions`` prints; the two-board simulation as
one process per board with its own exception and frame tracks; a fault.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema

ROOT = Path(__file__).resolve().parents[1]

_NUM = {"type": "number", "minimum": 0}
_ID = {"type": "integer", "minimum": 0}
_COMMON = {"pid": _ID, "tid": _ID, "name": {"type": "string", "minLength": 1}}
TRACE_SCHEMA = {
    "type": "object",
    "required": ["traceEvents", "displayTimeUnit"],
    "properties": {
        "traceEvents": {"type": "array", "items": {"oneOf": [
            {"type": "object", "additionalProperties": False,
             "required": ["ph", "name", "pid", "tid", "args"],
             "properties": {**_COMMON, "ph": {"const": "M"},
                            "name": {"enum": ["process_name", "thread_name"]},
                            "args": {"type": "object", "required": ["name"],
                                     "properties": {"name": {"type": "string", "minLength": 1}}}}},
            {"type": "object", "additionalProperties": False,
             "required": ["ph", "name", "cat", "pid", "tid", "ts", "dur", "args"],
             "properties": {**_COMMON, "ph": {"const": "X"}, "cat": {"enum": ["exception", "irq"]},
                            "ts": _NUM,
                            "dur": _NUM, "args": {"type": "object", "required": ["exception"],
                                                  "properties": {"exception": _ID}}}},
            {"type": "object", "additionalProperties": False,
             "required": ["ph", "s", "name", "pid", "tid", "ts"],
             "properties": {**_COMMON, "ph": {"const": "i"}, "s": {"const": "t"}, "ts": _NUM,
                            "args": {"type": "object"}}},
        ]}},
        "displayTimeUnit": {"enum": ["ms", "ns"]},
        "otherData": {"type": "object"},
    },
}


Run = subprocess.CompletedProcess[str]


def run_traced(tmp_path: Path, *args: str, name: str = "trace.json") -> tuple[Run, dict[str, Any]]:
    path = tmp_path / name
    proc = subprocess.run([sys.executable, "-m", "vboard.cli", "run", *args, "--trace", str(path)],
                          capture_output=True, text=True, timeout=180, cwd=ROOT)
    trace = json.loads(path.read_text())
    jsonschema.validate(trace, TRACE_SCHEMA)
    return proc, trace


def events(trace: dict[str, Any], ph: str, **match: Any) -> list[dict[str, Any]]:
    return sorted((e for e in trace["traceEvents"] if e["ph"] == ph
                   and all(e.get(k) == v for k, v in match.items())), key=lambda e: e.get("ts", 0))


def track_names(trace: dict[str, Any], pid: int) -> dict[int, str]:
    return {e["tid"]: e["args"]["name"] for e in events(trace, "M", name="thread_name", pid=pid)}


def name(event: dict[str, Any]) -> str:
    """A slice's exception name without the device line a platform wires to it (``IRQ25 gpio0.pin1``)."""
    return event["name"].split()[0]


def check_nesting(slices: list[dict[str, Any]]) -> None:
    """Slices of one track nest: each starts after and ends before the one it interrupted."""
    stack: list[dict[str, Any]] = []
    for s in sorted(slices, key=lambda e: (e["ts"], -e["dur"])):
        while stack and stack[-1]["ts"] + stack[-1]["dur"] <= s["ts"]:
            stack.pop()
        if stack:
            assert s["ts"] + s["dur"] <= stack[-1]["ts"] + stack[-1]["dur"], (s, stack[-1])
        stack.append(s)


def test_nested_irq_trace_shows_preemption_in_virtual_time(firmware, tmp_path):
    proc, trace = run_traced(tmp_path, str(firmware / "nested_irq.elf"), "--trace-exceptions")
    assert proc.returncode == 0, proc.stderr
    assert [e["args"]["name"] for e in events(trace, "M", name="process_name")] == ["mps2-an385"]
    assert track_names(trace, 1) == {1: "exceptions", 2: "faults", 3: "links", 4: "board log",
                                      10: "uart0"}
    slices = events(trace, "X", tid=1)
    check_nesting(slices)
    lines = {e["name"]: e["ts"] for e in events(trace, "i", tid=10)}
    assert "nested_irq: done" in lines, lines
    # Section 1: IRQ25 preempted by IRQ26, preempted by IRQ27, all before the line reporting it.
    report = lines["nesting: +25 +26 +27 iabr=0e000000 vectactive=0000002b -27 -26 -25"]
    first = [s for s in slices if s["ts"] < report]
    assert [name(s) for s in first] == ["IRQ25", "IRQ26", "IRQ27"], first
    irq25, irq26, irq27 = first
    assert irq25["ts"] < irq26["ts"] < irq27["ts"]
    assert irq27["ts"] + irq27["dur"] < irq26["ts"] + irq26["dur"] < irq25["ts"] + irq25["dur"]
    assert [s["args"]["exception"] for s in first] == [41, 42, 43]
    # Section 2: IRQ29 tail-chains into IRQ28: the second starts where the first ends.
    tail = [s for s in slices if lines["nesting: ok"] < s["ts"] < lines["tailchain: ok"]]
    assert [name(s) for s in tail] == ["IRQ29", "IRQ28"], tail
    assert tail[0]["ts"] + tail[0]["dur"] == tail[1]["ts"]
    # Last section: IRQ27, IRQ28, then PendSV at the lowest priority.
    last = [s for s in slices if lines["subpriority: ok"] < s["ts"] < lines["pendsv: ok"]]
    assert [name(s) for s in last] == ["IRQ27", "IRQ28", "PendSV"], last
    # The timestamps are the virtual times --trace-exceptions prints (seconds, 6 decimals).
    entered = [(float(t), name) for t, name in
               re.findall(r"\[\s*([0-9.]+)\] enter (\w+) ->", proc.stderr)]
    assert len(entered) == len(slices) == 16, proc.stderr
    assert [n for _, n in entered] == [name(s) for s in slices]
    for (t, _), s in zip(entered, slices, strict=True):
        assert abs(t * 1e6 - s["ts"]) <= 0.501, (t, s)  # printed to 1 us


def test_irq_lines_show_each_request_before_its_handler(firmware, tmp_path):
    """timers.elf: every time Timer0 raised IRQ 8, its handler ran while the line was high."""
    proc, trace = run_traced(tmp_path, str(firmware / "timers.elf"))
    assert proc.returncode == 0, proc.stderr
    tracks = track_names(trace, 1)
    assert tracks[200 + 16 + 8] == "IRQ8 timer0.timer line", tracks
    raised = events(trace, "X", tid=200 + 16 + 8)
    handled = events(trace, "X", tid=1, name="IRQ8 timer0.timer")
    assert len(raised) >= 3 and len(handled) >= len(raised), (raised, handled)
    for line in raised:
        assert line["cat"] == "irq" and line["args"]["exception"] == 24
        assert any(line["ts"] <= h["ts"] <= line["ts"] + line["dur"] for h in handled), line


def test_trace_is_the_same_on_every_run(firmware, tmp_path):
    _, one = run_traced(tmp_path, str(firmware / "nested_irq.elf"), name="one.json")
    _, two = run_traced(tmp_path, str(firmware / "nested_irq.elf"), name="two.json")
    assert one == two


def test_two_board_simulation_has_one_process_per_board(firmware, tmp_path):
    sim = ROOT / "platforms" / "simulations" / "rawping-pair.yaml"
    proc, trace = run_traced(tmp_path, str(sim), "--max-time", "5s")
    assert proc.returncode == 0, proc.stderr
    processes = {e["pid"]: e["args"]["name"] for e in events(trace, "M", name="process_name")}
    assert processes == {1: "server", 2: "client"}
    for pid, board in processes.items():
        assert track_names(trace, pid) == {1: "exceptions", 2: "faults", 3: "links", 4: "board log",
                                           10: "uart0", 100: f"{board}.eth0 frames",
                                           200 + 16 + 13: "IRQ13 eth0.irq line"}
        check_nesting(events(trace, "X", pid=pid, tid=1))
        assert events(trace, "X", pid=pid, tid=1, name="IRQ13 eth0.irq"), f"{board}: no LAN9118 interrupt"
    assert [e["name"] for e in events(trace, "i", pid=2, tid=10)][-1] == "rawping: done"
    assert [e["name"] for e in events(trace, "i", pid=1, tid=10)][-1] == "rawframe: done"
    # The client's first test frame reaches the server after the link's 50 us delay plus wire time.
    sent = events(trace, "i", pid=2, tid=100, name="tx EtherType 0x88b5")
    got = events(trace, "i", pid=1, tid=100, name="rx EtherType 0x88b5")
    assert len(sent) == len(got) >= 50
    assert 50 < got[0]["ts"] - sent[0]["ts"] < 50 + 2 * (60 + 24) * 8 / 100, (sent[0], got[0])
    assert {e["args"]["bytes"] for e in sent} >= {60}


def test_fault_appears_on_the_faults_track(firmware, tmp_path):
    proc, trace = run_traced(tmp_path, str(firmware / "fault_undef.elf"))
    assert proc.returncode == 0, proc.stderr
    faults = [e["name"] for e in events(trace, "i", tid=2)]
    assert faults and re.fullmatch(r"UNDEFINSTR at 0x[0-9A-F]{8} -> UsageFault", faults[0]), faults
    assert events(trace, "X", tid=1, name="UsageFault")


def test_a_fault_that_stops_the_board_is_on_the_faults_and_log_tracks(firmware, tmp_path):
    proc, trace = run_traced(tmp_path, str(firmware / "crash.elf"), "--max-time", "1s")
    assert proc.returncode == 3, proc.stderr
    stop = events(trace, "i", tid=2)[-1]
    assert stop["name"].startswith("fault: ") and "HardFault" in stop["args"]["report"], stop
    logged = events(trace, "i", tid=4)
    assert logged and all(e["args"]["source"] == "cpu" for e in logged), logged
    assert "instruction fetch from 0x60000000" in logged[0]["name"], logged
    assert logged[-1]["args"]["level"] == "error" and logged[-1]["ts"] == stop["ts"], logged


def test_unwritable_trace_path_is_bad_input(firmware, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    proc = subprocess.run([sys.executable, "-m", "vboard.cli", "run", str(firmware / "hello.elf"),
                           "--trace", str(blocker / "t.json")], capture_output=True, text=True, timeout=60,
                          cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    want = f"vboard: error: --trace {blocker / 't.json'}: Not a directory"
    assert proc.stderr.strip().splitlines() == [want]


def test_trace_png_draws_the_tracks(firmware, tmp_path):
    import matplotlib.image

    run_traced(tmp_path, str(firmware / "nested_irq.elf"))
    script = str(ROOT / "scripts" / "trace_png")
    png = tmp_path / "nested.png"
    proc = subprocess.run([sys.executable, script, str(tmp_path / "trace.json"), str(png), "--from", "180",
                           "--to", "220"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    pixels = matplotlib.image.imread(png)
    assert pixels.shape[0] > 150 and pixels.shape[1] > 1000, pixels.shape
    bad = subprocess.run([sys.executable, script, str(png), str(tmp_path / "x.png")], capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 2 and "not a vboard trace" in bad.stderr, bad.stderr


def test_link_changes_are_on_the_links_track(firmware, tmp_path):
    """In process: a simulation traced, the client's link taken down and up at known virtual times."""
    from bridge.trace import TraceWriter
    from emulator.board.simulation import load_simulation

    sim = load_simulation(ROOT / "platforms" / "simulations" / "rawping-pair.yaml")
    writer = TraceWriter(tmp_path / "links.json")
    for board in sim.boards:
        traced = writer.add_board(board.machine, board.name)
        for port in sim.switch.ports:
            if port.name.startswith(f"{board.name}."):
                traced.add_switch_port(port)
    sim.run(2_000_000)
    sim.switch.port("client.eth0").set_link(False)
    sim.run(1_000_000)
    sim.switch.port("client.eth0").set_link(True)
    sim.run(1_000_000)
    writer.close()
    trace = json.loads((tmp_path / "links.json").read_text())
    jsonschema.validate(trace, TRACE_SCHEMA)
    links = [(e["name"], e["ts"]) for e in events(trace, "i", pid=2, tid=3)]
    assert [name for name, _ in links] == ["client.eth0 link down", "client.eth0 link up"], links
    assert abs(links[0][1] - 2000) < 300 and abs(links[1][1] - 3000) < 300, links
    assert not events(trace, "i", pid=1, tid=3), "the server's link did not change"


def test_a_trace_that_cannot_be_written_is_one_line_and_status_5(firmware):
    """Like a capture that cannot be written: the run goes on, one line at the end, exit 5 (lost output)."""
    proc = subprocess.run([sys.executable, "-m", "vboard.cli", "run", str(firmware / "hello.elf"), "-q",
                           "--trace", "/dev/full"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 5, proc.stderr
    assert "hello: done" in proc.stdout
    assert proc.stderr.splitlines() == [
        "vboard: error: --trace /dev/full: No space left on device (output after it is lost)"]


def test_a_simulation_trace_that_cannot_be_written_is_status_5(firmware):
    sim = ROOT / "platforms" / "simulations" / "rawping-pair.yaml"
    proc = subprocess.run([sys.executable, "-m", "vboard.cli", "run", str(sim), "-q", "--max-time", "5s",
                           "--trace", "/dev/full"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 5, proc.stderr
    assert "vboard: error: --trace /dev/full: No space left on device (output after it is lost)" in \
        proc.stderr.splitlines(), proc.stderr
