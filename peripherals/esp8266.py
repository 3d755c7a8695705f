"""ESP8266 Wi-Fi module running Espressif NonOS AT firmware 1.7.x, as a serial peer.

Sources: the Mbed OS ``ESP8266Interface`` driver (its exact command
sequences, NonOS AT 1.7 formats, 1.7 vs 2.x differences),
Espressif "ESP8266 AT Instruction Set" (4a, NonOS 1.x) for the formats.
This is not an MMIO device: ``SIZE`` is 0, the platform gives no base; the
module talks through its ``serial`` BytePort, which ``connect_serial`` wires
to a UART's ``serial`` port in both directions.

Firmware facts honoured (Mbed OS ESP8266Interface):
* ``AT+GMR`` prints ``AT version:1.7.4.0(...)`` and ``SDK version:3.0.4(...)``
  (the driver refuses SDK < 2, needs AT >= 1.7 for passive TCP receive).
* ``_CUR``/``_DEF`` command forms; ``+CWJAP:<n>`` then ``FAIL`` on a failed
  join (1 timeout, 2 wrong password, 3 AP not found, 4 failed).
* ``WIFI `` URCs are only ``CONNECTED``, ``GOT IP`` and ``DISCONNECT`` (any
  other suffix is fatal in the driver); ``busy`` is only ``busy s...`` or
  ``busy p...``.
* Passive TCP (``AT+CIPRECVMODE=1``): ``+IPD,<id>,<len>`` then
  ``AT+CIPRECVDATA`` answers ``+CIPRECVDATA,<n>:<data>`` (1.7 form, not the
  doc's). UDP is always active: ``+IPD,<id>,<len>,<ip>,<port>:<data>`` with
  ``AT+CIPDINFO=1`` (IP unquoted, as NonOS prints it).
* ``<id>,CLOSED`` for a peer close is withheld until the passive buffer of
  the link is read (the driver drops buffered data of a closed link).
* ``SEND OK``/``SEND FAIL`` carry no link id; ``+IPD`` and other URCs are
  held while a command or a send is in progress and follow its final line.

Wire format (chosen; byte-exact in the tests): echo (ATE1, the power-on
default) repeats a command line as ``<line>\\r\\r\\n`` (the classic
``AT\\r\\r\\n\\r\\nOK\\r\\n``); a final result is ``\\r\\nOK\\r\\n`` /
``\\r\\nERROR\\r\\n`` / ``\\r\\nFAIL\\r\\n`` after the information lines
(each ``\\r\\n``-terminated); ``AT+GMR`` ends in ``OK\\r\\n`` without the blank
line; URCs are ``<text>\\r\\n``; active ``+IPD`` is ``\\r\\n+IPD,...:<data>``;
``AT+CIPSEND`` answers ``\\r\\nOK\\r\\n> ``.

Timing (virtual): bytes travel at ``baud`` (default 115200, 10 bits per
byte) in both directions, handed over in chunks of up to 16 bytes when a
chunk's last byte has arrived (bytes sent while the line is busy join the
last chunk); ``AT+UART_CUR``/``AT+UART_DEF`` change ``baud`` once their
``OK`` is on the wire (a reboot restores ``baud``); boot ``boot_time``
(0.2 s) then ``ready``; a join takes ``join_time`` (0.3 s to WIFI CONNECTED,
another 0.2 s to WIFI GOT IP); a scan 13 x t_max (default 120 ms); SEND OK
follows ``Recv N bytes`` after ``send_time`` (2 ms); a TCP connect waits for
the provider up to ``connect_timeout`` (5 s).

Choices where the firmware/doc is unknown or silent:
* Addressing like QEMU user networking / passt: station IP 10.0.2.15/24,
  gateway 10.0.2.2 (the host, loopback under the host provider), whatever AP
  is joined. With DHCP off the static ``AT+CIPSTA_CUR`` address is used.
* A board reset (the machine clears every scheduled event) reboots the
  module too: links dropped, ``ready`` after ``boot_time``.
* ``AT+CIPRECVDATA`` with nothing buffered answers ``OK`` alone (the driver
  then sees WOULD_BLOCK); on an unknown or non-passive link ``ERROR``.
* A failed TCP connect answers ``\\r\\nERROR\\r\\n<id>,CLOSED\\r\\n``.
* ``AT+CIPCLOSE`` of a closed link: ``UNLINK`` then ``ERROR`` (the driver
  treats UNLINK as closed).
* Losing the AP (``remove_ap`` / ``inject_ap_loss``): ``WIFI DISCONNECT``
  then ``<id>,CLOSED`` for every open link; the module rejoins on its own
  when the AP comes back (``WIFI CONNECTED``, ``WIFI GOT IP``).
* Input that arrives during boot is dropped. A short ``CIPSEND`` waits for
  the rest of its bytes forever (no timeout is documented for NonOS).
* Lines are CR, LF or CRLF terminated, at most 256 bytes (longer: ERROR).

Not modelled: SoftAP clients and ``AT+CIPSERVER`` (the driver never uses
them; logged once), SSL links, transparent mode (``AT+CIPMODE=1``), sleep,
hardware flow control signals (``AT+UART_CUR`` flow is stored and
reported), WPS, SmartConfig, ``_DEF`` persistence across module resets.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any, ClassVar

from emulator.bus.device import BytePort, Device
from emulator.bus.regs import RegMap
from emulator.clock import Clock, Timer
from emulator.net.sockets import TCP, UDP, LoopbackProvider, Remote, SocketProvider, is_ipv4

__all__ = ["Esp8266", "connect_serial", "Ok", "Error", "Fail", "Raw", "Response", "AccessPoint",
           "TEST", "READ", "WRITE", "EXEC", "at"]

TEST, READ, WRITE, EXEC = "test", "read", "write", "exec"
MAX_LINE = 256
MAX_SEND = 2048
LINKS = 5
CHUNK = 16
BITS_PER_BYTE = 10
CR, LF = 0x0D, 0x0A


def connect_serial(uart_port: BytePort, module_port: BytePort) -> None:
    """Wire a UART's ``serial`` port to the module's, both directions."""
    uart_port.connect(module_port.deliver)
    module_port.connect(uart_port.deliver)


# ----------------------------------------------------------------- responses
@dataclass
class Response:
    """A typed command result: information lines, then the final line."""

    lines: tuple[str, ...] = ()
    final: ClassVar[str] = ""
    blank: bool = True  # a blank line before the final one (all but AT+GMR)

    def render(self) -> bytes:
        body = "".join(f"{line}\r\n" for line in self.lines)
        return (body + ("\r\n" if self.blank else "") + f"{self.final}\r\n").encode("latin-1")


@dataclass
class Ok(Response):
    final: ClassVar[str] = "OK"


@dataclass
class Error(Response):
    final: ClassVar[str] = "ERROR"


@dataclass
class Fail(Response):
    final: ClassVar[str] = "FAIL"


@dataclass
class Raw(Response):
    """Bytes sent verbatim (fault injection: garbage, a truncated answer, silence)."""

    data: bytes = b""

    def render(self) -> bytes:
        return self.data


@dataclass
class _Prompt(Response):
    """``OK`` then ``> ``: the module now takes ``length`` raw bytes for ``link``."""

    link: int = 0
    length: int = 0
    remote: Remote | None = None

    def render(self) -> bytes:
        return b"\r\nOK\r\n> "


PENDING = Response()  # the handler finishes later with ``_finish``


class ArgError(Exception):
    """A malformed or out-of-range argument: the command answers ERROR."""


class Args:
    """The parameters of a write command: ``"quoted"`` strings or bare tokens, may be empty."""

    def __init__(self, text: str) -> None:
        self.values: list[str] = []
        self.quoted: list[bool] = []
        cur: list[str] = []
        quoted = in_q = False
        i = 0
        while i < len(text):
            ch = text[i]
            if in_q:
                if ch == "\\" and i + 1 < len(text):
                    cur.append(text[i + 1])
                    i += 1
                elif ch == '"':
                    in_q = False
                else:
                    cur.append(ch)
            elif ch == '"':
                if cur or quoted:
                    raise ArgError("quote inside a parameter")
                in_q = quoted = True
            elif ch == ",":
                self.values.append("".join(cur))
                self.quoted.append(quoted)
                cur, quoted = [], False
            else:
                if quoted:
                    raise ArgError("text after a closing quote")
                cur.append(ch)
            i += 1
        if in_q:
            raise ArgError("unterminated string")
        self.values.append("".join(cur))
        self.quoted.append(quoted)

    def __len__(self) -> int:
        return len(self.values)

    def count(self, lo: int, hi: int) -> int:
        if not lo <= len(self.values) <= hi:
            raise ArgError(f"expected {lo}..{hi} parameters, got {len(self.values)}")
        return len(self.values)

    def int(self, i: int, lo: int, hi: int, default: int | None = None) -> int:
        if i >= len(self.values) or self.values[i] == "":
            if default is None:
                raise ArgError(f"parameter {i + 1} missing")
            return default
        if self.quoted[i] or not re.fullmatch(r"-?[0-9]{1,10}", self.values[i]):
            raise ArgError(f"parameter {i + 1} is not a number")
        v = int(self.values[i])
        if not lo <= v <= hi:
            raise ArgError(f"parameter {i + 1} out of range {lo}..{hi}")
        return v

    def str(self, i: int, default: str | None = None, quoted: bool = True) -> str:
        if i >= len(self.values) or (self.values[i] == "" and not self.quoted[i]):
            if default is None:
                raise ArgError(f"parameter {i + 1} missing")
            return default
        if quoted and not self.quoted[i]:
            raise ArgError(f"parameter {i + 1} must be quoted")
        return self.values[i]


def at(name: str, *kinds: str) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Register a method as the handler of ``AT<name>`` for the given kinds.

    ``WRITE`` handlers take ``(self, args: Args)``, the others ``(self)``.
    """

    def deco(fn: Callable[..., Response]) -> Callable[..., Response]:
        fn._at = [*getattr(fn, "_at", []), *((name, k) for k in kinds)]  # type: ignore[attr-defined]
        return fn

    return deco


# --------------------------------------------------------------- radio world
@dataclass
class AccessPoint:
    ssid: str
    password: str = ""
    rssi: int = -50
    channel: int = 6
    bssid: str = "02:00:00:00:00:01"
    ecn: int | None = None  # 0 open, 3 WPA2-PSK (default from the password)

    @property
    def encryption(self) -> int:
        if self.ecn is not None:
            return self.ecn
        return 3 if self.password else 0

    def as_dict(self) -> dict[str, Any]:
        return {"ssid": self.ssid, "password": self.password, "rssi": self.rssi,
                "channel": self.channel, "bssid": self.bssid, "ecn": self.ecn}


@dataclass
class _Link:
    proto: str
    remote: Remote
    handle: int
    local_port: int = 0
    mode: int = 0            # UDP: 0 fixed peer, 1 change once, 2 follow the last sender
    keepalive: int = 0
    connected: bool = False  # TCP: the provider confirmed the connection
    rx: bytearray = field(default_factory=bytearray)
    peer_closed: bool = False
    paused: bool = False


class _Wire:
    """One direction of the serial line: bytes arrive ``char`` cycles apiece, in order.

    Bytes are handed to the sink in chunks of up to ``CHUNK``, each when its
    last byte has arrived. Bytes pushed while the line is still busy top up
    the last chunk (so a firmware writing one byte per UART access costs one
    event per ``CHUNK`` bytes, not one per byte); on an idle line a new chunk
    starts.
    """

    def __init__(self, dev: Esp8266, sink: Callable[[bytes], None], name: str) -> None:
        self.dev = dev
        self.sink = sink
        self.name = name
        self.queue: list[tuple[int, bytes]] = []
        self.free_at = 0
        self.timer: Timer | None = None

    def push(self, data: bytes) -> None:
        now = self.dev.clock.now
        char = self.dev.char_cycles
        queue = self.queue
        end = self.free_at
        first = 0
        if end > now and queue and len(queue[-1][1]) < CHUNK:
            # The line is busy: these bytes follow the last chunk's, and join it.
            chunk = queue[-1][1]
            first = CHUNK - len(chunk)
            head = data[:first]
            end += char * len(head)
            queue[-1] = (end, chunk + head)
            if len(data) <= first:  # the common case: a firmware writing byte by byte
                self.free_at = end
                return  # the timer is armed for the head chunk (it re-arms if that grew)
        else:
            end = max(now, end)
        for i in range(first, len(data), CHUNK):
            chunk = bytes(data[i:i + CHUNK])
            end += char * len(chunk)
            queue.append((end, chunk))
        self.free_at = end
        self._arm()

    def _arm(self) -> None:
        if self.timer is None and self.queue:
            self.timer = self.dev.clock.call_at(self.queue[0][0], self._fire, self.name)

    def _fire(self) -> None:
        # The head chunk may have grown since the timer was set: then it re-arms.
        self.timer = None
        now = self.dev.clock.now
        while self.queue and self.queue[0][0] <= now:
            _, chunk = self.queue.pop(0)
            self.sink(chunk)
        self._arm()

    def clear(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = None
        self.queue.clear()
        self.free_at = 0

    def get_state(self) -> dict[str, Any]:
        return {"queue": [(w, bytes(c)) for w, c in self.queue], "free_at": self.free_at}

    def set_state(self, state: dict[str, Any]) -> None:
        self.clear()
        self.queue = [(int(w), bytes(c)) for w, c in state["queue"]]
        self.free_at = state["free_at"]
        self._arm()


@dataclass
class _Override:
    kind: str | None
    response: Response | Callable[[], Response]
    times: int | None


class Esp8266(Device):
    """ESP8266 with NonOS AT 1.7.x on a serial line (see the module docstring)."""

    SIZE = 0
    REGS = RegMap()
    BYTE_PORTS = ("serial",)
    STATE_VERSION = 1
    COMMANDS: ClassVar[dict[tuple[str, str], Callable[..., Response]]] = {}
    window = 5760  # passive receive buffer per link before the peer is paused

    def __init__(self, name: str, clock: Clock, *, access_points: list[dict[str, Any]] | None = None,
                 baud: int = 115200, attach: str | None = None, mac: str = "18:fe:34:00:00:01",
                 ip: str = "10.0.2.15", gateway: str = "10.0.2.2", netmask: str = "255.255.255.0",
                 at_version: str = "1.7.4.0", sdk_version: str = "3.0.4",
                 boot_time: float = 0.2, join_time: float = 0.5, send_time: float = 0.002,
                 connect_timeout: float = 5.0, dns_records: dict[str, Any] | None = None,
                 provider: SocketProvider | None = None, epoch: int = 1_700_000_000,
                 **settings: Any) -> None:
        super().__init__(name, clock, **settings)
        if not isinstance(baud, int) or not 110 <= baud <= 4_608_000:
            raise ValueError(f"baud: expected 110..4608000, got {baud!r}")
        for key, value in (("ip", ip), ("gateway", gateway), ("netmask", netmask)):
            if not is_ipv4(value):
                raise ValueError(f"{key}: expected an IPv4 address, got {value!r}")
        self.attach = attach
        self.mac = mac
        self.default_baud = baud
        self.dhcp_ip, self.dhcp_gateway, self.dhcp_netmask = ip, gateway, netmask
        self.at_version, self.sdk_version = at_version, sdk_version
        self.boot_time, self.join_time, self.send_time = boot_time, join_time, send_time
        self.connect_timeout = connect_timeout
        self.epoch = epoch
        self.aps: dict[str, AccessPoint] = {}
        for i, ap in enumerate(access_points or []):
            if not isinstance(ap, dict) or "ssid" not in ap:
                raise ValueError(f"access_points[{i}]: expected a mapping with an 'ssid'")
            self.add_ap(**ap)
        self.port = self.ports["serial"]
        self.port.on_receive = self._receive
        self.provider: SocketProvider = provider or LoopbackProvider(clock, dns_records)
        self.provider.attach(self)
        if dns_records is not None and self.provider.records is None:
            self.provider.records = dns_records
        self._overrides: dict[str, list[_Override]] = {}
        self._send_failures = 0
        self._join_failures: list[int] = []
        self._ops: dict[int, tuple[int, str, tuple[Any, ...]]] = {}
        self._op_timers: dict[int, Timer] = {}
        self._op_seq = count()
        self.tx = _Wire(self, self.port.send, f"{name}.tx")
        self.rx = _Wire(self, self._feed, f"{name}.rx")
        self.transcript_enabled = False
        self.reset()

    # ------------------------------------------------------------ radio world
    def add_ap(self, ssid: str, password: str | None = "", rssi: int = -50, channel: int = 6,
               bssid: str | None = None, ecn: int | None = None) -> AccessPoint:
        """A virtual access point (re-adding the AP the module lost makes it rejoin)."""
        if not isinstance(ssid, str) or not 0 < len(ssid) <= 32:
            raise ValueError(f"access point ssid: expected 1..32 characters, got {ssid!r}")
        n = len(self.aps) + 1
        ap = AccessPoint(ssid, password or "", int(rssi), int(channel),
                         bssid or f"02:00:00:00:00:{n:02x}", ecn)
        self.aps[ssid] = ap
        if getattr(self, "_lost_ssid", None) == ssid and self._ready:
            self._lost_ssid = None
            self._later(self.join_time * 0.6, "rejoin_connected", ssid)
        return ap

    def remove_ap(self, ssid: str) -> None:
        """The AP disappears; if the module was on it: WIFI DISCONNECT, links CLOSED."""
        self.aps.pop(ssid, None)
        if self.joined == ssid:
            self._lose_wifi(rejoin=ssid)

    def set_rssi(self, ssid: str, rssi: int) -> None:
        self.aps[ssid].rssi = int(rssi)

    # -------------------------------------------------------- fault injection
    def override(self, command: str, response: Response | Callable[[], Response],
                 kind: str | None = None, times: int | None = 1) -> None:
        """Answer ``AT<command>`` (e.g. ``+CIPSTART``) with ``response`` instead of running it."""
        self._overrides.setdefault(command, []).append(_Override(kind, response, times))

    def clear_overrides(self) -> None:
        self._overrides.clear()

    def inject_send_fail(self, times: int = 1) -> None:
        """The next ``times`` sends end in ``SEND FAIL``."""
        self._send_failures += times

    def inject_join_failure(self, code: int, times: int = 1) -> None:
        """The next ``times`` joins fail with ``+CWJAP:<code>`` / ``FAIL``."""
        self._join_failures.extend([int(code)] * times)

    def inject_ap_loss(self) -> None:
        """The joined AP vanishes for good (call ``add_ap`` to bring one back)."""
        if self.joined is not None:
            self.remove_ap(self.joined)

    def inject_reset(self) -> None:
        """The module resets by itself (watchdog, brown-out): links gone, ``ready`` after boot."""
        self._reboot()

    def inject_peer_close(self, link: int) -> None:
        """The remote end closes ``link``."""
        lk = self.links.get(link)
        if lk is not None:
            self.provider.close(lk.handle)
            self.socket_closed(lk.handle)

    def inject_urc(self, text: str) -> None:
        """An unsolicited line, held while a command runs like any other URC."""
        self._urc(text.encode("latin-1") + b"\r\n")

    # -------------------------------------------------------------- timing
    @property
    def baud(self) -> int:
        return self._baud

    @baud.setter
    def baud(self, value: int) -> None:
        self._baud = value
        self.char_cycles = max(1, round(BITS_PER_BYTE * self.clock.hz / value))

    def _later(self, seconds: float, op: str, *args: Any) -> int:
        return self._later_cycles(self.clock.cycles(seconds), op, *args)

    def _later_cycles(self, cycles: int, op: str, *args: Any) -> int:
        seq = next(self._op_seq)
        when = self.clock.now + max(0, cycles)
        self._ops[seq] = (when, op, args)
        self._op_timers[seq] = self.clock.call_at(when, lambda s=seq: self._fire_op(s), f"{self.name}.{op}")
        return seq

    def _fire_op(self, seq: int) -> None:
        entry = self._ops.pop(seq, None)
        self._op_timers.pop(seq, None)
        if entry is not None:
            getattr(self, f"_op_{entry[1]}")(*entry[2])

    def _cancel_op(self, seq: int | None) -> None:
        if seq is not None and seq in self._ops:
            del self._ops[seq]
            self._op_timers.pop(seq).cancel()

    def _cancel_ops(self) -> None:
        for timer in self._op_timers.values():
            timer.cancel()
        self._ops.clear()
        self._op_timers.clear()

    # --------------------------------------------------------------- reset
    def reset(self) -> None:
        super().reset()
        self._cancel_ops()
        self.tx.clear()
        self.rx.clear()
        self._power_on()
        self._ready = False
        self._later(self.boot_time, "boot")

    def _power_on(self) -> None:
        self.provider.close_all()
        self.baud = self.default_baud
        self.uart_cur = [self.default_baud, 8, 1, 0, 0]
        self.uart_def = list(self.uart_cur)
        self.echo = True
        self.cwmode = 1
        self.country = [0, "CN", 1, 13]
        self.sta_dhcp = True
        self.static = ["0.0.0.0", "0.0.0.0", "0.0.0.0"]
        self.joined: str | None = None
        self.got_ip = False
        self._lost_ssid: str | None = None
        self.cipmux = 0
        self.dinfo = 0
        self.recvmode = 0
        self.sntp: list[Any] = [0, 8, "cn.ntp.org.cn", "ntp.sjtu.edu.cn", "us.pool.ntp.org"]
        self.links: dict[int, _Link] = {}
        self._line = bytearray()
        self._overflow = False
        self._last_cr = False
        self._busy: str | None = None  # "p": a command runs; "s": a send is in progress
        self._held: list[bytes] = []
        self._data: _Prompt | None = None
        self._data_buf = bytearray()
        self._pending: dict[str, Any] = {}
        self._sync_result: Response | None = None

    def _reboot(self) -> None:
        self._cancel_ops()
        self.rx.clear()
        self._power_on()
        self._ready = False
        self._later(self.boot_time, "boot")

    def _op_boot(self) -> None:
        self._ready = True
        self._emit(b"\r\n ets Jan  8 2013,rst cause:2, boot mode:(3,7)\r\n\r\nready\r\n")

    # ----------------------------------------------------------- byte input
    def _receive(self, data: bytes) -> None:
        self.rx.push(data)

    def _feed(self, data: bytes) -> None:
        i, n = 0, len(data)
        while i < n:
            if not self._ready:
                return
            b = data[i]
            if self._last_cr and b == LF:
                self._last_cr = False
                i += 1
                continue
            self._last_cr = False
            if self._data is not None:
                take = data[i:i + self._data.length - len(self._data_buf)]
                self._data_buf += take
                i += len(take)
                if len(self._data_buf) == self._data.length:
                    self._data_complete()
                continue
            i += 1
            if b == CR or b == LF:
                self._last_cr = b == CR
                line, overflow = bytes(self._line), self._overflow
                self._line.clear()
                self._overflow = False
                if line or overflow:
                    self._line_done(line, overflow)
            elif len(self._line) < MAX_LINE:
                self._line.append(b)
            else:
                self._overflow = True

    def _line_done(self, line: bytes, overflow: bool) -> None:
        if self._busy is not None:
            self._emit(f"busy {self._busy}...\r\n".encode())
            return
        if self.echo:
            self._emit(line + b"\r\r\n")
        if overflow:
            self.guest_error(f"command line longer than {MAX_LINE} bytes")
            self._respond(Error())
            return
        self._respond(self._dispatch(line.decode("latin-1")))

    _CMD_RE = re.compile(r"(\+[A-Z0-9_]+)(=\?|\?|=)?(.*)\Z", re.S)

    def _dispatch(self, text: str) -> Response:
        if not text.startswith("AT"):
            self.guest_error(f"not a command: {text[:40]!r}")
            return Error()
        rest = text[2:]
        argtext = ""
        if rest.startswith("+"):
            m = self._CMD_RE.match(rest)
            if m is None:
                return Error()
            name, op, argtext = m.group(1), m.group(2), m.group(3)
            kind = {None: EXEC, "=": WRITE, "?": READ, "=?": TEST}[op]
            if argtext and kind != WRITE:
                return Error()
        else:
            name, kind = rest, EXEC
        for ov in self._overrides.get(name, []):
            if ov.kind in (None, kind):
                if ov.times is not None:
                    ov.times -= 1
                    if ov.times <= 0:
                        self._overrides[name].remove(ov)
                return ov.response() if callable(ov.response) else ov.response
        handler = self.COMMANDS.get((name, kind))
        if handler is None:
            if any(k[0] == name for k in self.COMMANDS):
                self.guest_error(f"AT{name}: no {kind} form")
            elif re.fullmatch(r"\+?[A-Z][A-Z0-9_]{0,15}", name):
                self.unimplemented(f"AT{name}")
            else:
                self.guest_error(f"unknown command AT{name[:40]!r}")
            return Error()
        try:
            return handler(self, Args(argtext)) if kind == WRITE else handler(self)
        except ArgError as e:
            self.guest_error(f"AT{name}: {e}")
            return Error()

    def _respond(self, resp: Response) -> None:
        if resp is PENDING:
            if self._sync_result is None:
                self._busy = "p"
                return
            resp, self._sync_result = self._sync_result, None
            self._pending = {}
        self._emit(resp.render())
        if isinstance(resp, _Prompt):
            self._data = resp
            self._data_buf = bytearray()
            self._busy = "s"

    def _finish(self, resp: Response) -> None:
        """End a pending command: its final response, then the URCs held meanwhile."""
        if self._busy != "p":  # completed before the handler returned
            self._sync_result = resp
            return
        self._busy = None
        self._pending = {}
        self._emit(resp.render())
        self._flush_held()

    # ---------------------------------------------------------- byte output
    def _emit(self, data: bytes) -> None:
        if data:
            self.tx.push(data)

    def _urc(self, data: bytes) -> None:
        if self._busy is not None:
            self._held.append(data)
        else:
            self._emit(data)

    def _flush_held(self) -> None:
        held, self._held = self._held, []
        for data in held:
            self._urc(data)

    # ------------------------------------------------------------- helpers
    def _lp(self, link: int) -> str:
        """``<id>,`` prefix of link URCs in multi-link mode."""
        return f"{link}," if self.cipmux else ""

    @property
    def station_ip(self) -> list[str]:
        if not self.got_ip:
            return ["0.0.0.0", "0.0.0.0", "0.0.0.0"]
        if self.sta_dhcp or self.static[0] == "0.0.0.0":
            return [self.dhcp_ip, self.dhcp_gateway, self.dhcp_netmask]
        return list(self.static)

    def _link_id(self, args: Args, i: int = 0) -> int:
        return args.int(i, 0, LINKS - 1) if self.cipmux else 0

    def _handle_link(self, handle: int) -> int | None:
        for lid, lk in self.links.items():
            if lk.handle == handle:
                return lid
        return None

    # ------------------------------------------------------------ basics
    @at("", EXEC)
    def _at(self) -> Response:
        return Ok()

    @at("E0", EXEC)
    def _ate0(self) -> Response:
        self.echo = False
        return Ok()

    @at("E1", EXEC)
    def _ate1(self) -> Response:
        self.echo = True
        return Ok()

    @at("+RST", EXEC)
    def _rst(self) -> Response:
        # OK goes out first; the reboot starts when it is on the wire.
        self._later_cycles(self.tx.free_at - self.clock.now + len(b"\r\nOK\r\n") * self.char_cycles,
                           "reset_now")
        self._ready = False
        return Ok()

    def _op_reset_now(self) -> None:
        self._reboot()

    @at("+GMR", EXEC)
    def _gmr(self) -> Response:
        v = self.at_version.split(".")
        return Ok((f"AT version:{self.at_version}(May 11 2020 19:13:04)",
                   f"SDK version:{self.sdk_version}(9532ceb)",
                   "compile time:May 27 2020 10:12:17",
                   f"Bin version(Wroom 02):{'.'.join(v[:3])}"), blank=False)

    @at("+UART_CUR", READ)
    def _uart_cur_q(self) -> Response:
        return Ok(("+UART_CUR:" + ",".join(map(str, self.uart_cur)),))

    @at("+UART_DEF", READ)
    def _uart_def_q(self) -> Response:
        return Ok(("+UART_DEF:" + ",".join(map(str, self.uart_def)),))

    def _uart_args(self, args: Args) -> list[int]:
        args.count(5, 5)
        return [args.int(0, 110, 4_608_000), args.int(1, 5, 8), args.int(2, 1, 3),
                args.int(3, 0, 2), args.int(4, 0, 3)]

    @at("+UART_CUR", WRITE)
    @at("+UART", WRITE)
    def _uart_cur(self, args: Args) -> Response:
        self.uart_cur = self._uart_args(args)
        self._later_cycles(self.tx.free_at - self.clock.now + 6 * self.char_cycles, "set_baud",
                           self.uart_cur[0])
        return Ok()

    @at("+UART_DEF", WRITE)
    def _uart_def(self, args: Args) -> Response:
        self.uart_def = self._uart_args(args)
        self.uart_cur = list(self.uart_def)
        self._later_cycles(self.tx.free_at - self.clock.now + 6 * self.char_cycles, "set_baud",
                           self.uart_cur[0])
        return Ok()

    def _op_set_baud(self, baud: int) -> None:
        self.baud = baud

    # ------------------------------------------------------------ Wi-Fi
    @at("+CWMODE_CUR", TEST)
    @at("+CWMODE_DEF", TEST)
    @at("+CWMODE", TEST)
    def _cwmode_t(self) -> Response:
        return Ok(("+CWMODE:(1-3)",))

    @at("+CWMODE_CUR", READ)
    def _cwmode_cur_q(self) -> Response:
        return Ok((f"+CWMODE_CUR:{self.cwmode}",))

    @at("+CWMODE_DEF", READ)
    def _cwmode_def_q(self) -> Response:
        return Ok((f"+CWMODE_DEF:{self.cwmode}",))

    @at("+CWMODE", READ)
    def _cwmode_q(self) -> Response:
        return Ok((f"+CWMODE:{self.cwmode}",))

    @at("+CWMODE_CUR", WRITE)
    @at("+CWMODE_DEF", WRITE)
    @at("+CWMODE", WRITE)
    def _cwmode(self, args: Args) -> Response:
        args.count(1, 1)
        mode = args.int(0, 1, 3)
        if mode == 2 and self.joined is not None:
            self._disconnect_wifi()
        self.cwmode = mode
        return Ok()

    @at("+CWCOUNTRY_CUR", WRITE)
    @at("+CWCOUNTRY_DEF", WRITE)
    def _cwcountry(self, args: Args) -> Response:
        args.count(4, 4)
        policy, cc = args.int(0, 0, 1), args.str(1)
        start, n = args.int(2, 1, 14), args.int(3, 1, 14)
        if not re.fullmatch(r"[A-Z]{2}", cc) or start + n - 1 > 14:
            raise ArgError("bad country code or channel range")
        self.country = [policy, cc, start, n]
        return Ok()

    @at("+CWCOUNTRY_CUR", READ)
    @at("+CWCOUNTRY_DEF", READ)
    def _cwcountry_q(self) -> Response:
        p, cc, s, n = self.country
        return Ok((f'+CWCOUNTRY_CUR:{p},"{cc}",{s},{n}',))

    @at("+CWDHCP_CUR", WRITE)
    @at("+CWDHCP_DEF", WRITE)
    @at("+CWDHCP", WRITE)
    def _cwdhcp(self, args: Args) -> Response:
        args.count(2, 2)
        mode, en = args.int(0, 0, 2), args.int(1, 0, 1)
        if mode in (1, 2):
            self.sta_dhcp = bool(en)
        return Ok()

    @at("+CWDHCP_CUR", READ)
    @at("+CWDHCP_DEF", READ)
    def _cwdhcp_q(self) -> Response:
        return Ok((f"+CWDHCP_CUR:{1 | (2 if self.sta_dhcp else 0)}",))

    @at("+CWJAP_CUR", WRITE)
    @at("+CWJAP_DEF", WRITE)
    @at("+CWJAP", WRITE)
    def _cwjap(self, args: Args) -> Response:
        args.count(2, 3)
        ssid, password = args.str(0), args.str(1, default="")
        bssid = args.str(2, default="").lower()
        if self.cwmode == 2 or not 0 < len(ssid) <= 32 or len(password) > 64:
            return Error()
        if self.joined is not None:
            self._disconnect_wifi()
        self._pending = {"cmd": "join", "ssid": ssid}
        ap = self.aps.get(ssid)
        if self._join_failures:
            code = self._join_failures.pop(0)
        elif ap is None or (bssid and ap.bssid.lower() != bssid):
            code = 3
        elif ap.password and ap.password != password:
            code = 2
        else:
            code = 0
        if code:
            self._later(max(self.join_time, 1.0) if code != 1 else 15.0, "join_failed", code)
        else:
            self._later(self.join_time * 0.6, "join_connected", ssid)
        return PENDING

    def _op_join_failed(self, code: int) -> None:
        self._finish(Fail((f"+CWJAP:{code}",)))

    def _op_join_connected(self, ssid: str) -> None:
        if ssid not in self.aps:
            self._finish(Fail(("+CWJAP:3",)))
            return
        self.joined = ssid
        self._emit(b"WIFI CONNECTED\r\n")
        self._later(self.join_time * 0.4, "join_got_ip", ssid)

    def _op_join_got_ip(self, ssid: str) -> None:
        if self.joined != ssid:
            self._finish(Fail(("+CWJAP:4",)))
            return
        self.got_ip = True
        self._emit(b"WIFI GOT IP\r\n")
        self._finish(Ok())

    def _op_rejoin_connected(self, ssid: str) -> None:
        if ssid in self.aps and self.joined is None:
            self.joined = ssid
            self._urc(b"WIFI CONNECTED\r\n")
            self._later(self.join_time * 0.4, "rejoin_got_ip", ssid)

    def _op_rejoin_got_ip(self, ssid: str) -> None:
        if self.joined == ssid:
            self.got_ip = True
            self._urc(b"WIFI GOT IP\r\n")

    @at("+CWJAP_CUR", READ)
    @at("+CWJAP_DEF", READ)
    @at("+CWJAP", READ)
    def _cwjap_q(self) -> Response:
        ap = self.aps.get(self.joined) if self.joined else None
        if ap is None:
            return Ok(("No AP",))
        return Ok((f'+CWJAP_CUR:"{ap.ssid}","{ap.bssid}",{ap.channel},{ap.rssi}',))

    @at("+CWQAP", EXEC)
    def _cwqap(self) -> Response:
        was = self.joined is not None
        self._lost_ssid = None
        self._emit(Ok().render())
        if was:
            self._disconnect_wifi()
        return Raw()

    def _disconnect_wifi(self) -> None:
        if self._data is not None:  # the link of a pending CIPSEND is going away
            self._data = None
            self._busy = None
            self._flush_held()
        self.joined = None
        self.got_ip = False
        self._urc(b"WIFI DISCONNECT\r\n")
        self._close_all_links()

    def _lose_wifi(self, rejoin: str | None) -> None:
        self._disconnect_wifi()
        self._lost_ssid = rejoin

    def _close_all_links(self) -> None:
        for lid in sorted(self.links):
            lk = self.links.pop(lid)
            self.provider.close(lk.handle)
            self._urc(f"{self._lp(lid)}CLOSED\r\n".encode())

    @at("+CWLAP", EXEC)
    def _cwlap_all(self) -> Response:
        return self._scan("", "", 0, 120)

    @at("+CWLAP", WRITE)
    def _cwlap(self, args: Args) -> Response:
        args.count(1, 6)
        ssid = args.str(0, default="")
        mac = args.str(1, default="").lower()
        ch = args.int(2, 1, 14, default=0)
        args.int(3, 0, 1, default=0)
        args.int(4, 0, 1500, default=0)
        tmax = args.int(5, 0, 1500, default=120) or 120
        return self._scan(ssid, mac, ch, tmax)

    def _scan(self, ssid: str, mac: str, ch: int, tmax: int) -> Response:
        if self.cwmode == 2:
            return Error()
        self._pending = {"cmd": "scan", "ssid": ssid, "mac": mac, "ch": ch}
        self._later(13 * tmax / 1000, "scan_done", ssid, mac, ch)
        return PENDING

    def _op_scan_done(self, ssid: str, mac: str, ch: int) -> None:
        lines = []
        for ap in self.aps.values():
            if (ssid and ap.ssid != ssid) or (mac and ap.bssid.lower() != mac) or (ch and ap.channel != ch):
                continue
            enc = ap.encryption
            cipher = 4 if enc else 0
            lines.append(f'+CWLAP:({enc},"{ap.ssid}",{ap.rssi},"{ap.bssid}",{ap.channel},-1,-1,'
                         f"{cipher},{cipher},7,0)")
        self._finish(Ok(tuple(lines)))

    @at("+CIFSR", EXEC)
    def _cifsr(self) -> Response:
        lines = []
        if self.cwmode in (2, 3):
            lines += ['+CIFSR:APIP,"192.168.4.1"', f'+CIFSR:APMAC,"{self._ap_mac()}"']
        if self.cwmode in (1, 3):
            lines += [f'+CIFSR:STAIP,"{self.station_ip[0]}"', f'+CIFSR:STAMAC,"{self.mac}"']
        return Ok(tuple(lines))

    def _ap_mac(self) -> str:
        parts = self.mac.split(":")
        return ":".join([f"{int(parts[0], 16) | 2:02x}", *parts[1:]])

    @at("+CIPSTA_CUR", READ)
    @at("+CIPSTA_DEF", READ)
    @at("+CIPSTA", READ)
    def _cipsta_q(self) -> Response:
        ip, gw, mask = self.station_ip
        return Ok((f'+CIPSTA_CUR:ip:"{ip}"', f'+CIPSTA_CUR:gateway:"{gw}"', f'+CIPSTA_CUR:netmask:"{mask}"'))

    @at("+CIPSTA_CUR", WRITE)
    @at("+CIPSTA_DEF", WRITE)
    @at("+CIPSTA", WRITE)
    def _cipsta(self, args: Args) -> Response:
        n = args.count(1, 3)
        if n == 2:
            raise ArgError("gateway without netmask")
        values = [args.str(i) for i in range(n)]
        if not all(is_ipv4(v) for v in values):
            raise ArgError("not an IPv4 address")
        gw = values[1] if n == 3 else ".".join(values[0].split(".")[:3] + ["1"])
        mask = values[2] if n == 3 else "255.255.255.0"
        self.static = [values[0], gw, mask]
        self.sta_dhcp = False
        return Ok()

    # ------------------------------------------------------------ TCP/IP
    @at("+CIPMUX", READ)
    def _cipmux_q(self) -> Response:
        return Ok((f"+CIPMUX:{self.cipmux}",))

    @at("+CIPMUX", WRITE)
    def _cipmux(self, args: Args) -> Response:
        args.count(1, 1)
        mux = args.int(0, 0, 1)
        if self.links and mux != self.cipmux:
            return Error(("link is builded",))
        self.cipmux = mux
        return Ok()

    @at("+CIPDINFO", WRITE)
    def _cipdinfo(self, args: Args) -> Response:
        args.count(1, 1)
        self.dinfo = args.int(0, 0, 1)
        return Ok()

    @at("+CIPDINFO", READ)
    def _cipdinfo_q(self) -> Response:
        return Ok((f"+CIPDINFO:{self.dinfo}",))

    @at("+CIPRECVMODE", WRITE)
    def _ciprecvmode(self, args: Args) -> Response:
        args.count(1, 1)
        self.recvmode = args.int(0, 0, 1)
        return Ok()

    @at("+CIPRECVMODE", READ)
    def _ciprecvmode_q(self) -> Response:
        return Ok((f"+CIPRECVMODE:{self.recvmode}",))

    @at("+CIPRECVLEN", READ)
    def _ciprecvlen_q(self) -> Response:
        return Ok(("+CIPRECVLEN:" + ",".join(str(len(self.links[i].rx)) if i in self.links else "0"
                                             for i in range(LINKS)),))

    @at("+CIPSTATUS", EXEC)
    def _cipstatus(self) -> Response:
        if not self.got_ip:
            return Ok(("STATUS:5",))
        lines = [f"STATUS:{3 if self.links else 2}"]
        for lid, lk in sorted(self.links.items()):
            lines.append(f'+CIPSTATUS:{lid},"{lk.proto}","{lk.remote[0]}",{lk.remote[1]},{lk.local_port},0')
        return Ok(tuple(lines))

    @at("+CIPSTART", WRITE)
    def _cipstart(self, args: Args) -> Response:
        off = 1 if self.cipmux else 0
        args.count(3 + off, 6 + off)
        lid = self._link_id(args)
        proto = args.str(off).upper()
        host = args.str(off + 1)
        port = args.int(off + 2, 1, 65535)
        keepalive, local_port, mode = 0, 0, 0
        if proto == TCP:
            args.count(3 + off, 4 + off)
            keepalive = args.int(off + 3, 0, 7200, default=0)
        elif proto == UDP:
            if len(args) == 4 + off:
                raise ArgError("UDP local port without mode")
            local_port = args.int(off + 3, 0, 65535, default=0)
            mode = args.int(off + 4, 0, 2, default=0)
        elif proto == "SSL":
            self.unimplemented("SSL links")
            return Error()
        else:
            raise ArgError(f"link type {proto!r}")
        if lid in self.links:
            return Error(("ALREADY CONNECTED",))
        if not self.got_ip:
            return Error(("no ip",))
        self._pending = {"cmd": "start", "link": lid}
        self.provider.resolve(host, lambda ip: self._start_resolved(lid, proto, ip, port, local_port,
                                                                     mode, keepalive))
        return PENDING

    def _start_resolved(self, lid: int, proto: str, ip: str | None, port: int, local_port: int,
                        mode: int, keepalive: int) -> None:
        if self._pending.get("cmd") != "start" or self._pending.get("link") != lid:
            return
        if ip is None:
            self._finish(Error(("DNS Fail",)))
            return
        handle = self.provider.open(proto, (ip, port), local_port, keepalive)
        lk = _Link(proto, (ip, port), handle, local_port, mode, keepalive)
        self.links[lid] = lk
        if proto == UDP:
            lk.connected = True
            self._finish(Ok((f"{self._lp(lid)}CONNECT",)))
            return
        self._pending["timeout"] = self._later(self.connect_timeout, "connect_timeout", lid)

    def _op_connect_timeout(self, lid: int) -> None:
        lk = self.links.pop(lid, None)
        if lk is not None:
            self.provider.close(lk.handle)
        self._finish(Error())
        self._emit(f"{self._lp(lid)}CLOSED\r\n".encode())

    @at("+CIPCLOSE", WRITE)
    def _cipclose(self, args: Args) -> Response:
        args.count(1, 1)
        lid = args.int(0, 0, LINKS)
        if lid == LINKS:
            lines = tuple(f"{self._lp(i)}CLOSED" for i in sorted(self.links))
            for i in sorted(self.links):
                self.provider.close(self.links.pop(i).handle)
            return Ok(lines)
        return self._close_link(lid)

    @at("+CIPCLOSE", EXEC)
    def _cipclose_single(self) -> Response:
        if self.cipmux:
            return Error()
        return self._close_link(0)

    def _close_link(self, lid: int) -> Response:
        lk = self.links.pop(lid, None)
        if lk is None:
            return Error(("UNLINK",))
        self.provider.close(lk.handle)
        return Ok((f"{self._lp(lid)}CLOSED",))

    @at("+CIPSEND", WRITE)
    def _cipsend(self, args: Args) -> Response:
        off = 1 if self.cipmux else 0
        n = args.count(1 + off, 3 + off)
        lid = self._link_id(args)
        length = args.int(off, 0, 1 << 30)
        remote = None
        if n == 3 + off:
            ip = args.str(off + 1)
            if not is_ipv4(ip):
                raise ArgError("remote IP")
            remote = (ip, args.int(off + 2, 1, 65535))
        elif n != 1 + off:
            raise ArgError("remote IP without port")
        lk = self.links.get(lid)
        if lk is None or not lk.connected:
            return Error(("link is not valid",))
        if not 0 < length <= MAX_SEND or (remote is not None and lk.proto != UDP):
            return Error()
        return _Prompt(link=lid, length=length, remote=remote)

    def _data_complete(self) -> None:
        prompt, data = self._data, bytes(self._data_buf)
        assert prompt is not None
        self._data = None
        self._data_buf = bytearray()
        self._emit(f"\r\nRecv {len(data)} bytes\r\n".encode())
        lk = self.links.get(prompt.link)
        ok = lk is not None and not lk.peer_closed
        if ok and self._send_failures:
            self._send_failures -= 1
            ok = False
        if ok:
            assert lk is not None
            target = prompt.remote or (lk.remote if lk.proto == UDP else None)
            ok = self.provider.send(lk.handle, data, target)
        self._later(self.send_time, "send_done", ok)

    def _op_send_done(self, ok: bool) -> None:
        self._busy = None
        self._emit(b"\r\nSEND OK\r\n" if ok else b"\r\nSEND FAIL\r\n")
        self._flush_held()

    @at("+CIPRECVDATA", WRITE)
    def _ciprecvdata(self, args: Args) -> Response:
        off = 1 if self.cipmux else 0
        args.count(1 + off, 1 + off)
        lid = self._link_id(args)
        want = args.int(off, 1, 1 << 30)
        lk = self.links.get(lid)
        if lk is None or lk.proto != TCP or not self.recvmode:
            return Error()
        if not lk.rx:
            return Ok()
        chunk = bytes(lk.rx[:min(want, MAX_SEND)])
        del lk.rx[:len(chunk)]
        self._emit(f"+CIPRECVDATA,{len(chunk)}:".encode() + chunk + b"\r\nOK\r\n")
        if lk.paused and len(lk.rx) < self.window:
            lk.paused = False
            self.provider.pause(lk.handle, False)
        if lk.peer_closed and not lk.rx:
            del self.links[lid]
            self._urc(f"{self._lp(lid)}CLOSED\r\n".encode())
        return Raw()

    @at("+CIPDOMAIN", WRITE)
    def _cipdomain(self, args: Args) -> Response:
        args.count(1, 1)
        name = args.str(0)
        if not self.got_ip:
            return Error(("DNS Fail",))
        self._pending = {"cmd": "domain"}
        self.provider.resolve(name, self._domain_resolved)
        return PENDING

    def _domain_resolved(self, ip: str | None) -> None:
        if self._pending.get("cmd") == "domain":
            self._finish(Ok((f"+CIPDOMAIN:{ip}",)) if ip else Error(("DNS Fail",)))

    @at("+CIPSNTPCFG", WRITE)
    def _cipsntpcfg(self, args: Args) -> Response:
        n = args.count(1, 5)
        en = args.int(0, 0, 1)
        tz = args.int(1, -11, 13, default=self.sntp[1])
        servers = [args.str(i, default=self.sntp[i]) for i in range(2, 5)] if n > 2 else self.sntp[2:]
        self.sntp = [en, tz, *servers]
        return Ok()

    @at("+CIPSNTPCFG", READ)
    def _cipsntpcfg_q(self) -> Response:
        en, tz, *servers = self.sntp
        return Ok((f"+CIPSNTPCFG:{en},{tz}," + ",".join(f'"{s}"' for s in servers),))

    @at("+CIPSNTPTIME", READ)
    def _cipsntptime_q(self) -> Response:
        t = 0
        if self.sntp[0] and self.got_ip:
            t = self.epoch + int(self.clock.seconds()) + 3600 * self.sntp[1]
        return Ok(("+CIPSNTPTIME:" + time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(t)),))

    # ------------------------------------------------ provider reports (SocketListener)
    def socket_connected(self, handle: int) -> None:
        lid = self._handle_link(handle)
        if lid is None:
            return
        self.links[lid].connected = True
        if self._pending.get("cmd") == "start" and self._pending.get("link") == lid:
            self._cancel_op(self._pending.get("timeout"))
            self._finish(Ok((f"{self._lp(lid)}CONNECT",)))

    def socket_error(self, handle: int, reason: str) -> None:
        lid = self._handle_link(handle)
        if lid is None:
            return
        lk = self.links.pop(lid)
        self.provider.close(handle)
        if self._pending.get("cmd") == "start" and self._pending.get("link") == lid:
            self._cancel_op(self._pending.get("timeout"))
            self._finish(Error())
            self._emit(f"{self._lp(lid)}CLOSED\r\n".encode())
        elif lk.connected:
            self._urc(f"{self._lp(lid)}CLOSED\r\n".encode())

    def socket_closed(self, handle: int) -> None:
        lid = self._handle_link(handle)
        if lid is None:
            return
        lk = self.links[lid]
        if not lk.connected:
            self.socket_error(handle, "closed while connecting")
            return
        if lk.rx:
            lk.peer_closed = True  # CLOSED once the buffer is read
            return
        del self.links[lid]
        self._urc(f"{self._lp(lid)}CLOSED\r\n".encode())

    def socket_data(self, handle: int, data: bytes, remote: Remote) -> None:
        lid = self._handle_link(handle)
        if lid is None or not data:
            return
        lk = self.links[lid]
        if lk.proto == UDP and (lk.mode == 2 or lk.mode == 1):
            lk.remote = remote
            if lk.mode == 1:
                lk.mode = 0
        if lk.proto == TCP and self.recvmode:
            lk.rx += data
            self._urc(f"+IPD,{self._lp(lid)}{len(data)}\r\n".encode())
            if len(lk.rx) >= self.window and not lk.paused:
                lk.paused = True
                self.provider.pause(handle, True)
            return
        info = f",{remote[0]},{remote[1]}" if self.dinfo else ""
        self._urc(f"\r\n+IPD,{self._lp(lid)}{len(data)}{info}:".encode() + bytes(data))

    # -------------------------------------------------------------- snapshots
    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state.update(
            ready=self._ready, baud=self.baud, uart_cur=list(self.uart_cur), uart_def=list(self.uart_def),
            echo=self.echo, cwmode=self.cwmode, country=list(self.country), sta_dhcp=self.sta_dhcp,
            static=list(self.static), joined=self.joined, got_ip=self.got_ip, lost_ssid=self._lost_ssid,
            cipmux=self.cipmux, dinfo=self.dinfo, recvmode=self.recvmode, sntp=list(self.sntp),
            aps=[ap.as_dict() for ap in self.aps.values()],
            links={lid: {"proto": lk.proto, "remote": list(lk.remote), "handle": lk.handle,
                         "local_port": lk.local_port, "mode": lk.mode, "keepalive": lk.keepalive,
                         "connected": lk.connected, "rx": bytes(lk.rx), "peer_closed": lk.peer_closed,
                         "paused": lk.paused} for lid, lk in self.links.items()},
            line=bytes(self._line), overflow=self._overflow, last_cr=self._last_cr, busy=self._busy,
            held=list(self._held),
            data=None if self._data is None else [self._data.link, self._data.length,
                                                  list(self._data.remote) if self._data.remote else None],
            data_buf=bytes(self._data_buf),
            pending={k: v for k, v in self._pending.items()},
            ops=[[seq, when, op, list(args)] for seq, (when, op, args) in sorted(self._ops.items())],
            tx=self.tx.get_state(), rx=self.rx.get_state(),
            send_failures=self._send_failures, join_failures=list(self._join_failures))
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self._cancel_ops()
        self._ready = state["ready"]
        self.baud = state["baud"]
        self.uart_cur, self.uart_def = list(state["uart_cur"]), list(state["uart_def"])
        self.echo, self.cwmode, self.country = state["echo"], state["cwmode"], list(state["country"])
        self.sta_dhcp, self.static = state["sta_dhcp"], list(state["static"])
        self.joined, self.got_ip, self._lost_ssid = state["joined"], state["got_ip"], state["lost_ssid"]
        self.cipmux, self.dinfo, self.recvmode = state["cipmux"], state["dinfo"], state["recvmode"]
        self.sntp = list(state["sntp"])
        self.aps = {}
        for ap in state["aps"]:
            self.aps[ap["ssid"]] = AccessPoint(**ap)
        self.links = {}
        for lid, d in state["links"].items():
            self.links[int(lid)] = _Link(d["proto"], (d["remote"][0], d["remote"][1]), d["handle"],
                                         d["local_port"], d["mode"], d["keepalive"], d["connected"],
                                         bytearray(d["rx"]), d["peer_closed"], d["paused"])
        self._line = bytearray(state["line"])
        self._overflow, self._last_cr = state["overflow"], state["last_cr"]
        self._busy, self._held = state["busy"], [bytes(h) for h in state["held"]]
        data = state["data"]
        self._data = None if data is None else _Prompt(link=data[0], length=data[1],
                                                       remote=tuple(data[2]) if data[2] else None)
        self._data_buf = bytearray(state["data_buf"])
        self._pending = dict(state["pending"])
        for seq, when, op, args in state["ops"]:
            self._ops[seq] = (when, op, tuple(args))
            self._op_timers[seq] = self.clock.call_at(when, lambda s=seq: self._fire_op(s),
                                                      f"{self.name}.{op}")
        self._op_seq = count(max(self._ops, default=-1) + 1)
        self.tx.set_state(state["tx"])
        self.rx.set_state(state["rx"])
        self._send_failures = state["send_failures"]
        self._join_failures = list(state["join_failures"])


def _collect(cls: type) -> dict[tuple[str, str], Callable[..., Response]]:
    table: dict[tuple[str, str], Callable[..., Response]] = {}
    for klass in reversed(cls.__mro__):
        for attr in vars(klass).values():
            for key in getattr(attr, "_at", ()):
                table[key] = attr
    return table


Esp8266.COMMANDS = _collect(Esp8266)
