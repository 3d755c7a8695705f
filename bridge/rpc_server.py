"""The gRPC server of ``vboard serve``: the services of ``bridge/proto/vboard.proto``.

``RpcServer(runtime, bind="127.0.0.1", port=0, token=TOKEN)`` serves
Emulation, Uart, Network, Wifi, Memory and Events, plus the standard health and
reflection services. Handlers never touch the machine themselves: they ask
the emulation thread (``Runtime.call``) or wait on what it publishes.

The server runs on ``grpc.aio``: unary handlers run in a worker pool, the two
streams (``Uart/Stream``, ``Events/Subscribe``) are coroutines woken when the
runtime publishes something, so an idle subscriber holds no worker.

Security: the token is checked on every call of every service, health and
reflection included (metadata ``authorization: Bearer <token>``): loopback
is no boundary between local users. ``token=None`` (``--no-auth``) is for
a private network namespace, and never off loopback. Requests are parsed
here, not by gRPC, so a malformed one is answered with INVALID_ARGUMENT;
sizes are bounded (``MAX_REQUEST``), and gRPC refuses larger messages with
RESOURCE_EXHAUSTED before they are read.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import re
import threading
from collections.abc import AsyncIterator, Callable
from concurrent import futures
from typing import Any

import grpc
from google.protobuf import message_factory
from google.protobuf.message import DecodeError
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from bridge.proto import vboard_pb2 as pb
from bridge.rpc_errors import RuntimeFailure, cut, invalid, precondition
from bridge.rpc_gpio import GpioServices
from bridge.rpc_observe import ObserveServices
from bridge.rpc_runtime import RunGoal, Runtime, Watcher, wait_event

log = logging.getLogger("vboard.rpc")

MAX_REQUEST = 4 * 1024 * 1024
MAX_RESPONSE = 16 * 1024 * 1024
MAX_UART_WRITE = 64 * 1024
MAX_MEMORY = 1024 * 1024
MAX_STEP = 100_000
STREAM_CHUNK = 64 * 1024
MAX_MESSAGE = 1024  # characters of an error message (the values in it are cut at 80)
SERVICES = ("Emulation", "Uart", "Network", "Wifi", "Memory", "Events", "Observe", "Gpio")
PACKAGE = "vboard.v1"
_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# Wi-Fi names travel quoted in AT commands: printable ASCII without '"' and '\'.
_AT_TEXT_RE = re.compile(r'[ !#-\[\]-~]*')
_BSSID_RE = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")
RSSI_RANGE = (-120, -1)
CHANNEL_RANGE = (1, 14)
DEFAULT_RSSI = -50
DEFAULT_CHANNEL = 6
_UNITS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "min": 60_000_000_000}
TOKEN_RE = re.compile(r"[!-~]{16,256}")  # visible ASCII: an HTTP/2 header value without spaces


class ConfigError(Exception):
    """A server setting that cannot be used (e.g. a public address without a token)."""


def check_token(token: str) -> None:
    if not TOKEN_RE.fullmatch(token):
        raise ConfigError(f"token of {len(token)} characters: expected 16..256 visible ASCII characters "
                          "without spaces")


class AsyncWake:
    """Wakes the streams' coroutines when the runtime's condition notifies (called from any thread)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.event = asyncio.Event()
        self._pending = False

    def poke(self) -> None:
        if not self._pending:
            self._pending = True
            try:
                self.loop.call_soon_threadsafe(self._fire)
            except RuntimeError:  # the loop has closed: the server is gone
                pass

    def _fire(self) -> None:
        self._pending = False
        event, self.event = self.event, asyncio.Event()
        event.set()

    async def wait(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self.event.wait(), timeout)
        except TimeoutError:
            pass


class _ServerGone(Exception):
    """A handler that ends after the server stopped: nobody is there to answer."""


class _Handlers:
    """The sync handlers running in the pool: counted, so ``stop`` can wait for them to end."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.running = 0
        self.closing = False

    def enter(self) -> None:
        with self.cond:
            self.running += 1

    def leave(self) -> None:
        with self.cond:
            self.running -= 1
            self.cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.running == 0, timeout)


class _CallContext:
    """A sync handler's context with ``is_active()`` (grpc.aio's sync context has none)."""

    def __init__(self, ctx: Any, handlers: _Handlers) -> None:
        self._ctx = ctx
        self._handlers = handlers
        self._ended = threading.Event()
        ctx.add_callback(self._ended.set)

    def is_active(self) -> bool:
        return not self._ended.is_set() and not self._handlers.closing

    def abort(self, code: grpc.StatusCode, details: str) -> None:
        if self._handlers.closing:  # the event loop is gone: grpc's abort would wait for it forever
            raise _ServerGone(details)
        self._ctx.abort(code, details)


def parse_duration_ns(text: str) -> int:
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ns|us|ms|s|min)?\s*", text)
    if not m:
        raise invalid(f"duration '{cut(text)}': expected e.g. 1s, 250ms, 10us")
    value = int(float(m.group(1)) * _UNITS[m.group(2) or "s"])
    if value <= 0:
        raise invalid(f"duration '{cut(text)}': must be positive")
    return value


def is_loopback(bind: str) -> bool:
    host = bind.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --------------------------------------------------------------------- helpers
def _state_msg(d: dict[str, Any]) -> pb.State:
    boards = [pb.BoardState(**b) for b in d["boards"]]
    return pb.State(state=d["state"], time_ns=d["time_ns"], instructions=d["instructions"],
                    exited=d["exited"], exit_code=d["exit_code"], message=d["message"], boards=boards,
                    loaded=d["loaded"], pace=d["pace"])


def _port_msg(p: Any) -> pb.PortInfo:
    c = p.counters
    return pb.PortInfo(name=p.name, up=p.link.up, loss=p.link.loss, delay_ns=p.link.delay_ns,
                       rate_bps=p.link.rate_bps, rx_frames=c.rx_frames, rx_bytes=c.rx_bytes,
                       tx_frames=c.tx_frames, tx_bytes=c.tx_bytes, dropped=dict(c.dropped))


def _snap_msg(snap: Any) -> pb.SnapshotInfo:
    return pb.SnapshotInfo(name=snap.name, time_ns=snap.time_ns, size_bytes=snap.size(),
                           not_restored=list(snap.not_restored))


def _wifi_msg(d: dict[str, Any]) -> pb.WifiStatus:
    aps = [pb.AccessPoint(**ap) for ap in d["access_points"]]
    return pb.WifiStatus(board=d["board"], module=d["module"], access_points=aps, state=d["state"],
                         ssid=d["ssid"], ip=d["ip"], mac=d["mac"])


def _check_ssid(ssid: str) -> None:
    if not 0 < len(ssid) <= 32 or not _AT_TEXT_RE.fullmatch(ssid):
        raise invalid(f"ssid {cut(ssid)!r}: expected 1..32 printable ASCII characters without '\"' or '\\'")


def _check_rssi(rssi: int) -> None:
    lo, hi = RSSI_RANGE
    if not lo <= rssi <= hi:
        raise invalid(f"rssi {rssi}: expected {lo}..{hi} dBm")


def _check_password(req: pb.AccessPointRequest) -> None:
    if req.open and req.password:
        raise invalid("give a password or open, not both")
    if req.open:
        return
    if not req.password:
        raise invalid("password: give one (WPA2, 8..63 characters) or open=true for an open access point")
    if not 8 <= len(req.password) <= 63 or not _AT_TEXT_RE.fullmatch(req.password):
        raise invalid("password: expected 8..63 printable ASCII characters without '\"' or '\\' (WPA2)")


def _access_point_args(req: pb.AccessPointRequest) -> tuple[str, int, int, str]:
    """Validated (password, rssi, channel, bssid) of an AddAccessPoint request."""
    _check_ssid(req.ssid)
    _check_password(req)
    rssi = req.rssi if req.HasField("rssi") else DEFAULT_RSSI
    _check_rssi(rssi)
    channel = req.channel if req.HasField("channel") else DEFAULT_CHANNEL
    if not CHANNEL_RANGE[0] <= channel <= CHANNEL_RANGE[1]:
        raise invalid(f"channel {channel}: expected {CHANNEL_RANGE[0]}..{CHANNEL_RANGE[1]}")
    bssid = req.bssid.lower()
    if bssid and (not _BSSID_RE.fullmatch(bssid) or int(bssid[:2], 16) & 1):
        raise invalid(f"bssid '{cut(req.bssid)}': expected a unicast MAC address such as 02:00:00:00:00:07")
    return req.password, rssi, channel, bssid


def _check_name(name: str, what: str = "name") -> None:
    if not _NAME_RE.fullmatch(name):
        raise invalid(f"{what} '{cut(name)}': expected 1-64 of letters, digits, '_', '.', '-'")


class Services(ObserveServices, GpioServices):
    """The handlers; each gets a parsed request and the gRPC context."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.wake: AsyncWake | None = None  # set by the server once its event loop runs

    async def _changed(self) -> None:
        assert self.wake is not None
        await self.wake.wait(1.0)

    async def _ask(self, fn: Callable[[], Any]) -> Any:
        """``rt.call(fn)`` from a coroutine, without blocking the event loop."""
        return await asyncio.get_running_loop().run_in_executor(None, lambda: self.rt.call(fn))

    def _state(self) -> pb.State:
        return _state_msg(self.rt.call(self.rt.state))

    # ----------------------------------------------------------- Emulation
    def Emulation_Load(self, req: pb.LoadRequest, ctx: Any) -> pb.State:  # noqa: N802
        cmdline = req.cmdline if req.HasField("cmdline") else None
        self.rt.call(lambda: self.rt.load(req.firmware, req.platform, req.base, req.net, list(req.forwards),
                                          list(req.dns_records), req.pace, cmdline, req.host_loopback),
                     timeout=300)
        return self._state()

    def Emulation_Start(self, req: pb.Empty, ctx: Any) -> pb.State:  # noqa: N802
        self.rt.call(self.rt.start)
        return self._state()

    Emulation_Resume = Emulation_Start

    def Emulation_Pause(self, req: pb.Empty, ctx: Any) -> pb.State:  # noqa: N802
        self.rt.call(self.rt.pause)
        return self._state()

    def Emulation_Reset(self, req: pb.ResetRequest, ctx: Any) -> pb.State:  # noqa: N802
        self.rt.call(lambda: self.rt.reset(req.board))
        return self._state()

    def Emulation_RunFor(self, req: pb.RunForRequest, ctx: Any) -> pb.State:  # noqa: N802
        if req.duration_ns and req.duration:
            raise invalid("give duration_ns or duration, not both")
        ns = req.duration_ns or (parse_duration_ns(req.duration) if req.duration else 0)
        if ns <= 0:
            raise invalid("duration: give a positive virtual duration")
        if ns > 10 ** 15:
            raise invalid("duration: at most 1e6 s of virtual time in one call")
        goal: RunGoal = self.rt.call(lambda: self.rt.add_goal(ns))
        wait_event(goal.done, ctx.is_active)
        return self._state()

    def Emulation_Step(self, req: pb.StepRequest, ctx: Any) -> pb.StepReply:  # noqa: N802
        count = req.count or 1
        if count > MAX_STEP:
            raise invalid(f"count {count}: at most {MAX_STEP}")
        pc, sym, kind = self.rt.call(lambda: self.rt.step(req.board, count))
        return pb.StepReply(pc=pc, symbol=sym, stop=kind, state=self._state())

    def Emulation_GetState(self, req: pb.Empty, ctx: Any) -> pb.State:  # noqa: N802
        return self._state()

    def Emulation_SaveSnapshot(self, req: pb.SnapshotRequest, ctx: Any) -> pb.SnapshotInfo:  # noqa: N802
        _check_name(req.name)
        return _snap_msg(self.rt.call(lambda: self.rt.save_snapshot(req.name, req.path), timeout=300))

    def Emulation_LoadSnapshot(self, req: pb.SnapshotRequest, ctx: Any) -> pb.SnapshotInfo:  # noqa: N802
        if not req.path:
            _check_name(req.name)
        return _snap_msg(self.rt.call(lambda: self.rt.load_snapshot(req.name, req.path), timeout=300))

    def Emulation_ListSnapshots(self, req: pb.Empty, ctx: Any) -> pb.SnapshotList:  # noqa: N802
        snaps = self.rt.call(lambda: list(self.rt.snapshots.values()))
        return pb.SnapshotList(snapshots=[_snap_msg(s) for s in snaps])

    # ----------------------------------------------------------------- Uart
    async def Uart_Stream(self, req: pb.UartStreamRequest,  # noqa: N802
                          ctx: Any) -> AsyncIterator[pb.UartChunk]:
        t = await self._ask(lambda: self.rt.transcript(req.board, req.uart))
        pos = len(t) if req.from_end else req.offset
        while True:
            data, t_ns, end = t.read(pos, STREAM_CHUNK)
            if data:
                yield pb.UartChunk(board=t.board, uart=t.uart, offset=pos, time_ns=t_ns, data=data, end=end)
                pos += len(data)
            else:
                await self._changed()

    def Uart_Read(self, req: pb.UartReadRequest, ctx: Any) -> pb.UartChunk:  # noqa: N802
        t = self.rt.call(lambda: self.rt.transcript(req.board, req.uart))
        limit = min(req.max_bytes or MAX_REQUEST, MAX_REQUEST)
        data, t_ns, end = t.read(req.offset, limit)
        return pb.UartChunk(board=t.board, uart=t.uart, offset=min(req.offset, end), time_ns=t_ns, data=data,
                            end=end)

    def Uart_Write(self, req: pb.UartWriteRequest, ctx: Any) -> pb.UartWriteReply:  # noqa: N802
        if not req.data:
            raise invalid("data: nothing to write")
        if len(req.data) > MAX_UART_WRITE:
            raise invalid(f"data: {len(req.data)} bytes; at most {MAX_UART_WRITE} in one write")
        t_ns = self.rt.call(lambda: self.rt.uart_write(req.board, req.uart, req.data))
        return pb.UartWriteReply(time_ns=t_ns)

    def Uart_WaitFor(self, req: pb.UartWaitRequest, ctx: Any) -> pb.UartWaitReply:  # noqa: N802
        if len(req.pattern) > 4096:
            raise invalid("pattern: at most 4096 characters")
        w: Watcher = self.rt.call(lambda: self.rt.add_watcher(req.board, req.uart, req.pattern, req.regex,
                                                             req.prompt, req.offset, req.timeout_ns))
        if not wait_event(w.done, ctx.is_active):
            def drop() -> None:
                if w in self.rt.watchers:
                    self.rt.watchers.remove(w)
            self.rt.call(drop)
            return pb.UartWaitReply(matched=False, reason="cancelled")
        return pb.UartWaitReply(matched=w.reason == "matched", line=w.line, groups=w.groups,
                                end=w.end if w.reason == "matched" else w.pos, time_ns=w.time_ns,
                                reason=w.reason)

    def Uart_List(self, req: pb.Empty, ctx: Any) -> pb.UartList:  # noqa: N802
        def collect() -> list[pb.UartInfo]:
            s = self.rt.require()
            return [pb.UartInfo(board=b.name, uart=u, length=len(t))
                    for b in s.boards for u, t in b.uarts.items()]
        return pb.UartList(uarts=self.rt.call(collect))

    # -------------------------------------------------------------- Network
    def Network_SetLink(self, req: pb.LinkRequest, ctx: Any) -> pb.PortInfo:  # noqa: N802
        up = req.up if req.HasField("up") else None
        loss = req.loss if req.HasField("loss") else None
        delay = req.delay_ns if req.HasField("delay_ns") else None
        rate = req.rate_bps if req.HasField("rate_bps") else None
        return self.rt.call(lambda: _port_msg(self.rt.set_link(req.port, up, loss, delay, rate)))

    def Network_GetPorts(self, req: pb.Empty, ctx: Any) -> pb.PortList:  # noqa: N802
        def collect() -> pb.PortList:
            ports, backend = self.rt.ports()
            return pb.PortList(ports=[_port_msg(p) for p in ports], backend=backend)
        return self.rt.call(collect)

    def Network_AddForward(self, req: pb.ForwardRequest, ctx: Any) -> pb.Empty:  # noqa: N802
        self.rt.call(lambda: self.rt.add_forward(req.spec))
        return pb.Empty()

    def Network_AddDnsRecord(self, req: pb.DnsRecordRequest, ctx: Any) -> pb.Empty:  # noqa: N802
        if not req.name or not req.address:
            raise invalid("name and address are both needed")
        self.rt.call(lambda: self.rt.add_dns_record(req.name, req.address))
        return pb.Empty()

    def Network_StartCapture(self, req: pb.CaptureRequest, ctx: Any) -> pb.Empty:  # noqa: N802
        self.rt.call(lambda: self.rt.start_capture(req.path))
        return pb.Empty()

    def Network_StopCapture(self, req: pb.Empty, ctx: Any) -> pb.CaptureInfo:  # noqa: N802
        path, frames = self.rt.call(self.rt.stop_capture)
        return pb.CaptureInfo(path=path, frames=frames)

    def Network_InjectFrame(self, req: pb.InjectRequest, ctx: Any) -> pb.Empty:  # noqa: N802
        self.rt.call(lambda: self.rt.inject(req.port, req.frame))
        return pb.Empty()

    # ----------------------------------------------------------------- Wifi
    def _wifi(self, board: str, change: Callable[[], None] | None = None) -> pb.WifiStatus:
        def apply() -> dict[str, Any]:
            if change is not None:
                change()
            return self.rt.wifi_status(board)
        return _wifi_msg(self.rt.call(apply))

    def Wifi_ListAccessPoints(self, req: pb.WifiRequest, ctx: Any) -> pb.WifiStatus:  # noqa: N802
        return self._wifi(req.board)

    Wifi_GetStatus = Wifi_ListAccessPoints

    def Wifi_AddAccessPoint(self, req: pb.AccessPointRequest, ctx: Any) -> pb.WifiStatus:  # noqa: N802
        password, rssi, channel, bssid = _access_point_args(req)
        return self._wifi(req.board,
                          lambda: self.rt.add_ap(req.board, req.ssid, password, rssi, channel, bssid))

    def Wifi_RemoveAccessPoint(self, req: pb.AccessPointName, ctx: Any) -> pb.WifiStatus:  # noqa: N802
        _check_ssid(req.ssid)
        return self._wifi(req.board, lambda: self.rt.remove_ap(req.board, req.ssid))

    def Wifi_SetRssi(self, req: pb.RssiRequest, ctx: Any) -> pb.WifiStatus:  # noqa: N802
        if req.ssid:
            _check_ssid(req.ssid)
        _check_rssi(req.rssi)
        return self._wifi(req.board, lambda: self.rt.set_rssi(req.board, req.ssid, req.rssi))

    def Wifi_DropStation(self, req: pb.WifiRequest, ctx: Any) -> pb.WifiStatus:  # noqa: N802
        return self._wifi(req.board, lambda: self.rt.drop_station(req.board))

    # --------------------------------------------------------------- Memory
    def Memory_Read(self, req: pb.MemoryReadRequest, ctx: Any) -> pb.MemoryData:  # noqa: N802
        if not 0 < req.size <= MAX_MEMORY:
            raise invalid(f"size {req.size}: expected 1..{MAX_MEMORY}")
        if req.address > 0xFFFFFFFF:
            raise invalid(f"address 0x{req.address:X}: beyond 32 bits")
        data = self.rt.call(lambda: self.rt.mem_read(req.board, req.address, req.size))
        return pb.MemoryData(address=req.address, data=data)

    def Memory_Write(self, req: pb.MemoryWriteRequest, ctx: Any) -> pb.Empty:  # noqa: N802
        if not 0 < len(req.data) <= MAX_MEMORY:
            raise invalid(f"data: expected 1..{MAX_MEMORY} bytes")
        if req.address > 0xFFFFFFFF:
            raise invalid(f"address 0x{req.address:X}: beyond 32 bits")
        self.rt.call(lambda: self.rt.mem_write(req.board, req.address, req.data))
        return pb.Empty()

    def Memory_LookupSymbol(self, req: pb.SymbolRequest, ctx: Any) -> pb.SymbolReply:  # noqa: N802
        name, addr = self.rt.call(lambda: self.rt.symbol(req.board, req.name, req.address))
        return pb.SymbolReply(name=name, address=addr)

    # --------------------------------------------------------------- Events
    async def Events_Subscribe(self, req: pb.EventsRequest,  # noqa: N802
                               ctx: Any) -> AsyncIterator[pb.Event]:
        hub = self.rt.events
        seq = 0 if req.history else hub.seq
        while True:
            news = hub.since(seq) if hub.seq > seq else []
            for e in news:
                seq = e.seq
                yield pb.Event(seq=e.seq, time_ns=e.time_ns, kind=e.kind, board=e.board, text=e.text,
                               exit_code=e.exit_code, port=e.port, up=e.up, ssid=e.ssid, reason=e.reason)
            if not news:
                await self._changed()


# ---------------------------------------------------------------- the server
def _parse(req_cls: Any, raw: bytes) -> tuple[Any, str]:
    req = req_cls()
    try:
        req.ParseFromString(raw)
    except (DecodeError, RuntimeWarning, ValueError) as e:
        return None, f"malformed {req_cls.DESCRIPTOR.name}: {e}"
    return req, ""


def _failure(fn: Callable[..., Any], e: BaseException) -> tuple[grpc.StatusCode, str]:
    if isinstance(e, RuntimeFailure):
        return getattr(grpc.StatusCode, e.code, grpc.StatusCode.INTERNAL), cut(str(e), MAX_MESSAGE)
    log.error("handler %s failed", fn.__name__, exc_info=e)
    return grpc.StatusCode.INTERNAL, f"internal error: {type(e).__name__}: {str(e)[:200]}"


def _wrap_unary(fn: Callable[[Any, Any], Any], req_cls: Any,
                handlers: _Handlers) -> Callable[[bytes, Any], Any]:
    """A sync handler (run in the worker pool) around ``fn``."""
    def unary(raw: bytes, grpc_ctx: Any) -> Any:
        handlers.enter()
        try:
            ctx = _CallContext(grpc_ctx, handlers)
            req, error = _parse(req_cls, raw)
            if req is None:
                ctx.abort(grpc.StatusCode.INVALID_ARGUMENT, error)
            try:
                return fn(req, ctx)
            except Exception as e:  # noqa: BLE001
                if _is_abort(e) or isinstance(e, _ServerGone):
                    raise
                code, message = _failure(fn, e)
                ctx.abort(code, message)
        finally:
            handlers.leave()
    return unary


def _wrap_stream(fn: Callable[[Any, Any], AsyncIterator[Any]],
                 req_cls: Any) -> Callable[[bytes, Any], AsyncIterator[Any]]:
    """A coroutine stream around the async generator ``fn``."""
    async def stream(raw: bytes, ctx: Any) -> AsyncIterator[Any]:
        req, error = _parse(req_cls, raw)
        if req is None:
            await ctx.abort(grpc.StatusCode.INVALID_ARGUMENT, error)
        try:
            async for item in fn(req, ctx):
                yield item
        except Exception as e:  # noqa: BLE001
            if _is_abort(e):
                raise
            code, message = _failure(fn, e)
            await ctx.abort(code, message)
    return stream


def _is_abort(e: BaseException) -> bool:
    # grpc's ServicerContext.abort raises an exception class from grpc's own modules.
    return type(e).__module__.startswith("grpc")


class _TokenCheck(grpc.aio.ServerInterceptor):
    """Every call of every service must carry ``authorization: Bearer <token>``."""

    def __init__(self, token: str) -> None:
        self.expected = f"Bearer {token}".encode()

    async def intercept_service(self, continuation: Any, details: Any) -> Any:
        got: Any = b""
        for key, value in details.invocation_metadata or ():
            if key == "authorization":
                got = value
        if isinstance(got, str):
            got = got.encode("utf-8", "replace")
        if hmac.compare_digest(got, self.expected):
            return await continuation(details)

        async def deny(_req: Any, ctx: Any) -> None:
            await ctx.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong token (metadata "
                            "'authorization: Bearer <token>'; vboard serve writes it to its port file)")
        return grpc.unary_unary_rpc_method_handler(deny)


class RpcServer:
    """A running server; ``port`` is the one bound; ``stop()`` ends it (the runtime too).

    ``token=None`` serves without authentication: only for a private network namespace."""

    MAX_STREAMS_AND_CALLS = 1024

    def __init__(self, runtime: Runtime, bind: str = "127.0.0.1", port: int = 0, token: str | None = None,
                 max_workers: int = 32) -> None:
        if token is not None:
            check_token(token)
        if not is_loopback(bind) and not token:
            raise ConfigError(f"refusing to listen on {bind} without a token: anything but loopback "
                              "needs one (clients send 'authorization: Bearer <token>')")
        self.runtime = runtime
        self.services = Services(runtime)
        self.token = token
        self.bind = bind
        self._stopped = threading.Event()
        self.handlers = _Handlers()
        self.pool = futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="rpc")
        self.loop = asyncio.new_event_loop()
        self.loop.set_default_executor(self.pool)
        self._thread = threading.Thread(target=self.loop.run_forever, name="rpc-loop", daemon=True)
        self._thread.start()
        try:
            self.port = self._on_loop(self._build(port))
        except BaseException:
            self._end_loop()
            raise
        runtime.cond.listeners.append(self._poke)

    def _on_loop(self, coro: Any, timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def _poke(self) -> None:
        if self.services.wake is not None:
            self.services.wake.poke()

    async def _build(self, port: int) -> int:
        interceptors = [_TokenCheck(self.token)] if self.token else []
        self.server = grpc.aio.server(migration_thread_pool=self.pool, interceptors=interceptors,
                                      options=[("grpc.max_receive_message_length", MAX_REQUEST),
                                               ("grpc.max_send_message_length", MAX_RESPONSE),
                                               ("grpc.so_reuseport", 0)],
                                      maximum_concurrent_rpcs=self.MAX_STREAMS_AND_CALLS)
        self.server.add_generic_rpc_handlers(self._handlers())
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        names = [f"{PACKAGE}.{s}" for s in SERVICES]
        reflection.enable_server_reflection((*names, health.SERVICE_NAME, reflection.SERVICE_NAME),
                                            self.server)
        self.services.wake = AsyncWake(asyncio.get_running_loop())
        host = f"[{self.bind}]" if ":" in self.bind and not self.bind.startswith("[") else self.bind
        try:
            bound = self.server.add_insecure_port(f"{host}:{port}")
        except RuntimeError as e:
            raise ConfigError(f"cannot listen on {self.bind}:{port} ({e})") from None
        if not bound:
            raise ConfigError(f"cannot listen on {self.bind}:{port}")
        return bound

    def _handlers(self) -> list[grpc.GenericRpcHandler]:
        out = []
        for sname in SERVICES:
            sdesc = pb.DESCRIPTOR.services_by_name[sname]
            methods = {}
            for m in sdesc.methods:
                fn = getattr(self.services, f"{sname}_{m.name}")
                req_cls = message_factory.GetMessageClass(m.input_type)
                ser = message_factory.GetMessageClass(m.output_type).SerializeToString
                if m.server_streaming:
                    handler = grpc.unary_stream_rpc_method_handler(_wrap_stream(fn, req_cls), None, ser)
                else:
                    handler = grpc.unary_unary_rpc_method_handler(_wrap_unary(fn, req_cls, self.handlers),
                                                                  None, ser)
                methods[m.name] = handler
            out.append(grpc.method_handlers_generic_handler(f"{PACKAGE}.{sname}", methods))
        return out

    def start(self) -> RpcServer:
        async def go() -> None:
            await self.server.start()
            for s in ("", *(f"{PACKAGE}.{n}" for n in SERVICES)):
                await self.health.set(s, health_pb2.HealthCheckResponse.SERVING)
        self._on_loop(go())
        return self

    def stop(self, grace: float = 1.0) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self._poke in self.runtime.cond.listeners:
            self.runtime.cond.listeners.remove(self._poke)
        try:
            self._on_loop(self._shutdown(grace), timeout=grace + 5)
        except (TimeoutError, futures.TimeoutError):
            log.warning("the RPC server did not stop within %.0f s", grace + 5)
        self.runtime.close()  # handlers waiting on the emulation get their answer now
        if not self.handlers.wait_idle(5):
            log.warning("%d RPC handlers still running after the server stopped", self.handlers.running)
        self.handlers.closing = True
        self._end_loop()

    async def _shutdown(self, grace: float) -> None:
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)

    def _end_loop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.pool.shutdown(wait=False, cancel_futures=True)


__all__ = ["ConfigError", "RpcServer", "Services", "check_token", "is_loopback", "parse_duration_ns",
           "precondition"]
