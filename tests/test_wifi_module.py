"""``vboard wifi-module``: the ESP8266 model served on a PTY, driven through pyserial (wall-time bounded)."""

from __future__ import annotations

import threading
import time

import pytest
import serial

from bridge.host_sockets import HostSocketProvider
from bridge.wifi_module import HZ, PtySerial, WifiModuleServer, main_wifi_module, parse_ap
from emulator.clock import Clock
from peripherals.esp8266 import Esp8266


def read_until(port: serial.Serial, expect: bytes, timeout: float = 5.0) -> bytes:
    got = bytearray()
    deadline = time.monotonic() + timeout
    while expect not in got:
        assert time.monotonic() < deadline, f"no {expect!r} within {timeout}s; got {bytes(got)!r}"
        got += port.read(port.in_waiting or 1)
    return bytes(got)


@pytest.fixture
def served():
    pty = PtySerial()
    clock = Clock(HZ)
    holder = {}
    provider = HostSocketProvider(lambda a: holder["s"].post(a))
    module = Esp8266("wifi", clock, access_points=[{"ssid": "lab", "password": "password1"}],
                     provider=provider, join_time=0.05)
    server = WifiModuleServer(pty, module, clock)
    holder["s"] = server
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    port = serial.Serial(pty.path, 115200, timeout=0.05)
    yield port, module
    port.close()
    server.stop()
    thread.join(timeout=5)
    provider.shutdown()
    pty.close()


def test_at_session_over_a_pty(served) -> None:
    port, module = served
    read_until(port, b"ready\r\n")
    port.write(b"AT\r\n")
    assert read_until(port, b"OK\r\n") == b"AT\r\r\n\r\nOK\r\n"
    port.write(b"ATE0\r\n")
    read_until(port, b"OK\r\n")
    port.write(b"AT+GMR\r\n")
    assert read_until(port, b"OK\r\n").startswith(b"AT version:1.7.4.0(")
    port.write(b"AT+CIPMUX=1\r\n")
    read_until(port, b"OK\r\n")
    port.write(b'AT+CWJAP_CUR="lab","password1"\r\n')
    assert read_until(port, b"OK\r\n") == b"WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n"
    port.write(b"AT+CIFSR\r\n")
    assert read_until(port, b"OK\r\n").startswith(b'+CIFSR:STAIP,"10.0.2.15"')
    port.write(b"AT+BOGUS\r\n")
    assert read_until(port, b"ERROR\r\n") == b"\r\nERROR\r\n"


def test_parse_ap_and_bad_arguments(capsys) -> None:
    assert parse_ap("home:secret123:-40") == {"ssid": "home", "password": "secret123", "rssi": -40}
    assert parse_ap("cafe:") == {"ssid": "cafe", "password": ""}
    with pytest.raises(ValueError, match="SSID:PASS"):
        parse_ap("nocolon")
    assert main_wifi_module(["--serial", "pty", "--ap", "x"]) == 2
    assert "expected SSID:PASS" in capsys.readouterr().err
    assert main_wifi_module(["--serial", "/nonexistent/tty"]) == 2
    assert main_wifi_module(["--serial", "pty", "--dns-record", "bad"]) == 2


def test_main_serves_for_a_duration() -> None:
    assert main_wifi_module(["--serial", "loop://", "--duration", "0.3", "--ap", "a:password1"]) == 0
