"""The tests' host peers: ``vboard.peers`` on 127.0.0.1's well-known ports, with the tests' port policy.

The servers themselves (echo/discard/daytime/chargen, HTTP, DNS) and the
bulk echo client live in ``vboard/peers.py``, shared with the Robot suites
(``vboard/robot_hosts.py``). Fixed ports (7/9/13/19, 80) may
still be held for a while by another run on this host, so these wait up to
``PORT_WAIT`` for them; a port still taken then fails the test with
``PortTaken``. Use them as context managers: leaving the block stops the
peer and fails if its threads did not stop.
"""

from __future__ import annotations

from vboard.peers import HttpServer, InetServices

PORT_WAIT = 90.0  # s: other suites on this host may hold 127.0.0.1:7/9/13/19/80 for a while


def inet_services() -> InetServices:
    """RFC 862/863/864/867 on 127.0.0.1:7/9/19/13 (the board's 10.0.2.2), as Mbed's test server."""
    return InetServices(bind_wait=PORT_WAIT)


def http_server(response: bytes, port: int = 80) -> HttpServer:
    """Answers every request on 127.0.0.1:``port`` with ``response`` (``vboard.peers.http_response``)."""
    return HttpServer(port, response, bind_wait=PORT_WAIT)
