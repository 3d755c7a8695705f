"""SIGTERM and SIGHUP end ``vboard run`` as Ctrl-C does: nothing is lost, nothing is left behind.

A run with traffic (the raw-frame firmware gets a DHCP offer through passt)
is signalled once it logged the offer: the exit status is 128 + the signal,
the ``--stats`` line is printed, the pcap opens in tshark with every frame of
the exchange, passt is gone and so is its temporary folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from proc_helpers import ROOT, OutputReader, need


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_signal_ends_a_networked_run_cleanly(firmware, tmp_path: Path, sig: signal.Signals) -> None:
    need("passt")
    tshark = need("tshark")
    pcap = tmp_path / "run.pcapng"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "vboard.cli", "run", str(firmware / "rawframe.elf"),
                             "--net", "passt", "--pcap", str(pcap), "--stats", "--max-time", "120s"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    out = OutputReader(proc)
    try:
        try:
            out.wait_for(r"rawframe: serving 10\.0\.2\.15", timeout=60)
        except AssertionError:
            raise AssertionError(proc.stderr.read().decode() if proc.poll() is not None and proc.stderr
                                 else "no lease in 60 s") from None
        helpers = _children(proc.pid)
        assert helpers, "passt is not a child of vboard run"
        argv = Path(f"/proc/{helpers[0]}/cmdline").read_bytes().split(b"\0")
        folder = Path(argv[argv.index(b"--socket") + 1].decode()).parent
        assert folder.name.startswith("vboard-passt-") and folder.is_dir(), argv
        proc.send_signal(sig)
        code = out.wait_exit(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    assert code == 128 + sig, (code, err)
    assert f"interrupted by {sig.name}" in err and "vboard: stats: instructions=" in err, err
    assert "Traceback" not in err and "ctypes callback" not in err, err
    for pid in helpers:
        assert not _alive(pid), f"child {pid} of vboard run is still there"
    assert not folder.exists(), f"passt's folder {folder} was left behind"
    r = subprocess.run([tshark, "-r", str(pcap), "-T", "fields", "-e", "frame.number",
                        "-e", "_ws.col.Protocol", "-e", "_ws.col.Info"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "appears to have been cut short" not in r.stderr, r.stderr
    frames = r.stdout.splitlines()
    print(f"{sig.name}: exit {code}, {len(frames)} frames in the capture")
    info = "\n".join(frames)
    # The offer the firmware logged came in answer to its Discover: both are in the capture.
    for kind in ("DHCP Discover", "DHCP Offer"):
        assert kind in info, info
