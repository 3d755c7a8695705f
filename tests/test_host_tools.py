"""Host tools against board servers through port forwards, on the vboard pytest plugin.

``curl`` fetches ``http_server``'s pages (``/``, ``/status`` JSON, a 404,
``/quit``) and ``nc`` gets a line echoed by ``echo_server``, each through a
``net=user`` forward to a free host port (``board.net.url``,
``board.net.host_port``); the board runs freely while the host talks to it
(``board.start()``) and its UART is checked with ``board.uart.expect``.
Host tools missing make the tests FAIL.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from proc_helpers import need


def curl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([need("curl"), "-sS", "--max-time", "10", *args], capture_output=True, text=True,
                          timeout=20)


@pytest.mark.vboard("http_server.elf", net="user", forwards=[80])
def test_curl_reaches_http_server_through_a_forward(board) -> None:
    board.uart.expect(r"http_server: listening on http://10\.0\.2\.15:80/", timeout=30)
    board.start()
    page = curl("-w", "\n%{http_code}", board.net.url(80, "/"))
    status = curl("-i", board.net.url(80, "/status"))
    missing = curl("-o", "/dev/null", "-w", "%{http_code}", board.net.url(80, "/nope"))
    bye = curl(board.net.url(80, "/quit"))
    board.uart.expect(r"http_server: done \(4 requests\)", timeout=30)
    board.run_for(0.01)
    body, _, http_code = page.stdout.rpartition("\n")
    assert page.returncode == 0 and http_code == "200", (page, board.uart.text)
    assert "<h1>vboard MPS2-AN385</h1>" in body and body.rstrip().endswith("</html>"), body
    assert status.returncode == 0, (status, board.uart.text)
    head, _, payload = status.stdout.replace("\r\n", "\n").partition("\n\n")
    assert head.startswith("HTTP/1.0 200 OK") and "Content-Type: application/json" in head, head
    info = json.loads(payload)
    assert info["board"] == "mps2-an385" and info["ip"] == "10.0.2.15" and info["requests"] == 2, info
    assert missing.stdout == "404", missing
    # /quit: the board answers "bye", waits for curl to close its side, then exits.
    assert bye.returncode == 0 and bye.stdout == "bye\n", bye
    assert board.state == "exited" and board.exit_code == 0, board.uart.text


@pytest.mark.vboard("echo_server.elf", net="user", forwards=[7])
def test_nc_gets_its_line_echoed_by_echo_server(board) -> None:
    nc = need("nc", "netcat", "ncat")
    board.uart.expect(r"echo_server: listening on 10\.0\.2\.15", timeout=30)
    board.start()
    line = "hello through nc and slirp\n"
    # -q 2 (openbsd) / -w: quit a bounded time after stdin's EOF, the echo read by then.
    args = [nc, "-q", "2", "-w", "5", "127.0.0.1", str(board.net.host_port(7))]
    if "ncat" in Path(nc).name:
        args = [nc, "-w", "5", "--idle-timeout", "2", "127.0.0.1", str(board.net.host_port(7))]
    result = subprocess.run(args, input=line, capture_output=True, text=True, timeout=30)
    assert result.stdout == line, (result, board.uart.text)
    board.uart.expect(r"echo_server: tcp 7 from 10\.0\.2\.2", timeout=10)  # the board accepted nc
