"""The Gpio RPC service: a button pressed through gRPC interrupts the gpio firmware; pins read back.

Runs firmware/tests/gpio.c under ``bridge.rpc_server`` on loopback: once the program waits for
its button (GPIO1 pin 0, rising edge), ``Gpio.SetInput`` drives the pin and the program prints
"button pressed". ``Gpio.Get`` shows its LED (GPIO1 pin 8) driving high. Bad requests get
NOT_FOUND / INVALID_ARGUMENT with a message.
"""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from bridge.proto import vboard_pb2 as pb
from bridge.proto import vboard_pb2_grpc as rpc
from bridge.rpc_runtime import Runtime
from bridge.rpc_server import RpcServer

T = 30.0


@pytest.fixture
def stubs():  # noqa: ANN201
    srv = RpcServer(Runtime(), "127.0.0.1", 0).start()
    channel = grpc.insecure_channel(f"127.0.0.1:{srv.port}")
    yield rpc.EmulationStub(channel), rpc.UartStub(channel), rpc.GpioStub(channel)
    channel.close()
    srv.stop()


def test_button_and_led_through_rpc(stubs, firmware: Path) -> None:  # noqa: ANN001
    emu, uart, gpio = stubs
    emu.Load(pb.LoadRequest(firmware=str(firmware / "gpio.elf")), timeout=T)
    r = uart.WaitFor(pb.UartWaitRequest(pattern="gpio: waiting for the button", timeout_ns=2 * 10**9),
                     timeout=T)
    assert r.matched, r
    st = gpio.Get(pb.GpioRequest(device="gpio1"), timeout=T)
    assert st.outputs == 0x0100 and st.output_enable == 0x0300 and st.levels & 0x0100
    st = gpio.SetInput(pb.GpioInputRequest(device="gpio1", pin=0, level=True), timeout=T)
    assert st.inputs == 1 and st.levels & 1
    r = uart.WaitFor(pb.UartWaitRequest(pattern="gpio: done", timeout_ns=2 * 10**9), timeout=T)
    assert r.matched
    text = uart.Read(pb.UartReadRequest(), timeout=T).data
    assert b"gpio: button pressed\n" in text and b"no button" not in text


def test_bad_gpio_requests(stubs, firmware: Path) -> None:  # noqa: ANN001
    emu, _uart, gpio = stubs
    with pytest.raises(grpc.RpcError) as ei:
        gpio.Get(pb.GpioRequest(device="gpio0"), timeout=T)
    assert ei.value.code() == grpc.StatusCode.FAILED_PRECONDITION   # nothing loaded
    emu.Load(pb.LoadRequest(firmware=str(firmware / "hello.elf")), timeout=T)
    for req, code, words in [
        (pb.GpioInputRequest(device="gpio9", pin=0, level=True), grpc.StatusCode.NOT_FOUND, "gpio0, gpio1"),
        (pb.GpioInputRequest(device="uart0", pin=0, level=True), grpc.StatusCode.INVALID_ARGUMENT,
         "not a GPIO block"),
        (pb.GpioInputRequest(device="gpio0", pin=16, level=True), grpc.StatusCode.INVALID_ARGUMENT,
         "out of range"),
    ]:
        with pytest.raises(grpc.RpcError) as ei:
            gpio.SetInput(req, timeout=T)
        assert ei.value.code() == code and words in ei.value.details(), ei.value.details()
