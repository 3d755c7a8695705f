"""Host-side peers for Robot suites: ``Library    vboard.robot_hosts`` (``vboard test`` imports it).

Robot keywords over ``vboard.peers`` (the servers and clients themselves,
which pytest suites use too): this layer parses Robot's arguments (``30s``,
strings), keeps what the suite started, and turns a peer's problem into a
failed keyword.

Servers (each in daemon threads, on 127.0.0.1 only, which the board reaches as
10.0.2.2 through the ``user`` backend, libslirp):

- ``Start Http Server``: answers every request with one fixed response and
  records the requests (the seed's http://arm.com and api.ipify.org);
- ``Start Inet Services``: RFC 862 echo (TCP+UDP), 863 discard (TCP+UDP),
  867 daytime and 864 chargen, as Mbed's test server runs them.

Clients, for boards that serve (through ``Start Board``'s ``forwards``):

- ``Echo Bytes Over Tcp`` sends N bytes of a seeded pattern and compares the
  SHA-256 of what comes back; ``Start Echo Transfer`` / ``Wait For Echo
  Bytes`` / ``Wait For Echo Transfer`` do the same in the background, so a
  test can take the link down or add loss in the middle;
- ``Tcp Exchange``, ``Read From Tcp``, ``Send To Tcp``, ``Udp Exchange``,
  ``Http Get``, ``Chargen Output Should Be Valid``.

Every blocking call has a wall-clock timeout; everything started is stopped
at the end of the suite (``Stop Host Servers``, also run by the library's
listener), so suites can run in parallel under pabot (only fixed ports, 80
and 7/9/13/19, collide: a single suite owns them on 127.0.0.1; another suite
serves them on another loopback address, ``address=127.0.0.2``, which a
Wi-Fi board reaches as 10.0.2.2 with ``host_loopback``).
"""

from __future__ import annotations

from typing import Any

from vboard import peers
from vboard.peers import HOST

BIND_RETRY_S = 30.0  # s: a fixed port another suite (or run) still holds is waited for this long


def _seconds(value: Any) -> float:
    """``30``, ``30s``, ``1.5 s``, ``500ms``, ``2 min`` -> seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip().lower().replace(" ", "")
    for suffix, scale in (("ms", 1e-3), ("min", 60.0), ("s", 1.0)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * scale
    return float(text)


def _start(factory: Any, *args: Any, address: str) -> Any:
    """A server of vboard.peers on ``address``; a bad address or a port still taken fails the keyword."""
    try:
        return factory(*args, address=address, bind_wait=BIND_RETRY_S)
    except (ValueError, peers.PortTaken) as e:
        raise AssertionError(str(e)) from None


class _Listener:
    ROBOT_LISTENER_API_VERSION = 3

    def __init__(self, lib: robot_hosts) -> None:
        self.lib = lib

    def end_suite(self, data: Any, result: Any) -> None:
        self.lib.stop_host_servers()


class robot_hosts:  # noqa: N801 - the library is imported as ``vboard.robot_hosts``
    """Host-side servers and clients on loopback for the vboard network suites (over vboard.peers)."""

    ROBOT_LIBRARY_SCOPE = "SUITE"

    def __init__(self) -> None:
        self.http: peers.HttpServer | None = None
        self.inet: peers.InetServices | None = None
        self.transfer: peers.EchoTransfer | None = None
        self.ROBOT_LIBRARY_LISTENER = _Listener(self)

    # ---------------------------------------------------------------- lifetime
    def stop_host_servers(self) -> None:
        """Stop every server and transfer this suite started (also done at the end of the suite)."""
        self.stop_http_server()
        self.stop_inet_services()
        if self.transfer is not None:
            self.transfer.close()
            self.transfer = None

    def get_free_port(self) -> int:
        """A TCP port free on 127.0.0.1 now (for ``forwards``: ``tcp:${port}:7``)."""
        return peers.free_port()

    # -------------------------------------------------------------------- HTTP
    def start_http_server(self, port: int = 80, body: str = "hello from the host\n",
                          content_type: str = "text/plain", status: str = "200 OK",
                          address: str = HOST) -> int:
        """Answer every request on ``address``:``port`` with ``body`` (HTTP/1.1, Connection: close);
        returns the port. ``address``: a loopback address (default 127.0.0.1)."""
        self.stop_http_server()
        response = peers.http_response(body.encode(), content_type, status)
        self.http = _start(peers.HttpServer, int(port), response, address=address)
        return self.http.port

    def stop_http_server(self) -> None:
        if self.http is not None:
            self.http.stop()
            self.http = None

    def get_http_requests(self) -> list[dict[str, Any]]:
        """The requests served so far: dicts of ``raw``, ``request_line``, ``headers`` (lower-case names)."""
        if self.http is None:
            raise AssertionError("no HTTP server: use Start Http Server first")
        with self.http.lock:
            return [{"raw": r.raw.decode(errors="replace"), "request_line": r.request_line,
                     "headers": dict(r.headers)} for r in self.http.requests]

    def http_server_should_have_no_errors(self) -> None:
        if self.http is not None and self.http.errors:
            raise AssertionError(f"HTTP server errors: {self.http.errors}")

    # --------------------------------------------------------------- inet services
    def start_inet_services(self, echo: int = 7, discard: int = 9, daytime: int = 13,
                            chargen: int = 19, address: str = HOST) -> dict[str, int]:
        """Echo (TCP+UDP), discard (TCP+UDP), daytime and chargen on ``address`` (a loopback
        address, default 127.0.0.1); returns the ports."""
        self.stop_inet_services()
        self.inet = _start(peers.InetServices, int(echo), int(discard), int(daytime), int(chargen),
                           address=address)
        return dict(self.inet.ports)

    def stop_inet_services(self) -> None:
        if self.inet is not None:
            self.inet.stop()
            self.inet = None

    def get_inet_counts(self) -> dict[str, int]:
        """Bytes echoed (``echo_tcp``, ``echo_udp``), discarded, chargen bytes sent, daytime answers."""
        if self.inet is None:
            raise AssertionError("no services: use Start Inet Services first")
        with self.inet.lock:
            return dict(self.inet.counts)

    def inet_services_should_have_no_errors(self) -> None:
        if self.inet is not None and self.inet.errors:
            raise AssertionError(f"host service errors: {self.inet.errors}")

    # ---------------------------------------------------------------- TCP echo
    def echo_bytes_over_tcp(self, port: int, size: int, seed: int = 1, timeout: str = "60s",
                            stall: str = "30s") -> str:
        """Send ``size`` bytes of a seeded pattern to 127.0.0.1:``port`` and compare the echo's SHA-256.

        ``stall``: the longest wait without a byte moving that is not a failure (on a lossy link,
        allow for TCP's exponential backoff). Returns a one-line summary (bytes and wall time)."""
        self.start_echo_transfer(port, size, seed, stall)
        return self.wait_for_echo_transfer(timeout)

    def start_echo_transfer(self, port: int, size: int, seed: int = 1, stall: str = "30s") -> None:
        """Start sending ``size`` bytes to 127.0.0.1:``port`` in the background, reading the echo back.

        ``stall``: how long the connection may make no progress at all before it fails."""
        if self.transfer is not None:
            self.transfer.close()
        data = peers.pattern(int(size), int(seed))
        self.transfer = peers.EchoTransfer(int(port), data, stall=_seconds(stall))

    def get_echo_received_bytes(self) -> int:
        return self._transfer().received

    def wait_for_echo_bytes(self, count: int, timeout: str = "60s") -> int:
        """Wait until ``count`` bytes of the echo came back; returns how many did."""
        return self._transfer().wait_for_bytes(int(count), _seconds(timeout))

    def wait_for_echo_transfer(self, timeout: str = "120s") -> str:
        """Wait for the whole echo; fail unless every byte came back and the SHA-256 matches."""
        t = self._transfer()
        finished = t.done.wait(_seconds(timeout))
        t.close()
        self.transfer = None
        if not finished:
            raise AssertionError(f"{t.received} of {len(t.data)} bytes echoed within {timeout}")
        return t.verify()

    def _transfer(self) -> peers.EchoTransfer:
        if self.transfer is None:
            raise AssertionError("no echo transfer: use Start Echo Transfer first")
        return self.transfer

    # ------------------------------------------------------------ small clients
    def tcp_exchange(self, port: int, data: str, timeout: str = "10s") -> str:
        """Connect to 127.0.0.1:``port``, send ``data``, read until as many bytes came back; returns them."""
        return peers.tcp_exchange(int(port), data.encode(), _seconds(timeout)).decode(errors="replace")

    def read_from_tcp(self, port: int, size: int = 0, timeout: str = "10s", send_first: str = "") -> str:
        """Connect, send ``send_first`` if given, and read ``size`` bytes (0: until the server closes);
        returns them."""
        got = peers.read_from_tcp(int(port), int(size), _seconds(timeout), send_first.encode())
        return got.decode("latin-1")

    def send_to_tcp(self, port: int, size: int, seed: int = 1, timeout: str = "30s") -> None:
        """Connect, send ``size`` bytes, close cleanly; fail if the server resets or never reads them."""
        peers.send_to_tcp(int(port), peers.pattern(int(size), int(seed)), _seconds(timeout))

    def udp_exchange(self, port: int, data: str, timeout: str = "5s", attempts: int = 3) -> str:
        """Send ``data`` in a datagram to 127.0.0.1:``port``; the reply (a few tries: UDP)."""
        reply = peers.udp_exchange(int(port), data.encode(), _seconds(timeout), int(attempts))
        return reply.decode(errors="replace")

    def chargen_output_should_be_valid(self, text: str, lines: int = 10) -> None:
        """``text`` starts with ``lines`` RFC 864 lines (72 characters, each one character further on)."""
        peers.check_chargen(text.encode("latin-1", errors="replace"), int(lines))

    def http_get(self, url: str, timeout: str = "10s") -> dict[str, Any]:
        """GET ``url`` (HTTP/1.0, plain socket: what a browser needs from the board); returns
        ``status`` (int), ``reason``, ``headers`` (lower-case names), ``body``, and ``json``
        when it parses."""
        return peers.http_get(url, _seconds(timeout))
