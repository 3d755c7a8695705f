"""The vboard pytest plugin from outside the repository: fixtures, virtual-time expect, forwards, xdist.

A test file written to a temporary folder (no conftest, nothing of the
repository but the installed package) boots ``http_server.elf`` on
``net=user`` with a forward, fetches its pages with curl through it and
checks the UART; ``pytest -n 2`` runs it on two xdist workers. Each test's
board artifacts land in ``--vboard-artifacts``; a failing test's report
names its folder.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

from proc_helpers import need

ROOT = Path(__file__).resolve().parent.parent

OUTSIDE = r'''import json
import shutil
import subprocess

import pytest

CURL = shutil.which("curl")


def curl(*args):
    return subprocess.run([CURL, "-sS", "--max-time", "10", *args], capture_output=True, text=True,
                          timeout=30)


@pytest.mark.vboard("http_server.elf", net="user", forwards=[80])
def test_page_through_a_forward(board):
    board.uart.expect(r"http_server: listening on http://10\.0\.2\.15:80/", timeout=30)
    board.start()
    page = curl(board.net.url(80, "/"))
    assert page.returncode == 0 and "<h1>vboard MPS2-AN385</h1>" in page.stdout, page
    board.uart.expect(r"http_server: 10\.0\.2\.2 GET /\r?\n", timeout=10)


@pytest.mark.vboard("http_server.elf", net="user", forwards=[80])
def test_status_is_json(board):
    board.uart.expect_exact("http_server: listening on", timeout=30)
    board.start()
    status = json.loads(curl(board.net.url(80, "/status")).stdout)
    assert status["board"] == "mps2-an385" and status["ip"] == "10.0.2.15"
    m = board.uart.expect(r"GET (/\w+)", timeout=10)
    assert m.group(1) == "/status"


@pytest.mark.vboard("demo.elf")
def test_demo_in_virtual_time(board):
    m = board.uart.expect(r"tick (\d)/5", timeout=1)
    assert m.group(1) == "1"
    board.uart.expect("demo: done", timeout=1)
    assert 0.5 <= board.time < 0.6
    with pytest.raises(AssertionError, match="no match"):
        board.uart.expect("never printed", timeout=0.1)


@pytest.mark.vboard("shell.elf")
def test_shell_run_for_and_leds(board):
    board.uart.expect_exact("shell> ", timeout=1)
    board.uart.write_line("led on", end="\r")
    board.uart.expect("led: on", timeout=1)
    assert board.leds()["fpgaio.led0"] is True
    board.run_for(0.25)
    assert board.time >= 0.25


@pytest.mark.vboard(simulation="rawping-pair.yaml")
def test_two_boards_capture_and_link_fault(simulation, tmp_path):
    from bridge.net.pcapng import read_pcapng_records

    client, server = simulation["client"], simulation["server"]
    capture = client.net.capture(tmp_path / "pair.pcapng")
    client.uart.expect("rawping: peer up", timeout=20)
    client.net.link_down()
    client.uart.expect("rawping: link down", timeout=2)
    client.net.link_up()
    m = client.uart.expect(r"(\d+) of 50 echoed", timeout=20)
    assert 0 < int(m.group(1)) < 50
    server.uart.expect("rawframe: serving", timeout=0)
    client.net.stop_capture()
    frames = [r for r in read_pcapng_records(capture) if r.frame[12:14] == b"\x88\xb5"]
    assert frames and client.net.sent_frames()
'''

FAILING = """\
import pytest


@pytest.mark.vboard("hello.elf")
def test_a_line_that_never_comes(board):
    board.uart.expect("hello: done", timeout=1)
    board.uart.expect("not printed by hello", timeout=0.5)


@pytest.mark.vboard("hello.elf", colour="blue")
def test_an_unknown_marker_argument(board):
    pass
"""


def _run(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=folder,
                          env=env, capture_output=True, text=True, timeout=600)


def test_the_plugin_is_an_installed_pytest11_entry_point() -> None:
    names = {ep.value for ep in importlib.metadata.entry_points(group="pytest11")}
    assert "vboard.pytest_plugin" in names, "the vboard package is installed without its pytest11 entry " \
        "point: reinstall it (pip install -e .)"


def test_a_file_outside_the_repository_runs_http_server_on_two_workers(tmp_path: Path) -> None:
    need("curl")
    need("passt")
    (tmp_path / "test_outside.py").write_text(OUTSIDE)
    art = tmp_path / "artifacts"
    p = _run(tmp_path, "-q", "-n", "2", "--vboard-artifacts", str(art), "test_outside.py")
    assert p.returncode == 0 and "5 passed" in p.stdout, p.stdout[-4000:] + p.stderr[-2000:]
    folders = sorted(d.name for d in art.iterdir())
    assert len(folders) == 5, folders
    page = art / "test_outside.py_test_page_through_a_forward" / "board.uart0.txt"
    assert "http_server: 10.0.2.2 GET /" in page.read_text()


def test_a_failing_expect_names_its_artifacts(tmp_path: Path) -> None:
    (tmp_path / "test_failing.py").write_text(FAILING)
    art = tmp_path / "artifacts"
    p = _run(tmp_path, "-q", "--vboard-artifacts", str(art), "test_failing.py")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "no match for not printed by hello (board exited)" in p.stdout, p.stdout
    folder = art / "test_failing.py_test_a_line_that_never_comes"
    assert "vboard artifacts" in p.stdout and str(folder) in p.stdout, p.stdout
    assert "hello: done" in (folder / "board.uart0.txt").read_text()
    assert "vboard marker: unknown argument(s) colour" in p.stdout, p.stdout
