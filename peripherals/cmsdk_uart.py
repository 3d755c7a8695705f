"""ARM CMSDK APB UART (Cortex-M System Design Kit TRM, ARM DDI0479C §4.3).

Behaviour follows QEMU's ``hw/char/cmsdk-apb-uart.c`` (the reference machine
for the MPS2-AN385 board), with receive timing added in virtual time.

Transmit: a DATA write with CTRL.TX_EN sends the byte at once on the
``serial`` byte port; STATE.TXFULL goes 1 -> 0 in the same access and that
edge latches INTSTATUS.TX when CTRL.TX_INTEN is set (until INTCLEAR).
Zephyr's ``uart_cmsdk_apb.c`` relies on this edge ("prime" the ISR in
``irq_tx_enable``, INTCLEAR=TX before each DATA write); the FreeRTOS demos
write DATA back to back without polling, which works because TXFULL drops at
once. With TX_EN clear the byte is held (TXFULL stays 1) and a further DATA
write sets STATE.TXOVERRUN and replaces the held byte, as in QEMU.

Receive: bytes the world delivers (``ports["serial"].deliver``) are queued
in the model and land in the receive buffer (setting RXFULL, and
INTSTATUS.RX when RX_INTEN) one character time apart (10 bits at
PCLK/BAUDDIV, PCLK = ``clock.hz``; 115200 baud while BAUDDIV < 16): the
first at once when the line was idle, each next one a character time after
the previous one landed. A byte whose time comes while RXFULL is set (the
firmware has not read DATA yet) or RX_EN is clear waits, as if held in the
receive shift register with the sender stopped, and lands when DATA is read
(or RX_EN set). That is the backpressure: nothing is lost however fast the
world sends, and a firmware that keeps up sees the exact wire rate. The next
landing is scheduled when a byte lands, not when DATA is read, so reading
DATA schedules no event. With CTRL.RX_INTEN clear nothing but STATE and DATA
can tell when a byte landed, so no event is scheduled at all: the landing is
computed when they are read (a polling firmware costs no event per byte).
Setting ``rx_overrun=True`` models a real wire
instead: queued bytes land one character time apart whatever the firmware
does; a byte that lands while RXFULL sets STATE.RXOVERRUN and replaces the
buffered one (QEMU's choice), a byte that lands while RX_EN is clear is lost.

Interrupts: INTSTATUS.TX/RX are latched, TXO/RXO are the level
``STATE.xxOVERRUN & CTRL.xxO_INTEN``; writing 1 to INTCLEAR.TXO/RXO also
clears the STATE overrun bit (QEMU). Outputs: tx, rx, txovr, rxovr and
combined (OR of INTSTATUS); the AN385 platform ORs txovr/rxovr of UART0-2
into IRQ 12 and leaves combined unconnected.

Fast reads: STATE is answered by native code from the stored value while no
received byte is queued (``hold_fast_reads`` while ``_rxq`` is not empty: a
STATE read may then land one); CTRL, BAUDDIV and the ID registers always.

Choices where DDI0479 is silent or QEMU differs:
* Reading DATA does not clear INTSTATUS.RX (only INTCLEAR does), as QEMU.
* Setting TX_EN while a byte is held sends it (QEMU leaves it stuck).
* DATA reads return the last received byte even when RXFULL is clear.

Not modelled: HSTEST (high-speed test mode, logged once), transmit timing
(TX is instant: the peer on the serial port paces the bytes, e.g. the
ESP8266 model's wire at its baud rate), framing/parity, a baud mismatch
between the two ends (BAUDDIV only sets the receive pacing).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from emulator.bus.device import Device
from emulator.bus.regs import RO, W1C, F, Reg, RegMap
from emulator.clock import Clock, Timer
from peripherals._common import id_regs

__all__ = ["CmsdkApbUart"]

# STATE
TXFULL, RXFULL, TXOVERRUN, RXOVERRUN = 1 << 0, 1 << 1, 1 << 2, 1 << 3
# CTRL
TX_EN, RX_EN, TX_INTEN, RX_INTEN, TXO_INTEN, RXO_INTEN, HSTEST = (1 << i for i in range(7))
# INTSTATUS
INT_TX, INT_RX, INT_TXO, INT_RXO = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_OVR = INT_TXO | INT_RXO

DEFAULT_BAUD = 115200
BITS_PER_CHAR = 10


def _data_read(dev: CmsdkApbUart) -> int:
    return dev._rx_pop()


def _state_read(dev: CmsdkApbUart) -> int:
    state = dev.r[dev._i_state]
    if dev._rxq and dev._rx_timer is None and not state & RXFULL:
        dev._rx_kick()  # a byte due by now lands (landings computed on read)
        state = dev.r[dev._i_state]
    return state


def _data_write(dev: CmsdkApbUart, value: int) -> None:
    dev._tx_push(value & 0xFF)


def _state_written(dev: CmsdkApbUart, old: int, value: int) -> None:
    dev._update_irq()


def _ctrl_written(dev: CmsdkApbUart, old: int, value: int) -> None:
    dev._ctrl_changed(old)


def _intstatus_read(dev: CmsdkApbUart) -> int:
    # TX/RX are latched in the stored value; TXO/RXO are a level from STATE & CTRL.
    r = dev.r
    return (r[dev._i_int] & (INT_TX | INT_RX)) | (r[dev._i_state] & (r[dev._i_ctrl] >> 2) & _OVR)


def _intclear_written(dev: CmsdkApbUart, old: int, value: int) -> None:
    # The stored TXO/RXO bits mirror STATE's overrun bits (see _update_irq), so
    # the W1C store (lane-exact) tells which overrun bits the firmware cleared.
    cleared = old & ~dev.r[dev._i_int] & _OVR
    dev.r[dev._i_state] &= ~cleared
    dev._update_irq()


class CmsdkApbUart(Device):
    """ARM CMSDK APB UART (DDI0479C §4.3). Not modelled: HSTEST, TX timing."""

    SIZE = 0x1000
    IRQS = ("tx", "rx", "txovr", "rxovr", "combined")
    BYTE_PORTS = ("serial",)
    STATE_VERSION = 2
    REGS = RegMap(
        Reg(0x000, "DATA", sizes=(1, 4), read=_data_read, write=_data_write,
            fields=[F("DATA", 0, 8)], doc="write: TX byte; read: RX byte, clears RXFULL"),
        Reg(0x004, "STATE", read=_state_read, fast_read=True, after_write=_state_written,
            fields=[F("TXFULL", 0, access=RO), F("RXFULL", 1, access=RO),
                    F("TXOVERRUN", 2, access=W1C), F("RXOVERRUN", 3, access=W1C)]),
        Reg(0x008, "CTRL", fields=[F("TX_EN", 0), F("RX_EN", 1), F("TX_INTEN", 2), F("RX_INTEN", 3),
                                   F("TXO_INTEN", 4), F("RXO_INTEN", 5), F("HSTEST", 6)],
            after_write=_ctrl_written),
        Reg(0x00C, "INTSTATUS", read=_intstatus_read, after_write=_intclear_written,
            fields=[F("TX", 0, access=W1C), F("RX", 1, access=W1C), F("TXO", 2, access=W1C),
                    F("RXO", 3, access=W1C)], doc="read: INTSTATUS; write: INTCLEAR (W1C)"),
        Reg(0x010, "BAUDDIV", fields=[F("BAUDDIV", 0, 20)]),
        *id_regs(0x21),
    )

    def __init__(self, name: str, clock: Clock, *, rx_overrun: bool = False, **settings: Any) -> None:
        super().__init__(name, clock, **settings)
        self.rx_overrun = bool(rx_overrun)
        regs = self.REGS
        self._i_state = regs["STATE"].index
        self._i_ctrl = regs["CTRL"].index
        self._i_int = regs["INTSTATUS"].index
        self._i_baud = regs["BAUDDIV"].index
        self._port = self.ports["serial"]
        self._port.on_receive = self._receive
        self._txbuf = 0
        self._rxbuf = 0
        self._rxq: deque[int] = deque()
        self._rx_next_at = 0  # the wire's next character boundary
        self._rx_free_at = 0  # when the receive buffer last became free (DATA read, RX_EN set)
        self._rx_timer: Timer | None = None
        self._rx_deadline: int | None = None
        self._irq_status = -1  # the status _update_irq last drove (-1: drive all lines)
        self.reset()

    # -- reset --------------------------------------------------------------
    def reset(self) -> None:
        super().reset()
        self._txbuf = 0
        self._rxbuf = 0
        self._rxq.clear()
        self.hold_fast_reads(False)
        self._rx_next_at = 0
        self._rx_free_at = 0
        self._cancel_rx_timer()
        self._irq_status = -1
        self._update_irq()

    # -- interrupts ------------------------------------------------------------
    def _update_irq(self) -> None:
        r = self.r
        state = r[self._i_state]
        # Keep the stored TXO/RXO bits equal to STATE's overrun bits (see _intclear_written).
        r[self._i_int] = (r[self._i_int] & (INT_TX | INT_RX)) | (state & _OVR)
        status = (r[self._i_int] & (INT_TX | INT_RX)) | (state & (r[self._i_ctrl] >> 2) & _OVR)
        if status == self._irq_status:
            return  # the lines already show it (a hot path: every DATA access)
        self._irq_status = status
        irq = self.irq
        irq["tx"].set(status & INT_TX)
        irq["rx"].set(status & INT_RX)
        irq["txovr"].set(status & INT_TXO)
        irq["rxovr"].set(status & INT_RXO)
        irq["combined"].set(status)

    # -- timing ------------------------------------------------------------------
    def char_time(self) -> int:
        """Cycles per character (10 bits) at the BAUDDIV baud rate."""
        div = self.r[self._i_baud]
        if div >= 16:
            return BITS_PER_CHAR * div  # baud = PCLK / div, PCLK = clock.hz
        return round(BITS_PER_CHAR * self.clock.hz / DEFAULT_BAUD)

    # -- transmit ----------------------------------------------------------------
    def _tx_push(self, byte: int) -> None:
        r = self.r
        self._txbuf = byte
        if r[self._i_state] & TXFULL:
            r[self._i_state] |= TXOVERRUN
            self._update_irq()
            return
        r[self._i_state] |= TXFULL
        self._transmit()

    def _transmit(self) -> None:
        r = self.r
        if not (r[self._i_ctrl] & TX_EN) or not (r[self._i_state] & TXFULL):
            return
        self._port.send(bytes((self._txbuf,)))
        r[self._i_state] &= ~TXFULL
        # Going from TXFULL set to clear is the TX interrupt (an edge, latched).
        # (TXFULL itself drives no line: without TX_INTEN the lines stay as they are.)
        if r[self._i_ctrl] & TX_INTEN:
            r[self._i_int] |= INT_TX
            self._update_irq()

    def _ctrl_changed(self, old: int) -> None:
        ctrl = self.r[self._i_ctrl]
        if ctrl & RX_EN and not old & RX_EN:
            self._rx_free_at = self.clock.now
        if (ctrl ^ old) & RX_INTEN:
            # Landings switch between events and computed-on-read; a pending
            # event stays valid (it re-checks), a missing one is scheduled below.
            self._rx_land_due(old)
        if ctrl & HSTEST:
            self.unimplemented("CTRL.HSTEST (high-speed test mode)")
        if ctrl & TX_EN and not old & TX_EN and self.r[self._i_baud] < 16:
            self.guest_error("TX enabled with BAUDDIV < 16 (invalid baud rate)")
        self._transmit()
        self._update_irq()
        self._rx_kick()

    # -- receive -------------------------------------------------------------------
    def _receive(self, data: bytes) -> None:
        """World -> device: queue bytes; they land at the model's pace."""
        if not self._rxq:
            # An idle wire: the first byte starts now, the rest follow back to back.
            self._rx_next_at = max(self._rx_next_at, self.clock.now)
        self._rxq.extend(data)
        self.hold_fast_reads(bool(self._rxq))
        self._rx_kick()

    def _rx_pop(self) -> int:
        r = self.r
        if self._rxq and self._rx_timer is None and not r[self._i_state] & RXFULL:
            self._rx_kick()  # computed on read: a byte due by now is in the buffer
        byte = self._rxbuf
        if r[self._i_state] & RXFULL:
            r[self._i_state] &= ~RXFULL  # drives no line: INTSTATUS.RX stays until INTCLEAR
            self._rx_free_at = now = self.clock.now
            if self._rxq and self._rx_timer is None and (self._rx_next_at <= now or not self._rx_lazy()):
                self._rx_kick()  # a byte that waited for the buffer lands now
        return byte

    def _rx_lazy(self) -> bool:
        """Landings are computed on read: RX_INTEN clear, backpressure mode."""
        return not self.rx_overrun and not self.r[self._i_ctrl] & RX_INTEN

    def _rx_land_due(self, old_ctrl: int) -> None:
        """Before RX_INTEN changes: land what was due under the old setting."""
        if self._rx_timer is None and self._rxq and not self.rx_overrun and not old_ctrl & RX_INTEN:
            saved = self.r[self._i_ctrl]
            self.r[self._i_ctrl] = old_ctrl
            try:
                self._rx_kick()
            finally:
                self.r[self._i_ctrl] = saved

    def _rx_blocked(self) -> bool:
        if self.rx_overrun:
            return False
        r = self.r
        return not (r[self._i_ctrl] & RX_EN) or bool(r[self._i_state] & RXFULL)

    def _rx_kick(self) -> None:
        """Land queued bytes that are due now and schedule the next one."""
        now = self.clock.now
        while self._rxq and self._rx_timer is None:
            blocked = self._rx_blocked()
            # On the wire's grid, or as the buffer became free if the byte had to wait.
            # While the buffer is full the event stays on the grid: it lands the byte
            # if the firmware has read DATA by then, else the DATA read lands it.
            when = self._rx_next_at if blocked or self.rx_overrun else max(self._rx_next_at, self._rx_free_at)
            if when > now:
                if self._rx_lazy():
                    return  # computed when STATE or DATA is read
                self._rx_deadline = when
                self._rx_timer = self.clock.call_at(when, self._rx_event, f"{self.name}.rx")
                return
            if blocked:
                return
            self._rx_land(when)

    def _rx_event(self) -> None:
        when = self._rx_deadline if self._rx_deadline is not None else self.clock.now
        self._rx_timer = None
        self._rx_deadline = None
        if self._rxq and not self._rx_blocked():
            self._rx_land(when)
        self._rx_kick()

    def _rx_land(self, when: int) -> None:
        r = self.r
        byte = self._rxq.popleft()
        if not self._rxq:
            self.hold_fast_reads(False)
        self._rx_next_at = when + self.char_time()
        if not r[self._i_ctrl] & RX_EN:
            if self.trace:
                self.log.debug("rx byte 0x%02X lost: RX_EN clear", byte)
            return
        state = r[self._i_state]
        self._rxbuf = byte
        r[self._i_state] = state | RXFULL | (RXOVERRUN if state & RXFULL else 0)
        if r[self._i_ctrl] & RX_INTEN:
            r[self._i_int] |= INT_RX
            self._update_irq()
        elif state & RXFULL:
            self._update_irq()  # the overrun level

    def _cancel_rx_timer(self) -> None:
        if self._rx_timer is not None:
            self._rx_timer.cancel()
        self._rx_timer = None
        self._rx_deadline = None

    @property
    def rx_pending(self) -> int:
        """Bytes delivered by the world and not yet in the receive buffer."""
        return len(self._rxq)

    # -- snapshots -------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state.update(txbuf=self._txbuf, rxbuf=self._rxbuf, rxq=list(self._rxq),
                     rx_next_at=self._rx_next_at, rx_free_at=self._rx_free_at,
                     rx_deadline=self._rx_deadline)
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self._txbuf = state["txbuf"]
        self._rxbuf = state["rxbuf"]
        self._rxq = deque(state["rxq"])
        self.hold_fast_reads(bool(self._rxq))
        self._rx_next_at = state["rx_next_at"]
        self._rx_free_at = state["rx_free_at"]
        self._cancel_rx_timer()
        if state["rx_deadline"] is not None:
            self._rx_deadline = state["rx_deadline"]
            self._rx_timer = self.clock.call_at(self._rx_deadline, self._rx_event, f"{self.name}.rx")
        self._irq_status = -1
        self._update_irq()
