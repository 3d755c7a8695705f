"""README command 1: ``vboard demo`` boots net_demo on --net user; DHCP, an offline DNS record, a page
fetched from the demo's host HTTP server, a page of the board's fetched through a forward; exit 0."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_vboard_demo_shows_the_main_job(firmware):
    """Exactly README command 1's second half: ``vboard demo``."""
    proc = subprocess.run([sys.executable, "-m", "vboard.cli", "demo"], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "net_demo: DHCP: address 10.0.2.15, netmask 255.255.255.0, gateway 10.0.2.2" in out, out
    assert "net_demo: DNS: files.demo is 10.0.2.2" in out, out
    port = re.search(r"host HTTP server on 127\.0\.0\.1:(\d+)", out)
    assert port, out
    # The host's page as the board printed it, with the port the demo chose (no fixed port).
    assert f"net_demo: | Hello from the host! This page was served by vboard demo's HTTP server on " \
           f"127.0.0.1 and reached the board as http://files.demo:{port.group(1)}/hello.txt" in out, out
    forward = re.search(r"--forward tcp:(\d+):80", out)
    assert forward and forward.group(1) != port.group(1), out
    assert f"demo: GET http://127.0.0.1:{forward.group(1)}/ " in out, out
    assert "net_demo: 10.0.2.2 asked for /" in out, out
    assert re.search(r"<h1>Hello from the board</h1><p>net_demo on MPS2-AN385 at 10\.0\.2\.15, \d+ ms "
                     r"after boot\.</p><p>It fetched: HTTP/1\.1 200 OK</p>", out), out
    assert re.search(r"demo: the board exited 0 after \d+\.\d s\n\Z", out), out


def test_vboard_demo_trace_shows_the_frames(firmware, tmp_path):
    """``vboard demo --trace``: DHCP out and in on the board's port, the forward's SYN to port 80."""
    trace = tmp_path / "demo.json"
    proc = subprocess.run([sys.executable, "-m", "vboard.cli", "demo", "--trace", str(trace)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    names = {(e["tid"], e["name"]) for e in json.loads(trace.read_text())["traceEvents"] if e["ph"] == "i"}
    assert (100, "tx IPv4 UDP 0.0.0.0:68 > 255.255.255.255:67") in names, sorted(names)
    assert (100, "rx IPv4 UDP 10.0.2.2:67 > 255.255.255.255:68") in names, sorted(names)
    assert any(tid == 100 and name.startswith("rx IPv4 TCP 10.0.2.2:") and name.endswith("> 10.0.2.15:80 S")
               for tid, name in names), sorted(names)
    assert (10, "net_demo: done") in names


def test_vboard_demo_without_its_firmware_says_so(tmp_path):
    missing = tmp_path / "no.elf"
    proc = subprocess.run([sys.executable, "-m", "vboard.cli", "demo", "--firmware", str(missing)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"vboard demo: error: {missing}: no such firmware image (build it: make -C firmware)"]
