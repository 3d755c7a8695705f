"""End to end: the Wi-Fi firmware (drivers/esp8266 + ESP8266Interface) on ``mps2-an385-wifi``.

- ``wifi_tests`` (Mbed's network/wifi cases: scan, connect, wrong password,
  unknown SSID, RSSI, disconnect/reconnect) through ``vboard run``, whose CLI
  attaches the host socket provider: the one echo case reaches host peers on
  127.0.0.1 (``vboard/peers.py``) as 10.0.2.2;
- the AP-loss case in process (the module's in-simulation LoopbackProvider,
  the AP removed from the model while the firmware waits): sockets get
  NSAPI_ERROR_CONNECTION_LOST, the status callback DISCONNECTED, reconnecting
  to the open AP works;
- the seed samples over Wi-Fi (``http_get_wifi``, ``sigio_state_machine_wifi``)
  against a Python HTTP server on 127.0.0.1:80 (``--dns-record``);
- ``netsocket_tests_wifi`` (the Ethernet TCP/UDP/DNS cases, unchanged) against
  host echo/discard/daytime/chargen servers;
- the Ethernet programs keep the Ethernet default interface.

Everything stays on 127.0.0.1; every wait is bounded; nothing is skipped.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from netpeers import http_server, inet_services

from vboard.peers import http_response

ROOT = Path(__file__).resolve().parents[1]
PLATFORM = "mps2-an385-wifi"

WIFI_CASES = ["WIFI-CONSTRUCTOR", "WIFI-SET-CREDENTIAL", "WIFI-SET-CHANNEL", "WIFI-CONNECT-PARAMS-NULL",
              "WIFI-SCAN-NULL", "WIFI-SCAN", "WIFI-CONNECT-SECURE-FAIL", "WIFI-CONNECT-NOSSID",
              "WIFI-CONNECT-PARAMS-CHANNEL", "WIFI-CONNECT-PARAMS-VALID-SECURE", "WIFI-GET-RSSI",
              "WIFI-SOCKET-ECHO", "WIFI-DISCONNECT", "WIFI-CONNECT-OPEN", "WIFI-CONNECT-DISCONNECT-REPEAT",
              "WIFI-DEFAULT-CREDENTIALS"]
NETSOCKET_CASES = ["TCPSOCKET_OPEN_LIMIT", "TCPSOCKET_OPEN_CLOSE_REPEAT", "TCPSOCKET_OPEN_TWICE",
                   "TCPSOCKET_CONNECT_INVALID", "TCPSOCKET_ECHOTEST", "TCPSOCKET_ECHOTEST_NONBLOCK",
                   "TCPSOCKET_ECHOTEST_BURST", "TCPSOCKET_RECV_100K", "TCPSOCKET_RECV_TIMEOUT",
                   "TCPSOCKET_SEND_TIMEOUT", "TCPSOCKET_ENDPOINT_CLOSE", "UDPSOCKET_ECHOTEST",
                   "UDPSOCKET_ECHOTEST_BURST", "UDPSOCKET_SENDTO_REPEAT", "SYNCHRONOUS_DNS",
                   "SYNCHRONOUS_DNS_INVALID", "ASYNCHRONOUS_DNS"]
NETTEST_DNS_HOST = "echo.vboard.test"


def run_board(elf: Path, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """``vboard run --platform mps2-an385-wifi`` with a wall-time bound (killed, never hangs)."""
    try:
        argv = [sys.executable, "-m", "vboard.cli", "run", "--platform", PLATFORM, str(elf), *args]
        return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        raise AssertionError(f"{elf.name} did not finish within {timeout}s:\n{out}") from None


def parse_cases(text: str) -> dict[str, str]:
    results = {}
    for m in re.finditer(r"^(PASS|FAIL) ([A-Z0-9_-]+)(?::\s*(.*))?$", text, re.M):
        results[m.group(2)] = "PASS" if m.group(1) == "PASS" else f"FAIL {m.group(3) or ''}".strip()
    return results


def assert_all_pass(text: str, cases: list[str], code: int) -> None:
    results = parse_cases(text)
    assert sorted(results) == sorted(cases), text
    failed = {k: v for k, v in results.items() if v != "PASS"}
    assert not failed, f"{failed}\n{text}"
    assert code == 0, text


# ------------------------------------------------------------------ wifi_tests
def test_wifi_tests_pass_on_vboard(firmware: Path) -> None:
    with inet_services() as peers:  # WIFI-SOCKET-ECHO: 10.0.2.2:7 is the host's echo
        proc = run_board(firmware / "wifi_tests.elf", "--max-time", "60s", timeout=120)
        assert peers.errors == [], peers.errors
    assert "ip 10.0.2.15" in proc.stdout, proc.stdout
    assert "AT 1070400, SDK 3000400" in proc.stdout, proc.stdout
    assert_all_pass(proc.stdout, WIFI_CASES, proc.returncode)
    assert "16 passed, 0 failed" in proc.stdout


def test_ap_loss_gives_connection_lost_and_reconnect_works(firmware: Path) -> None:
    """In process: the module keeps its LoopbackProvider (echo on port 7 at any address)."""
    from emulator.board.loader import load_image
    from emulator.board.machine import Machine
    from emulator.board.platform import load_platform
    from emulator.net.sockets import LoopbackProvider

    m = Machine(load_platform(PLATFORM))
    wifi = m.devices["wifi"]
    assert isinstance(wifi.provider, LoopbackProvider)
    out = bytearray()
    m.port("uart0").connect(out.extend)
    m.semihosting.cmdline = "wifi_tests ap-loss"
    m.load(load_image(firmware / "wifi_tests.elf"))
    hz = m.platform.clock_hz
    lost = False
    stop = None
    for _ in range(400):  # at most 400 x 0.25 s = 100 s of board time
        stop = m.run(hz // 4)
        if not lost and b"waiting for the AP to go" in out:
            m.run(hz // 10)
            wifi.inject_ap_loss()
            lost = True
        if stop.kind != "time":
            break
    text = out.decode(errors="replace")
    assert stop is not None and stop.kind == "exit", (stop, text)
    assert lost, text
    assert_all_pass(text, [*WIFI_CASES, "WIFI-AP-LOSS-RECONNECT"], stop.exit_code or 0)


# ------------------------------------------------------------------ seed samples
def test_http_get_wifi_prints_the_host_servers_response(firmware: Path) -> None:
    body = b"<html>vboard wifi: hello from the host</html>"
    with http_server(http_response(body, "text/html")) as server:
        proc = run_board(firmware / "http_get_wifi.elf", "--dns-record", "arm.com=10.0.2.2",
                         "--max-time", "30s", timeout=90)
        assert server.errors == [], server.errors
    out = proc.stdout
    assert "http_get_wifi: connect 0, ip 10.0.2.15" in out, out
    assert "HTTP/1.1 200 OK" in out, out
    assert "http_get_wifi: done" in out, out
    assert "http_get_wifi: module link at 1562500 baud" in out, out  # AT+UART_CUR, then BAUDDIV 16
    assert proc.returncode == 0, out
    assert server.requests and server.requests[0].request_line.startswith("GET / HTTP/1.0"), server.requests


def test_sigio_state_machine_wifi_gets_the_whole_response(firmware: Path) -> None:
    with http_server(http_response(b"203.0.113.7")) as server:
        proc = run_board(firmware / "sigio_state_machine_wifi.elf", "--dns-record", "api.ipify.org=10.0.2.2",
                         "--max-time", "30s", timeout=90)
        assert server.errors == [], server.errors
    out = proc.stdout
    assert "203.0.113.7" in out, out
    assert "sigio_state_machine_wifi: done" in out, out
    assert proc.returncode == 0, out


# ------------------------------------------------------------------ netsocket cases over Wi-Fi
def test_netsocket_tests_over_wifi(firmware: Path) -> None:
    with inet_services() as peers:
        proc = run_board(firmware / "netsocket_tests_wifi.elf",
                         "--dns-record", f"{NETTEST_DNS_HOST}=10.0.2.2", "--max-time", "150s", timeout=240)
        assert peers.errors == [], peers.errors
    assert "ip 10.0.2.15" in proc.stdout, proc.stdout
    assert_all_pass(proc.stdout, NETSOCKET_CASES, proc.returncode)


# ------------------------------------------------------------------ Ethernet stays the default
def test_ethernet_programs_keep_the_ethernet_default(firmware: Path) -> None:
    nm = shutil.which("arm-none-eabi-nm")
    assert nm, "arm-none-eabi-nm missing (gcc-arm-none-eabi)"

    def symbols(name: str) -> str:
        return subprocess.run([nm, "-C", str(firmware / f"{name}.elf")], capture_output=True, text=True,
                              check=True, timeout=30).stdout

    for eth in ("http_get", "sigio_state_machine", "netsocket_tests"):
        syms = symbols(eth)
        assert "esp_join" not in syms and "ESP8266Interface::connect" not in syms, eth
    for wifi in ("http_get_wifi", "sigio_state_machine_wifi", "netsocket_tests_wifi", "wifi_tests"):
        syms = symbols(wifi)
        assert "esp_join" in syms, wifi
        if wifi != "sigio_state_machine_wifi":  # the others call get_default_instance(): the Wi-Fi one
            assert "WiFiInterface::get_default_instance" in syms, wifi
