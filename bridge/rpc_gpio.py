"""The ``Gpio`` RPC service: drive a board's GPIO input pins and read its pins.

A pin's input level is what a button or a wire outside the board drives
(``CmsdkAhbGpio.set_input``); the handler applies it on the emulation thread
(``Runtime.call``), so it is seen at a slice boundary like any host input,
and an enabled pin interrupt follows. ``Get`` reports the inputs, the pins
driving high, the pins driving at all, and the levels DATA reads.
"""

from __future__ import annotations

from typing import Any

from bridge.proto import vboard_pb2 as pb

MAX_PINS = 32


class GpioServices:
    """The ``Gpio`` service handlers; mixed into ``bridge.rpc_server.Services`` (needs ``self.rt``)."""

    rt: Any

    def _gpio(self, board: str, device: str) -> tuple[Any, Any]:
        from bridge.rpc_errors import invalid, not_found

        b = self.rt.require().board(board)
        dev = b.machine.devices.get(device)
        if dev is None:
            gpios = [n for n, d in b.machine.devices.items() if hasattr(d, "set_input")]
            raise not_found(f"no device '{device}' on board '{b.name}' (GPIO blocks: {', '.join(gpios)})")
        if not hasattr(dev, "set_input"):
            raise invalid(f"device '{device}' is not a GPIO block")
        return b, dev

    @staticmethod
    def _gpio_state(b: Any, name: str, dev: Any) -> pb.GpioState:
        return pb.GpioState(device=name, inputs=dev.inputs, outputs=dev.outputs(),
                            output_enable=dev.output_enable(), levels=dev.levels(), time_ns=b.time_ns())

    def Gpio_SetInput(self, req: pb.GpioInputRequest, ctx: Any) -> pb.GpioState:  # noqa: N802
        def apply() -> pb.GpioState:
            from bridge.rpc_errors import invalid

            b, dev = self._gpio(req.board, req.device)
            try:
                dev.set_input(req.pin, req.level)
            except ValueError as e:
                raise invalid(str(e)) from None
            return self._gpio_state(b, req.device, dev)

        return self.rt.call(apply)

    def Gpio_Get(self, req: pb.GpioRequest, ctx: Any) -> pb.GpioState:  # noqa: N802
        def read() -> pb.GpioState:
            b, dev = self._gpio(req.board, req.device)
            return self._gpio_state(b, req.device, dev)

        return self.rt.call(read)
