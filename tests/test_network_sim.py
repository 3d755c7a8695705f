"""Two boards on one virtual switch: determinism, the link model, link state.

The boards run firmware built from this repo (rawframe echoes EtherType
0x88B5 frames, rawping sends them and counts the echoes) in a closed
simulation in fast pacing; everything is virtual time.
"""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path

import pytest

from bridge.net.pcapng import PcapngWriter, read_pcapng_records
from emulator.board.simulation import Simulation, load_simulation
from emulator.net.network import LinkModel

ROOT = Path(__file__).resolve().parent.parent
PAIR = ROOT / "platforms" / "simulations" / "rawping-pair.yaml"
SECOND = 1_000_000_000


def run_pair(tmp_path: Path, tag: str, *, seed: int = 1, loss: float = 0.0,
             seconds: float = 20.0) -> tuple[Simulation, dict[str, bytes], Path]:
    sim = load_simulation(PAIR)
    sim.switch.rng.seed(seed)
    if loss:
        sim.switch.port("client.eth0").link.loss = loss
    out = {b.name: bytearray() for b in sim.boards}
    for b in sim.boards:
        b.machine.port("uart0").connect(out[b.name].extend)
    pcap_path = tmp_path / f"{tag}.pcapng"
    with PcapngWriter(pcap_path) as pcap:
        for sp in sim.switch.ports:
            pcap.attach(sp)
        sim.run(int(seconds * SECOND))
    return sim, {k: bytes(v) for k, v in out.items()}, pcap_path


def test_two_boards_exchange_frames(firmware, tmp_path):
    sim, out, pcap = run_pair(tmp_path, "one")
    assert sim.board("client").stop.kind == "exit" and sim.board("client").stop.exit_code == 0
    assert sim.board("server").stop.kind == "exit" and sim.board("server").stop.exit_code == 0
    assert b"rawping: 50 of 50 echoed, 34525 bytes" in out["client"]
    assert b"rawframe: arp 0 icmp 0 echoed 51" in out["server"]
    records = read_pcapng_records(pcap)
    test_frames = [r for r in records if r.frame[12:14] == b"\x88\xb5"]
    assert len(test_frames) >= 2 * 51 * 2  # each ping and echo seen entering and leaving the switch
    assert all(a.t_ns <= b.t_ns for a, b in zip(records, records[1:], strict=False))


def test_ten_runs_give_identical_captures(firmware, tmp_path):
    digests = set()
    transcripts = set()
    for i in range(10):
        sim, out, pcap = run_pair(tmp_path, f"run{i}")
        digests.add(hashlib.sha256(pcap.read_bytes()).hexdigest())
        transcripts.add((out["client"], out["server"], sim.now_ns,
                         tuple(b.machine.instructions for b in sim.boards)))
    assert len(digests) == 1
    assert len(transcripts) == 1


def test_a_tcp_stream_between_two_boards_repeats_exactly(firmware):
    """echo-pair (256 KiB over TCP, both CPUs busy): the LAN9118's FIFOs and status rings, its
    register reads and writes in C and interrupts entered and left natively give the same
    virtual-time run every time."""
    runs = set()
    for _ in range(3):
        sim = load_simulation(ROOT / "platforms" / "simulations" / "echo-pair.yaml")
        out = {b.name: bytearray() for b in sim.boards}
        for b in sim.boards:
            b.machine.port("uart0").connect(out[b.name].extend)
        while sim.board("client").stop is None and sim.now_ns < 60 * SECOND:
            sim.run(10_000_000)
        stop = sim.board("client").stop
        assert stop is not None and stop.kind == "exit" and stop.exit_code == 0, stop
        runs.add((bytes(out["client"]), bytes(out["server"]), sim.now_ns,
                  tuple(b.machine.instructions for b in sim.boards),
                  tuple(sorted((k, str(v)) for k, v in sim.switch.counters().items()))))
    assert len(runs) == 1


def test_loss_is_reproducible_per_seed_and_within_bounds(firmware, tmp_path):
    runs = [run_pair(tmp_path, f"loss{i}", seed=seed, loss=0.1) for i, seed in enumerate((7, 7, 8))]
    (s1, o1, p1), (s2, o2, p2), (s3, o3, p3) = runs
    c1, c2, c3 = (s.switch.counters() for s in (s1, s2, s3))
    assert c1 == c2
    assert p1.read_bytes() == p2.read_bytes()
    assert o1 == o2
    assert (c3, p3.read_bytes()) != (c1, p1.read_bytes())  # another seed, other losses
    for counters, out in ((c1, o1), (c3, o3)):
        client = counters["client.eth0"]
        lost = client["dropped"].get("loss", 0)
        attempts = client["rx_frames"] + client["tx_frames"] + lost
        # Binomial(attempts, 0.1): stay within 4 standard deviations.
        sd = math.sqrt(attempts * 0.1 * 0.9)
        assert abs(lost - 0.1 * attempts) <= 4 * sd, (lost, attempts)
        echoed = int(re.search(rb"rawping: (\d+) of 50 echoed", out["client"]).group(1))
        assert echoed < 50  # losses were seen by the firmware
        assert out["client"].count(b"lost") == 50 - echoed


def test_link_down_is_seen_through_the_phy_interrupt(firmware, tmp_path):
    sim = load_simulation(PAIR)
    out = bytearray()
    sim.board("client").machine.port("uart0").connect(out.extend)
    port = sim.switch.port("client.eth0")
    for _ in range(1000):  # bounded: at most 10 s of virtual time
        if b"peer up" in out:
            break
        sim.run(SECOND // 100)
    assert b"peer up" in out
    nic = sim.board("client").machine.device("eth0")
    port.set_link(False)
    sim.run(int(0.2 * SECOND))
    assert b"rawping: link down" in out
    assert nic._phy_read(1) & 0x4 == 0  # BMSR.LINK

    port.set_link(True)
    sim.run(int(0.5 * SECOND))
    assert out.index(b"rawping: link down") < out.index(b"rawping: link up")
    assert nic._phy_read(1) & 0x4  # BMSR.LINK back
    sim.run(5 * SECOND)
    echoed = int(re.search(rb"rawping: (\d+) of 50 echoed", out).group(1))
    assert 30 < echoed < 50  # frames during the outage were lost, the rest came back


def test_link_model_validation():
    with pytest.raises(ValueError):
        LinkModel(loss=1.5).validate()
    with pytest.raises(ValueError):
        LinkModel(delay_ns=-1).validate()


def test_request_reply_rides_delayed_acks(firmware):
    """telemetry-pair: a 64-byte report and its echo every 10 ms over TCP. With delayed ACKs
    (vnet, RFC 1122 4.2.3.2) each side's ACK rides on its next segment: about one frame per
    report each way, not two, and both boards sleep between reports (tickless idle)."""
    sim = load_simulation(ROOT / "platforms" / "simulations" / "telemetry-pair.yaml")
    out = bytearray()
    sim.board("client").machine.port("uart0").connect(out.extend)
    while sim.board("client").stop is None and sim.now_ns < 20 * SECOND:
        sim.run(SECOND // 10)
    stop = sim.board("client").stop
    assert stop is not None and stop.kind == "exit" and stop.exit_code == 0, (stop, out.decode())
    m = re.search(rb"telemetry_client: (\d+) reports, 0 mismatches", out)
    assert m, out.decode()
    reports = int(m.group(1))
    for name in ("client", "server"):
        sent = sim.switch.port(f"{name}.eth0").counters.rx_frames
        # handshake, ARP and close add a handful; a bare ACK per report would double the count
        assert reports <= sent <= reports + 12, (name, sent, reports)
    for b in sim.boards:
        busy = b.machine.instructions / b.machine.clock.now
        assert busy < 0.10, (b.name, busy)
