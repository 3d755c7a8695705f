"""``HostSocketProvider``: the Wi-Fi module's links as real host sockets (socket offload).

All socket calls run on one selector thread; the emulation thread only
queues requests (``open``/``send``/``close``/``pause``) and wakes it. Every
report (connected, data, closed, error, a resolved name) is handed back with
``post`` (``machine.post``), so the model sees it on the emulation thread.

Addressing follows QEMU user networking / passt, as the Ethernet path:
``10.0.2.2`` (the gateway) is the host itself (``127.0.0.1``). Names resolve
from the DNS records first (``bridge.net.dns.DnsRecords`` or a dict), then
through the host resolver in a worker thread; a UDP DNS query to port 53 for
a name in the records is answered here, without the network.
"""

from __future__ import annotations

import errno
import itertools
import queue
import selectors
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bridge.net.dns import QCLASS_IN, QTYPE_A, build_answer, parse_query
from emulator.net.sockets import TCP, UDP, Remote, SocketProvider, is_ipv4, lookup_records

__all__ = ["HostSocketProvider"]

HOST_ALIASES = {"10.0.2.2": "127.0.0.1"}
RECV_SIZE = 4096


@dataclass
class _Sock:
    handle: int
    proto: str
    sock: socket.socket
    remote: Remote          # as the board sees it
    connecting: bool = False
    paused: bool = False
    outbuf: bytearray = field(default_factory=bytearray)


class HostSocketProvider(SocketProvider):
    def __init__(self, post: Callable[[Callable[[], None]], None], dns_records: Any = None,
                 aliases: dict[str, str] | None = None) -> None:
        super().__init__(dns_records)
        self.post = post
        self.aliases = dict(HOST_ALIASES if aliases is None else aliases)
        self._reverse = {v: k for k, v in self.aliases.items()}
        self._ids = itertools.count(1)
        self._requests: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._socks: dict[int, _Sock] = {}
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._running = True
        self._thread = threading.Thread(target=self._loop, name="vboard-wifi-sockets", daemon=True)
        self._thread.start()

    # ------------------------------------------------------ emulation thread
    def open(self, proto: str, remote: Remote, local_port: int = 0, keepalive: int = 0) -> int:
        handle = next(self._ids)
        self._request(lambda: self._open(handle, proto, remote, local_port, keepalive))
        return handle

    def send(self, handle: int, data: bytes, remote: Remote | None = None) -> bool:
        data = bytes(data)
        self._request(lambda: self._send(handle, data, remote))
        return True

    def close(self, handle: int) -> None:
        self._request(lambda: self._drop(handle))

    def close_all(self) -> None:
        self._request(lambda: [self._drop(h) for h in list(self._socks)])

    def pause(self, handle: int, paused: bool) -> None:
        self._request(lambda: self._pause(handle, paused))

    def skip_handles(self, last: int) -> None:
        """New handles come after ``last`` (links restored from a snapshot keep theirs)."""
        self._ids = itertools.count(max(next(self._ids), last + 1))

    def resolve(self, name: str, done: Callable[[str | None], None]) -> None:
        if is_ipv4(name):
            done(name)
            return
        found = lookup_records(self.records, name)
        if found is not None or not name:
            done(found)
            return

        def work() -> None:
            try:
                infos = socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)
                ip: str | None = str(infos[0][4][0]) if infos else None
            except (OSError, UnicodeError):
                ip = None
            self.post(lambda: done(ip))

        threading.Thread(target=work, name="vboard-wifi-resolve", daemon=True).start()

    def shutdown(self) -> None:
        self._running = False
        self._wake()
        self._thread.join(timeout=2)
        for s in list(self._socks.values()):
            s.sock.close()
        self._socks.clear()
        self._sel.close()
        self._wake_r.close()
        self._wake_w.close()

    # ----------------------------------------------------------- plumbing
    def _request(self, action: Callable[[], None]) -> None:
        self._requests.put(action)
        self._wake()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass

    def _report(self, what: str, *args: Any) -> None:
        listener = self.listener
        if listener is not None:
            self.post(lambda: getattr(listener, what)(*args))

    def _host(self, remote: Remote) -> Remote:
        return (self.aliases.get(remote[0], remote[0]), remote[1])

    def _board(self, remote: Remote) -> Remote:
        return (self._reverse.get(remote[0], remote[0]), remote[1])

    # ------------------------------------------------------- selector thread
    def _loop(self) -> None:
        while self._running:
            while True:
                try:
                    action = self._requests.get_nowait()
                except queue.Empty:
                    break
                action()
            for key, mask in self._sel.select(timeout=1.0):
                if key.data is None:
                    try:
                        self._wake_r.recv(4096)
                    except OSError:
                        pass
                    continue
                s: _Sock = key.data
                if s.handle not in self._socks:
                    continue
                if mask & selectors.EVENT_WRITE:
                    self._writable(s)
                if mask & selectors.EVENT_READ and s.handle in self._socks:
                    self._readable(s)

    def _interest(self, s: _Sock) -> None:
        mask = 0
        if not s.paused and not s.connecting:
            mask |= selectors.EVENT_READ
        if s.connecting or s.outbuf:
            mask |= selectors.EVENT_WRITE
        try:
            if mask:
                try:
                    self._sel.modify(s.sock, mask, s)
                except KeyError:
                    self._sel.register(s.sock, mask, s)
            else:
                self._sel.unregister(s.sock)
        except (KeyError, ValueError, OSError):
            pass

    def _open(self, handle: int, proto: str, remote: Remote, local_port: int, keepalive: int) -> None:
        try:
            if proto == TCP:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setblocking(False)
                if keepalive:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                    if hasattr(socket, "TCP_KEEPIDLE"):
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, keepalive)
                s = _Sock(handle, proto, sock, remote, connecting=True)
                self._socks[handle] = s
                err = sock.connect_ex(self._host(remote))
                if err not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
                    raise OSError(err, errno.errorcode.get(err, str(err)))
            else:
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sock.setblocking(False)
                sock.bind(("0.0.0.0", local_port))
                s = _Sock(handle, UDP, sock, remote)
                self._socks[handle] = s
            self._interest(s)
        except OSError as e:
            self._drop(handle)
            self._report("socket_error", handle, str(e))

    def _writable(self, s: _Sock) -> None:
        if s.connecting:
            err = s.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self._drop(s.handle)
                self._report("socket_error", s.handle, errno.errorcode.get(err, str(err)))
                return
            s.connecting = False
            self._report("socket_connected", s.handle)
        if s.outbuf:
            try:
                n = s.sock.send(s.outbuf)
                del s.outbuf[:n]
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                self._lost(s)
                return
        self._interest(s)

    def _readable(self, s: _Sock) -> None:
        try:
            if s.proto == TCP:
                data = s.sock.recv(RECV_SIZE)
                if not data:
                    self._lost(s)
                    return
                self._report("socket_data", s.handle, data, s.remote)
            else:
                data, addr = s.sock.recvfrom(65535)
                self._report("socket_data", s.handle, data, self._board((addr[0], addr[1])))
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            if s.proto == TCP:
                self._lost(s)

    def _lost(self, s: _Sock) -> None:
        self._drop(s.handle)
        self._report("socket_closed", s.handle)

    def _send(self, handle: int, data: bytes, remote: Remote | None) -> None:
        s = self._socks.get(handle)
        if s is None:
            return
        if s.proto == UDP:
            target = remote or s.remote
            if target[1] == 53 and self._answer_dns(s, data, target):
                return
            try:
                s.sock.sendto(data, self._host(target))
            except OSError:
                pass  # a datagram lost, as on a network
            return
        s.outbuf += data
        self._interest(s)

    def _answer_dns(self, s: _Sock, data: bytes, target: Remote) -> bool:
        q = parse_query(data)
        if q is None or q.qclass != QCLASS_IN or q.qtype != QTYPE_A or self.records is None:
            return False
        ip = lookup_records(self.records, q.name)
        if ip is None:
            return False
        answer = build_answer(q, [socket.inet_aton(ip)], QTYPE_A, 60)
        self._report("socket_data", s.handle, answer, target)
        return True

    def _pause(self, handle: int, paused: bool) -> None:
        s = self._socks.get(handle)
        if s is not None:
            s.paused = paused
            self._interest(s)

    def _drop(self, handle: int) -> None:
        s = self._socks.pop(handle, None)
        if s is None:
            return
        try:
            self._sel.unregister(s.sock)
        except (KeyError, ValueError, OSError):
            pass
        s.sock.close()
