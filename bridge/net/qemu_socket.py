"""``socket:URL``: frames over QEMU's ``-netdev stream`` / ``-netdev dgram`` framing.

To join a QEMU VM (or another vboard) as one more port of the virtual switch.
``stream`` is a 4-byte big-endian length then the frame, over a UNIX or TCP
stream socket; ``dgram`` is one frame per UDP datagram.

URL syntax (``--net socket:URL``; ``parse_socket_url`` also takes the URL
without the ``socket:`` prefix):

=====================================  =================================================
``stream:unix:PATH``                   connect to a UNIX socket (QEMU listens:
                                       ``-netdev stream,id=n0,server=on,addr.type=unix,addr.path=PATH``)
``stream:tcp:HOST:PORT``               connect over TCP (QEMU: ``server=on,addr.type=inet,
                                       addr.host=HOST,addr.port=PORT``, or old ``-netdev socket,listen=``)
``stream-server:unix:PATH``            listen on PATH; QEMU connects with ``server=off``
``stream-server:tcp:HOST:PORT``        listen on HOST:PORT (use 127.0.0.1 unless you mean it);
                                       QEMU: ``server=off``, or old ``-netdev socket,connect=HOST:PORT``
``dgram:LPORT:RHOST:RPORT``            UDP: receive on LPORT, send to RHOST:RPORT; the local
``dgram:LHOST:LPORT:RHOST:RPORT``      address is 127.0.0.1 when RHOST is loopback, else 0.0.0.0
                                       unless LHOST is given. Only datagrams from RHOST:RPORT are
                                       taken. QEMU: ``-netdev dgram,id=n0,local.type=inet,
                                       local.host=RHOST,local.port=RPORT,remote.type=inet,
                                       remote.host=LHOST,remote.port=LPORT``
=====================================  =================================================

IPv6 hosts go in brackets (``stream:tcp:[::1]:5555``). ``SocketUrl.qemu_netdev()``
prints the QEMU option for the other end. A stream server takes one peer at a
time and accepts the next one when it leaves (frames meanwhile are dropped,
``dropped["not connected"]``); a stream client whose peer closes reports it
through ``on_error`` and the board runs on.

On a machine with ``host_polls`` every mode runs on the emulation thread
(``bridge/net/polled.py``): the socket is non-blocking, read at each slice
boundary and written at once; a stream server's listening socket is watched
while it has no peer and accepted from there. Without ``host_polls`` (a
test's stand-in) a reader and a writer thread do the same.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import select
import socket
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass

from bridge.net.backend import BackendError, HostInputLike, MachineLike
from bridge.net.framing import read_stream_frame, stream_frame
from bridge.net.polled import PolledBackend
from emulator.net.network import LinkModel, Switch

CONNECT_TIMEOUT_S = 5.0
DGRAM_MAX = 65536

USAGE = ("expected stream:unix:PATH, stream:tcp:HOST:PORT, stream-server:unix:PATH, "
         "stream-server:tcp:HOST:PORT, dgram:LPORT:RHOST:RPORT or dgram:LHOST:LPORT:RHOST:RPORT")


@dataclass(frozen=True)
class SocketUrl:
    mode: str                 # "stream", "stream-server" or "dgram"
    family: str               # "unix" or "tcp" (stream), "udp" (dgram)
    path: str = ""            # unix
    host: str = ""            # tcp: where to connect / listen
    port: int = 0
    local_host: str = ""      # dgram
    local_port: int = 0
    remote_host: str = ""
    remote_port: int = 0

    def __str__(self) -> str:
        if self.mode == "dgram":
            return (f"dgram:{_fmt_host(self.local_host)}:{self.local_port}:"
                    f"{_fmt_host(self.remote_host)}:{self.remote_port}")
        if self.family == "unix":
            return f"{self.mode}:unix:{self.path}"
        return f"{self.mode}:tcp:{_fmt_host(self.host)}:{self.port}"

    def qemu_netdev(self, netdev_id: str = "n0") -> str:
        """QEMU's ``-netdev`` value for the other end of this URL (QEMU >= 7.2)."""
        if self.mode == "dgram":
            return (f"dgram,id={netdev_id},local.type=inet,local.host={self.remote_host},"
                    f"local.port={self.remote_port},remote.type=inet,remote.host={self.local_host},"
                    f"remote.port={self.local_port}")
        server = "off" if self.mode == "stream-server" else "on"
        if self.family == "unix":
            return f"stream,id={netdev_id},server={server},addr.type=unix,addr.path={self.path}"
        return (f"stream,id={netdev_id},server={server},addr.type=inet,addr.host={self.host},"
                f"addr.port={self.port}")


def _fmt_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _split_hostports(text: str) -> list[str]:
    """Split on ':' but keep bracketed IPv6 addresses whole (brackets removed)."""
    parts: list[str] = []
    i = 0
    while i <= len(text):
        if text.startswith("[", i):
            end = text.find("]", i)
            if end < 0:
                raise ValueError("unclosed '[' in an address")
            parts.append(text[i + 1:end])
            i = end + 1
            if i < len(text) and text[i] != ":":
                raise ValueError("expected ':' after ']'")
            i += 1
            continue
        end = text.find(":", i)
        if end < 0:
            parts.append(text[i:])
            break
        parts.append(text[i:end])
        i = end + 1
    return parts


def _port(text: str, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{what} '{text}' is not a number") from None
    if not 0 < value < 65536:
        raise ValueError(f"{what} {value} is not in 1..65535")
    return value


def _host(text: str, what: str) -> str:
    if not text:
        raise ValueError(f"{what} is empty")
    return text


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_socket_url(url: str) -> SocketUrl:
    """Parse ``[socket:]URL`` (syntax in this module's docstring); ``ValueError`` says what is wrong."""
    text = url[len("socket:"):] if url.startswith("socket:") else url
    mode, sep, rest = text.partition(":")
    try:
        if not sep:
            raise ValueError("no ':' after the mode")
        if mode in ("stream", "stream-server"):
            family, sep, addr = rest.partition(":")
            if family == "unix":
                if not addr:
                    raise ValueError("empty UNIX socket path")
                return SocketUrl(mode, "unix", path=addr)
            if family == "tcp":
                parts = _split_hostports(addr)
                if len(parts) != 2:
                    raise ValueError("expected tcp:HOST:PORT")
                return SocketUrl(mode, "tcp", host=_host(parts[0], "host"), port=_port(parts[1], "port"))
            raise ValueError(f"unknown address family '{family}' (unix or tcp)")
        if mode == "dgram":
            parts = _split_hostports(rest)
            if len(parts) == 3:
                lport, rhost, rport = parts
                lhost = ""
            elif len(parts) == 4:
                lhost, lport, rhost, rport = parts
                lhost = _host(lhost, "local host")
            else:
                raise ValueError("expected dgram:LPORT:RHOST:RPORT or dgram:LHOST:LPORT:RHOST:RPORT")
            rhost = _host(rhost, "remote host")
            if not lhost:
                lhost = "127.0.0.1" if _is_loopback(rhost) else "0.0.0.0"
            return SocketUrl("dgram", "udp", local_host=lhost, local_port=_port(lport, "local port"),
                             remote_host=rhost, remote_port=_port(rport, "remote port"))
        raise ValueError(f"unknown mode '{mode}'")
    except ValueError as e:
        raise ValueError(f"socket URL '{url}': {e}; {USAGE}") from None


def _resolve(host: str, port: int, socktype: int) -> tuple[int, tuple[object, ...]]:
    try:
        infos = socket.getaddrinfo(host, port, 0, socktype)
    except socket.gaierror as e:
        raise BackendError(f"socket: cannot resolve '{host}': {e.strerror}") from None
    family, _, _, _, addr = infos[0]
    return family, addr


class SocketBackend(PolledBackend):
    """A switch port carried over QEMU's stream or dgram framing."""

    kind = "socket"

    def __init__(self, machine: MachineLike, switch: Switch, host_input: HostInputLike | None = None,
                 url: str | SocketUrl = "", *, port_name: str = "host",
                 on_error: Callable[[str], None] | None = None, link: LinkModel | None = None,
                 connect_timeout: float = CONNECT_TIMEOUT_S) -> None:
        try:
            self.url = url if isinstance(url, SocketUrl) else parse_socket_url(url)
        except ValueError as e:
            raise BackendError(str(e)) from None
        self.connect_timeout = connect_timeout
        self.peers = 0                      # stream-server: peers accepted so far
        self.foreign_datagrams = 0          # dgram: datagrams from elsewhere, dropped
        self._sock: socket.socket | None = None        # stream client / dgram
        self._listener: socket.socket | None = None    # stream server
        self._client: socket.socket | None = None      # stream server's current peer
        self._client_lock = threading.Lock()
        self._remote: tuple[object, ...] | None = None
        self._remote_ok: set[tuple[str, int]] = set()
        self._stop_r, self._stop_w = -1, -1
        self._unlink_path = ""
        self.address: tuple[object, ...] | str | None = None   # what we bound (servers, dgram)
        super().__init__(machine, switch, host_input, port_name=port_name, on_error=on_error, link=link)

    def describe(self) -> str:
        return f"socket {self.url}"

    # ------------------------------------------------------------------ open
    def _open(self) -> None:
        u = self.url
        self._stop_r, self._stop_w = os.pipe()
        try:
            if u.mode == "stream":
                self._sock = self._connect()
            elif u.mode == "stream-server":
                self._listener = self._listen()
            else:
                self._sock = self._bind_dgram()
        except BaseException:
            self._close_pipe()
            raise

    def _connect(self) -> socket.socket:
        u = self.url
        if u.family == "unix":
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            addr: object = u.path
        else:
            family, addr = _resolve(u.host, u.port, socket.SOCK_STREAM)
            s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(self.connect_timeout)
        try:
            s.connect(addr)
        except OSError as e:
            s.close()
            what = u.path if u.family == "unix" else f"{u.host}:{u.port}"
            raise BackendError(f"socket: cannot connect to {u.family}:{what}: "
                               f"{e.strerror or 'timed out'} (is the peer listening? QEMU: "
                               f"-netdev {u.qemu_netdev()})") from None
        s.settimeout(None)
        if u.family == "tcp":
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def _listen(self) -> socket.socket:
        u = self.url
        if u.family == "unix":
            self._remove_stale_unix_socket(u.path)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.bind(u.path)
            except OSError as e:
                s.close()
                raise BackendError(f"socket: cannot listen on unix:{u.path}: {e.strerror}") from None
            self._unlink_path = u.path
            self.address = u.path
        else:
            family, addr = _resolve(u.host, u.port, socket.SOCK_STREAM)
            s = socket.socket(family, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(addr)
            except OSError as e:
                s.close()
                raise BackendError(f"socket: cannot listen on tcp:{u.host}:{u.port}: {e.strerror}") from None
            self.address = s.getsockname()
        s.listen(1)
        return s

    @staticmethod
    def _remove_stale_unix_socket(path: str) -> None:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(st.st_mode):
            raise BackendError(f"socket: {path} exists and is not a socket")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
        except OSError:
            os.unlink(path)  # nobody listens: a leftover of an earlier run
            return
        finally:
            probe.close()
        raise BackendError(f"socket: something is already listening on {path}")

    def _bind_dgram(self) -> socket.socket:
        u = self.url
        rfamily, raddr = _resolve(u.remote_host, u.remote_port, socket.SOCK_DGRAM)
        lfamily, laddr = _resolve(u.local_host, u.local_port, socket.SOCK_DGRAM)
        if rfamily != lfamily:
            raise BackendError(f"socket: {u}: local and remote addresses are of different families")
        s = socket.socket(lfamily, socket.SOCK_DGRAM)
        try:
            s.bind(laddr)
        except OSError as e:
            s.close()
            raise BackendError(f"socket: cannot bind udp {u.local_host}:{u.local_port}: "
                               f"{e.strerror}") from None
        self._remote = raddr
        self._remote_ok = {(str(raddr[0]), int(raddr[1]))}  # type: ignore[arg-type]
        self.address = s.getsockname()
        return s

    # ------------------------------------------------- polled (emulation thread)
    def _poll_start(self) -> int | None:
        mode = self.url.mode
        if mode == "stream-server":
            assert self._listener is not None
            self._listener.setblocking(False)
            return self._listener.fileno()
        sock = self._sock
        assert sock is not None
        if mode == "stream":
            self._use_stream(sock)
            self._poll_read = self._read_stream  # type: ignore[method-assign]  # one stream for good
        else:
            sock.setblocking(False)
            self._use_packets(self._send_datagram)
        return sock.fileno()

    def _poll_read(self) -> None:
        mode = self.url.mode
        if mode == "dgram":
            self._read_packets(self._recv_datagram)
            return
        if mode == "stream-server" and self._conn is None and not self._accept():
            return
        self._read_stream()

    def _accept(self) -> bool:
        """Take the next peer waiting on the listening socket, if any (stream server)."""
        assert self._listener is not None
        try:
            client, _ = self._listener.accept()
        except OSError:  # none waiting (BlockingIOError), or it gave up before we took it
            return False
        if client.family in (socket.AF_INET, socket.AF_INET6):
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._client = client
        self.peers += 1
        self._use_stream(client)
        self._watch(client.fileno())
        return True

    def _stream_ended(self, reason: str) -> None:
        if self.url.mode == "stream-server":
            self._peer_left()
        else:
            super()._stream_ended(reason)

    def _peer_left(self) -> None:
        """The stream server's peer closed or broke the framing: wait for the next one."""
        client, self._client, self._conn, self._out = self._client, None, None, None
        if self._listener is not None:
            self._watch(self._listener.fileno())
        if client is not None:
            client.close()

    def _write_error(self, e: OSError) -> bool:
        mode = self.url.mode
        if mode == "stream-server":
            self.counters.drop("not connected")
            self._peer_left()
            return False
        if mode == "dgram" and isinstance(e, ConnectionRefusedError):
            self.counters.drop("peer unreachable")  # an ICMP error from an earlier datagram
            return True
        return super()._write_error(e)

    def _send_datagram(self, frame: bytes) -> int:
        assert self._sock is not None and self._remote is not None
        return self._sock.sendto(frame, self._remote)

    def _recv_datagram(self) -> bytes | None:
        """The next datagram (empty when it came from elsewhere: dropped), None when none waits."""
        assert self._sock is not None
        try:
            data, src = self._sock.recvfrom(DGRAM_MAX)
        except (BlockingIOError, ConnectionRefusedError):
            return None
        if (str(src[0]), int(src[1])) not in self._remote_ok:
            self.foreign_datagrams += 1
            self.counters.drop("foreign sender")
            return b""
        return data

    # --------------------------------------------------------- threaded I/O
    def _wait_readable(self, sock: socket.socket) -> bool:
        """Block until ``sock`` is readable (True) or the backend stops (False)."""
        while not self._stopping:
            ready, _, _ = select.select([sock, self._stop_r], [], [], 1.0)
            if self._stop_r in ready:
                return False
            if sock in ready:
                return True
        return False

    def _read_frame(self) -> bytes | None:
        mode = self.url.mode
        if mode == "stream":
            assert self._sock is not None
            return read_stream_frame(self._sock)
        if mode == "dgram":
            return self._read_dgram()
        return self._read_server()

    def _read_dgram(self) -> bytes | None:
        sock = self._sock
        assert sock is not None
        while self._wait_readable(sock):
            data, src = sock.recvfrom(DGRAM_MAX)
            if (str(src[0]), int(src[1])) not in self._remote_ok:
                self.foreign_datagrams += 1
                self.counters.drop("foreign sender")
                continue
            return data
        return None

    def _read_server(self) -> bytes | None:
        listener = self._listener
        assert listener is not None
        while not self._stopping:
            client = self._client
            if client is None:
                if not self._wait_readable(listener):
                    return None
                try:
                    client, _ = listener.accept()
                except OSError:
                    continue
                if client.family in (socket.AF_INET, socket.AF_INET6):
                    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with self._client_lock:
                    self._client = client
                self.peers += 1
                continue
            if not self._wait_readable(client):
                return None
            try:
                frame = read_stream_frame(client)
            except (OSError, BackendError):
                frame = None
            if frame is None:  # the peer left: wait for the next one
                with self._client_lock:
                    self._client = None
                client.close()
                continue
            return frame
        return None

    def _write_frame(self, frame: bytes) -> bool:
        mode = self.url.mode
        if mode == "dgram":
            assert self._sock is not None and self._remote is not None
            try:
                self._sock.sendto(frame, self._remote)
            except ConnectionRefusedError:  # an ICMP error from an earlier datagram: nobody there yet
                self.counters.drop("peer unreachable")
                return False
            return True
        if mode == "stream":
            assert self._sock is not None
            self._sock.sendall(stream_frame(frame))
            return True
        with self._client_lock:
            client = self._client
        if client is None:
            self.counters.drop("not connected")
            return False
        try:
            client.sendall(stream_frame(frame))
        except OSError:
            self.counters.drop("not connected")
            return False
        return True

    def _close_io(self) -> None:
        if self._stop_w >= 0:
            with contextlib.suppress(OSError):
                os.write(self._stop_w, b"x")
        for s in (self._sock, self._client):
            if s is not None:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
        for t in self._threads:
            if "reader" in t.name and t is not threading.current_thread():
                t.join(2.0)
        for attr in ("_sock", "_client", "_listener"):
            s = getattr(self, attr)
            if s is not None:
                setattr(self, attr, None)
                s.close()
        if self._unlink_path:
            with contextlib.suppress(OSError):
                os.unlink(self._unlink_path)
            self._unlink_path = ""
        self._close_pipe()

    def _close_pipe(self) -> None:
        for fd in (self._stop_r, self._stop_w):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._stop_r = self._stop_w = -1

    def _death_reason(self, reason: str) -> str:
        return f"{reason} (peer {self.url})"
