"""The gRPC server of ``vboard serve``: the services of ``bridge/proto/vboard.proto``.

``RpcServer(runtime, bind="127.0.0.1", port=0, token=None)`` serves
Emulation, Uart, Network, Wifi, Memory and Events, plus the standard health and
reflection services. Handlers never touch the machine themselves: they ask
the emulation thread (``Runtime.call``) or wait on what it publishes.

Security: loopback by default; any other address needs a token, checked on
every call (metadata ``authorization: Bearer <token>``) of every service.
Requests are parsed here, not by gRPC, so a malformed one is answered with
INVALID_ARGUMENT; sizes are bounded (``MAX_REQUEST``), and gRPC refuses
larger messages with RESOURCE_EXHAUSTED before they are read.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re
import threading
from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
from google.protobuf import message_factory
from google.protobuf.message import DecodeError
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from bridge.proto import vboard_pb2 as pb
from bridge.rpc_gpio import GpioServices
from bridge.rpc_observe import ObserveServices
from bridge.rpc_runtime import (
    RunGoal,
    Runtime,
    RuntimeFailure,
    Watcher,
    invalid,
    precondition,
    wait_event,
)

log = logging.getLogger("vboard.rpc")

MAX_REQUEST = 4 * 1024 * 1024
MAX_RESPONSE = 16 * 1024 * 1024
MAX_UART_WRITE = 64 * 1024
MAX_MEMORY = 1024 * 1024
MAX_STEP = 100_000
STREAM_CHUNK = 64 * 1024
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


class ConfigError(Exception):
    """A server setting that cannot be used (e.g. a public address without a token)."""


def parse_duration_ns(text: str) -> int:
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ns|us|ms|s|min)?\s*", text)
    if not m:
        raise invalid(f"duration '{text}': expected e.g. 1s, 250ms, 10us")
    value = int(float(m.group(1)) * _UNITS[m.group(2) or "s"])
    if value <= 0:
        raise invalid(f"duration '{text}': must be positive")
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
        raise invalid(f"ssid {ssid!r}: expected 1..32 printable ASCII characters without '\"' or '\\'")


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
        raise invalid(f"bssid '{req.bssid}': expected a unicast MAC address such as 02:00:00:00:00:07")
    return req.password, rssi, channel, bssid


def _check_name(name: str, what: str = "name") -> None:
    if not _NAME_RE.fullmatch(name):
        raise invalid(f"{what} '{name}': expected 1-64 of letters, digits, '_', '.', '-'")


class Services(ObserveServices, GpioServices):
    """The handlers; each gets a parsed request and the gRPC context."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

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
    def Uart_Stream(self, req: pb.UartStreamRequest, ctx: Any) -> Iterator[pb.UartChunk]:  # noqa: N802
        t = self.rt.call(lambda: self.rt.transcript(req.board, req.uart))
        pos = len(t) if req.from_end else req.offset
        while ctx.is_active():
            with t.cond:
                if len(t) <= pos:
                    t.cond.wait(0.25)
            data, t_ns, end = t.read(pos, STREAM_CHUNK)
            if data:
                yield pb.UartChunk(board=t.board, uart=t.uart, offset=pos, time_ns=t_ns, data=data, end=end)
                pos += len(data)

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
    def Events_Subscribe(self, req: pb.EventsRequest, ctx: Any) -> Iterator[pb.Event]:  # noqa: N802
        hub = self.rt.events
        with hub.cond:
            seq = 0 if req.history else hub.seq
        while ctx.is_active():
            with hub.cond:
                if hub.seq <= seq:
                    hub.cond.wait(0.25)
            for e in hub.since(seq):
                seq = e.seq
                yield pb.Event(seq=e.seq, time_ns=e.time_ns, kind=e.kind, board=e.board, text=e.text,
                               exit_code=e.exit_code, port=e.port, up=e.up, ssid=e.ssid, reason=e.reason)


# ---------------------------------------------------------------- the server
def _fail(ctx: Any, code: str, message: str) -> None:
    ctx.abort(getattr(grpc.StatusCode, code, grpc.StatusCode.INTERNAL), message)


def _wrap(fn: Callable[[Any, Any], Any], req_cls: Any, streaming: bool) -> Callable[[bytes, Any], Any]:
    def parse(raw: bytes, ctx: Any) -> Any:
        req = req_cls()
        try:
            req.ParseFromString(raw)
        except (DecodeError, RuntimeWarning, ValueError) as e:
            _fail(ctx, "INVALID_ARGUMENT", f"malformed {req_cls.DESCRIPTOR.name}: {e}")
        return req

    def failure(e: BaseException, ctx: Any) -> None:
        if isinstance(e, RuntimeFailure):
            _fail(ctx, e.code, str(e))
        log.exception("handler %s failed", fn.__name__)
        _fail(ctx, "INTERNAL", f"internal error: {type(e).__name__}: {e}")

    if streaming:
        def stream(raw: bytes, ctx: Any) -> Iterator[Any]:
            req = parse(raw, ctx)
            try:
                yield from fn(req, ctx)
            except Exception as e:  # noqa: BLE001
                if _is_abort(e):
                    raise
                failure(e, ctx)
        return stream

    def unary(raw: bytes, ctx: Any) -> Any:
        req = parse(raw, ctx)
        try:
            return fn(req, ctx)
        except Exception as e:  # noqa: BLE001
            if _is_abort(e):
                raise
            failure(e, ctx)
    return unary


def _is_abort(e: BaseException) -> bool:
    # grpc's ServicerContext.abort raises a bare Exception subclass from its own module.
    return type(e).__module__.startswith("grpc")


class _TokenCheck(grpc.ServerInterceptor):
    def __init__(self, token: str) -> None:
        self.expected = f"Bearer {token}".encode()

    def intercept_service(self, continuation: Any, details: Any) -> Any:
        got = dict(details.invocation_metadata or ()).get("authorization", "")
        if isinstance(got, str):
            got = got.encode()
        if hmac.compare_digest(got, self.expected):
            return continuation(details)

        def deny(_req: Any, ctx: Any) -> None:
            ctx.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong token "
                      "(metadata 'authorization: Bearer <token>')")
        return grpc.unary_unary_rpc_method_handler(deny)


class RpcServer:
    """A running server; ``port`` is the one bound; ``stop()`` ends it (the runtime too)."""

    def __init__(self, runtime: Runtime, bind: str = "127.0.0.1", port: int = 0, token: str | None = None,
                 max_workers: int = 32) -> None:
        if not is_loopback(bind) and not token:
            raise ConfigError(f"refusing to listen on {bind} without --token: anything but loopback "
                              "needs one (clients send 'authorization: Bearer <token>')")
        self.runtime = runtime
        self.services = Services(runtime)
        interceptors = [_TokenCheck(token)] if token else []
        pool = futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="rpc")
        self.server = grpc.server(pool,
                                  interceptors=interceptors,
                                  options=[("grpc.max_receive_message_length", MAX_REQUEST),
                                           ("grpc.max_send_message_length", MAX_RESPONSE),
                                           ("grpc.so_reuseport", 0)],
                                  maximum_concurrent_rpcs=max_workers * 4)
        self.server.add_generic_rpc_handlers(self._handlers())
        self.health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        names = [f"{PACKAGE}.{s}" for s in SERVICES]
        reflection.enable_server_reflection((*names, health.SERVICE_NAME, reflection.SERVICE_NAME),
                                            self.server)
        host = f"[{bind}]" if ":" in bind and not bind.startswith("[") else bind
        try:
            self.port = self.server.add_insecure_port(f"{host}:{port}")
        except RuntimeError as e:
            raise ConfigError(f"cannot listen on {bind}:{port} ({e})") from None
        if not self.port:
            raise ConfigError(f"cannot listen on {bind}:{port}")
        self.bind = bind
        self._stopped = threading.Event()

    def _handlers(self) -> list[grpc.GenericRpcHandler]:
        out = []
        for sname in SERVICES:
            sdesc = pb.DESCRIPTOR.services_by_name[sname]
            methods = {}
            for m in sdesc.methods:
                fn = getattr(self.services, f"{sname}_{m.name}")
                req_cls = message_factory.GetMessageClass(m.input_type)
                streaming = m.server_streaming
                wrapped = _wrap(fn, req_cls, streaming)
                ser = message_factory.GetMessageClass(m.output_type).SerializeToString
                if streaming:
                    methods[m.name] = grpc.unary_stream_rpc_method_handler(wrapped, None, ser)
                else:
                    methods[m.name] = grpc.unary_unary_rpc_method_handler(wrapped, None, ser)
            out.append(grpc.method_handlers_generic_handler(f"{PACKAGE}.{sname}", methods))
        return out

    def start(self) -> RpcServer:
        self.server.start()
        for s in ("", *(f"{PACKAGE}.{n}" for n in SERVICES)):
            self.health.set(s, health_pb2.HealthCheckResponse.SERVING)
        return self

    def wait(self, timeout: float | None = None) -> bool:
        return self.server.wait_for_termination(timeout)

    def stop(self, grace: float = 1.0) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait(grace + 2)
        self.runtime.close()


__all__ = ["ConfigError", "RpcServer", "Services", "parse_duration_ns", "is_loopback", "precondition"]
