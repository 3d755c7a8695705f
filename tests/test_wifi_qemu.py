"""The Wi-Fi module serving a QEMU board: the same http_get_wifi ELF, with
QEMU's UART1 on a chardev socket that `vboard wifi-module` connects to.

The module's links are host sockets; the HTTP server runs on loopback and
the board reaches it as 10.0.2.2 through `--dns-record arm.com=10.0.2.2`.
"""

from __future__ import annotations

import http.server
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


class _Handler(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        _Handler.requests.append(self.requestline)
        body = b"hello from the host over Wi-Fi\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_http_get_wifi_on_qemu_through_our_module(firmware):
    qemu = shutil.which("qemu-system-arm")
    if qemu is None:
        pytest.fail("qemu-system-arm is not installed (scripts/setup installs it)")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 80), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = _free_port()
    board = subprocess.Popen([qemu, "-M", "mps2-an385", "-nographic", "-monitor", "none",
                              "-semihosting-config", "enable=on,target=native",
                              "-chardev", f"socket,id=wifi,host=127.0.0.1,port={port},server=on,wait=off",
                              "-serial", "stdio", "-serial", "chardev:wifi",
                              "-kernel", str(firmware / "http_get_wifi.elf")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    module = None
    try:
        module = subprocess.Popen([sys.executable, "-m", "vboard.cli", "wifi-module", "--serial",
                                   f"socket://127.0.0.1:{port}", "--dns-record", "arm.com=10.0.2.2",
                                   "--duration", "60"], cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        out, err = board.communicate(timeout=60)
    finally:
        if board.poll() is None:
            board.kill()
            board.wait()
        if module is not None:
            module.kill()
            module.communicate()
        server.shutdown()
        server.server_close()
    text = out.decode(errors="replace")
    assert board.returncode == 0, (text, err.decode(errors="replace"))
    assert "HTTP/1.0 200 OK" in text and "http_get_wifi: done" in text, text
    # QEMU's CMSDK UART ignores BAUDDIV: the AT+UART_CUR switch must still end at the new rate.
    assert "http_get_wifi: module link at 1562500 baud" in text, text
    assert _Handler.requests == ["GET / HTTP/1.0"], _Handler.requests
