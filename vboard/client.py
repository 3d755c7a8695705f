"""A Python client of the ``vboard serve`` API (used by ``vboard ctl`` and the Robot library).

    c = Client()        # the server of $VBOARD_ADDRESS/$VBOARD_TOKEN, else of the port file
    c = Client("127.0.0.1:50051", token="...")   # or Client(port_file="run/serve.json")
    c.load("firmware/build/hello.elf")
    line = c.wait_for_line("hello: done", timeout="1s")

Where the server is and its token: ``vboard.portfile.discover`` (the
address and token given, else ``$VBOARD_ADDRESS``/``$VBOARD_TOKEN``, else
the port file ``vboard serve`` wrote). Every call has a wall-clock deadline
(``timeout``, seconds); errors come as ``ClientError`` with the server's
status code name and message.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc

from bridge.proto import vboard_pb2 as pb
from bridge.proto import vboard_pb2_grpc as rpc
from vboard.portfile import PortFileError, discover

_UNITS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "min": 60_000_000_000}


class ClientError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def duration_ns(value: str | int | float) -> int:
    """``1s``, ``250ms``, ``10us``, or a number of seconds -> nanoseconds."""
    if isinstance(value, int | float):
        return int(value * 1_000_000_000)
    text = str(value).strip().replace(" ", "")
    for unit in ("min", "ms", "us", "ns", "s"):
        if text.endswith(unit):
            number = text[: -len(unit)]
            try:
                return int(float(number) * _UNITS[unit])
            except ValueError:
                break
    try:
        return int(float(text) * 1_000_000_000)
    except ValueError:
        raise ValueError(f"'{value}' is not a duration (examples: 1s, 250ms, 10us)") from None


class Client:
    def __init__(self, address: str | None = None, token: str | None = None, timeout: float = 120.0,
                 port_file: str | Path | None = None) -> None:
        try:
            info = discover(address, token, port_file)
        except PortFileError as e:
            raise ClientError("UNAVAILABLE", str(e)) from None
        self.address = info.address
        self.token = info.token
        self.timeout = timeout
        self.channel = grpc.insecure_channel(self.address, options=[("grpc.max_receive_message_length",
                                                                 32 * 1024 * 1024)])
        self.emulation = rpc.EmulationStub(self.channel)
        self.uart = rpc.UartStub(self.channel)
        self.network = rpc.NetworkStub(self.channel)
        self.wifi = rpc.WifiStub(self.channel)
        self.memory = rpc.MemoryStub(self.channel)
        self.events = rpc.EventsStub(self.channel)
        self.gpio = rpc.GpioStub(self.channel)

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _md(self) -> list[tuple[str, str]] | None:
        return [("authorization", f"Bearer {self.token}")] if self.token else None

    def call(self, method: Any, request: Any, timeout: float | None = None) -> Any:
        try:
            return method(request, timeout=timeout or self.timeout, metadata=self._md())
        except grpc.RpcError as e:
            raise ClientError(e.code().name, e.details() or "") from None

    def wait_ready(self, timeout: float = 10.0) -> None:
        try:
            grpc.channel_ready_future(self.channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            raise ClientError("UNAVAILABLE", f"no vboard server at {self.address}") from None

    # -------------------------------------------------------------- emulation
    def load(self, firmware: str, platform: str = "", net: str = "", forwards: list[str] | None = None,
             dns_records: list[str] | None = None, pace: str = "", base: int = 0, cmdline: str | None = None,
             host_loopback: str = "") -> Any:
        req = pb.LoadRequest(firmware=firmware, platform=platform, net=net, forwards=forwards or [],
                             dns_records=dns_records or [], pace=pace, base=base, host_loopback=host_loopback)
        if cmdline is not None:
            req.cmdline = cmdline
        return self.call(self.emulation.Load, req, timeout=300)

    def state(self) -> Any:
        return self.call(self.emulation.GetState, pb.Empty())

    def start(self) -> Any:
        return self.call(self.emulation.Start, pb.Empty())

    def pause(self) -> Any:
        return self.call(self.emulation.Pause, pb.Empty())

    def resume(self) -> Any:
        return self.call(self.emulation.Resume, pb.Empty())

    def reset(self, board: str = "") -> Any:
        return self.call(self.emulation.Reset, pb.ResetRequest(board=board))

    def run_for(self, duration: str | int | float, timeout: float | None = None) -> Any:
        return self.call(self.emulation.RunFor, pb.RunForRequest(duration_ns=duration_ns(duration)),
                         timeout=timeout or max(self.timeout, 600))

    def step(self, count: int = 1, board: str = "") -> Any:
        return self.call(self.emulation.Step, pb.StepRequest(board=board, count=count))

    def save_snapshot(self, name: str, path: str = "") -> Any:
        return self.call(self.emulation.SaveSnapshot, pb.SnapshotRequest(name=name, path=path), timeout=300)

    def load_snapshot(self, name: str, path: str = "") -> Any:
        return self.call(self.emulation.LoadSnapshot, pb.SnapshotRequest(name=name, path=path), timeout=300)

    def snapshots(self) -> Any:
        return self.call(self.emulation.ListSnapshots, pb.Empty())

    # ------------------------------------------------------------------- uart
    def uart_read(self, offset: int = 0, board: str = "", uart: str = "") -> Any:
        return self.call(self.uart.Read, pb.UartReadRequest(board=board, uart=uart, offset=offset))

    def uart_text(self, offset: int = 0, board: str = "", uart: str = "") -> str:
        return self.uart_read(offset, board, uart).data.decode("utf-8", "replace")

    def uart_write(self, data: bytes | str, board: str = "", uart: str = "") -> Any:
        if isinstance(data, str):
            data = data.encode()
        return self.call(self.uart.Write, pb.UartWriteRequest(board=board, uart=uart, data=data))

    def uart_stream(self, offset: int = 0, board: str = "", uart: str = "", from_end: bool = False,
                    timeout: float | None = None) -> Iterator[Any]:
        try:
            yield from self.uart.Stream(pb.UartStreamRequest(board=board, uart=uart, offset=offset,
                                                             from_end=from_end),
                                        timeout=timeout, metadata=self._md())
        except grpc.RpcError as e:
            if e.code() in (grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED):
                return
            raise ClientError(e.code().name, e.details() or "") from None

    def wait_for(self, pattern: str, offset: int = 0, timeout: str | int | float = "8s",
                 regex: bool = False, prompt: bool = False, board: str = "", uart: str = "",
                 wall_timeout: float | None = None) -> Any:
        req = pb.UartWaitRequest(board=board, uart=uart, pattern=pattern, regex=regex, prompt=prompt,
                                 offset=offset, timeout_ns=duration_ns(timeout))
        return self.call(self.uart.WaitFor, req, timeout=wall_timeout or max(self.timeout, 600))

    def uarts(self) -> Any:
        return self.call(self.uart.List, pb.Empty())

    # ---------------------------------------------------------------- network
    def set_link(self, port: str = "", up: bool | None = None, loss: float | None = None,
                 delay_ns: int | None = None, rate_bps: int | None = None) -> Any:
        req = pb.LinkRequest(port=port)
        if up is not None:
            req.up = up
        if loss is not None:
            req.loss = loss
        if delay_ns is not None:
            req.delay_ns = delay_ns
        if rate_bps is not None:
            req.rate_bps = rate_bps
        return self.call(self.network.SetLink, req)

    def ports(self) -> Any:
        return self.call(self.network.GetPorts, pb.Empty())

    def add_forward(self, spec: str) -> Any:
        return self.call(self.network.AddForward, pb.ForwardRequest(spec=spec))

    def add_dns_record(self, name: str, address: str) -> Any:
        return self.call(self.network.AddDnsRecord, pb.DnsRecordRequest(name=name, address=address))

    def start_capture(self, path: str) -> Any:
        return self.call(self.network.StartCapture, pb.CaptureRequest(path=str(path)))

    def stop_capture(self) -> Any:
        return self.call(self.network.StopCapture, pb.Empty())

    def inject_frame(self, frame: bytes, port: str = "") -> Any:
        return self.call(self.network.InjectFrame, pb.InjectRequest(port=port, frame=frame))

    # ------------------------------------------------------------------- wifi
    def wifi_status(self, board: str = "") -> Any:
        """The board's access points and its station (``WifiStatus``)."""
        return self.call(self.wifi.GetStatus, pb.WifiRequest(board=board))

    def add_access_point(self, ssid: str, password: str = "", rssi: int | None = None,
                         channel: int | None = None, bssid: str = "", board: str = "",
                         open_ap: bool | None = None) -> Any:
        """Add (or replace) an access point; ``open_ap`` defaults to "no password given"."""
        is_open = not password if open_ap is None else open_ap
        req = pb.AccessPointRequest(board=board, ssid=ssid, password=password, open=is_open, bssid=bssid)
        if rssi is not None:
            req.rssi = rssi
        if channel is not None:
            req.channel = channel
        return self.call(self.wifi.AddAccessPoint, req)

    def remove_access_point(self, ssid: str, board: str = "") -> Any:
        return self.call(self.wifi.RemoveAccessPoint, pb.AccessPointName(board=board, ssid=ssid))

    def set_rssi(self, rssi: int, ssid: str = "", board: str = "") -> Any:
        """Set an access point's RSSI (dBm); no SSID: the one the station is joined to."""
        return self.call(self.wifi.SetRssi, pb.RssiRequest(board=board, ssid=ssid, rssi=rssi))

    def drop_station(self, board: str = "") -> Any:
        """The access point drops the station (it stays; the module rejoins by itself)."""
        return self.call(self.wifi.DropStation, pb.WifiRequest(board=board))

    # ----------------------------------------------------------------- memory
    def gpio_set_input(self, device: str, pin: int, level: bool, board: str = "") -> Any:
        """Drive input ``pin`` of GPIO block ``device`` (a button); returns the pins' state."""
        return self.call(self.gpio.SetInput, pb.GpioInputRequest(board=board, device=device, pin=pin,
                                                                 level=level))

    def gpio_state(self, device: str, board: str = "") -> Any:
        return self.call(self.gpio.Get, pb.GpioRequest(board=board, device=device))

    def read_memory(self, address: int, size: int, board: str = "") -> bytes:
        return self.call(self.memory.Read, pb.MemoryReadRequest(board=board, address=address, size=size)).data

    def write_memory(self, address: int, data: bytes, board: str = "") -> Any:
        return self.call(self.memory.Write, pb.MemoryWriteRequest(board=board, address=address, data=data))

    def symbol(self, name: str = "", address: int = 0, board: str = "") -> Any:
        return self.call(self.memory.LookupSymbol, pb.SymbolRequest(board=board, name=name, address=address))

    # ----------------------------------------------------------------- events
    def event_stream(self, history: bool = False, timeout: float | None = None) -> Iterator[Any]:
        try:
            yield from self.events.Subscribe(pb.EventsRequest(history=history), timeout=timeout,
                                             metadata=self._md())
        except grpc.RpcError as e:
            if e.code() in (grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED):
                return
            raise ClientError(e.code().name, e.details() or "") from None
