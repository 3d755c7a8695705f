"""Arm TrustZone True Random Number Generator (TZ-TRNG, the CryptoCell RNG block), as the
MPS2 AN511 (Mbed OS target ARM_CM3DS_MPS2) carries it at 0x4000F000, IRQ 44.

Register offsets are those of the TZ-TRNG host driver Mbed OS ships for the
board (``dx_rng.h``): RNG_IMR 0x100, RNG_ISR 0x104, RNG_ICR 0x108, TRNG_CONFIG
0x10C, TRNG_VALID 0x110, EHR_DATA_0..5 0x114-0x128, RND_SOURCE_ENABLE 0x12C,
SAMPLE_CNT1 0x130, AUTOCORR_STATISTIC 0x134, TRNG_DEBUG_CONTROL 0x138,
RNG_SW_RESET 0x140, RNG_BUSY 0x1B8, RST_BITS_COUNTER 0x1BC, RNG_BIST_CNTR_0..2
0x1E0-0x1E8. QEMU 7.2 leaves this window to a read-as-zero placeholder, and
Mbed OS then spins for ever in the driver's first loop, which writes
SAMPLE_CNT1 until it reads back (lwIP seeds its random numbers from here).

Modelled:
* SAMPLE_CNT1 (reset 0xFFFF), TRNG_CONFIG, TRNG_DEBUG_CONTROL, RNG_IMR (reset
  0xF: all masked), AUTOCORR_STATISTIC read back as written.
* Setting RND_SOURCE_ENABLE starts filling the 192-bit EHR: one bit per
  SAMPLE_CNT1 oscillator cycles, the oscillator counted at the board clock,
  so the EHR is ready 192 * SAMPLE_CNT1 cycles later (RNG_BUSY reads 1 in
  between). Then RNG_ISR.EHR_VALID and TRNG_VALID are set and EHR_DATA_0..5
  hold six words. Reading EHR_DATA_5 (the last word) empties the EHR; with the
  source still enabled the next 192 bits start at once. Clearing
  RND_SOURCE_ENABLE stops collection (the EHR keeps what it holds).
* The words come from a seeded generator (SplitMix64 of the ``seed`` setting),
  so every run of a firmware sees the same "entropy": determinism over
  unpredictability, on purpose. The generator is not rewound by resets, so a
  firmware rebooting by watchdog sees fresh words, the same ones every run.
  They pass the driver's repetition-count and adaptive-proportion tests.
* RNG_ICR (W1C) clears RNG_ISR bits; the IRQ output is RNG_ISR & ~RNG_IMR.
* RNG_SW_RESET (write 1) restores every register and stops collection.

Not modelled (never raised): the autocorrelation, CRNGT and Von Neumann
error interrupts, the BIST counters (read 0), RST_BITS_COUNTER.
"""

from __future__ import annotations

from typing import Any

from emulator.bus.device import Device
from emulator.bus.regs import RO, WO, F, Reg, RegMap
from emulator.clock import Clock
from peripherals._common import ClockEvent, ro_write

__all__ = ["TzTrng"]

MASK64 = (1 << 64) - 1
EHR_WORDS = 6
EHR_BITS = 32 * EHR_WORDS
EHR_VALID = 1 << 0
ISR_BITS = 0xF
EHR0 = 0x114


def _splitmix64(state: int) -> tuple[int, int]:
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def _after_imr(dev: TzTrng, old: int, value: int) -> None:
    dev._update_irq()


def _isr_read(dev: TzTrng) -> int:
    return dev.isr


def _icr_write(dev: TzTrng, value: int) -> None:
    dev.isr &= ~value & ISR_BITS
    dev._update_irq()


def _valid_read(dev: TzTrng) -> int:
    return 1 if dev.ehr_valid else 0


def _ehr_reader(i: int):  # noqa: ANN202 - a small hook factory
    def read(dev: TzTrng) -> int:
        return dev._ehr_word(i)
    return read


def _source_written(dev: TzTrng, old: int, value: int) -> None:
    dev._source(bool(value & 1))


def _busy_read(dev: TzTrng) -> int:
    return 1 if dev._event.armed else 0


def _sw_reset_write(dev: TzTrng, value: int) -> None:
    if value & 1:
        dev.reset()


class TzTrng(Device):
    """Arm TZ-TRNG (CryptoCell RNG block): seeded, deterministic entropy; IRQ on EHR valid."""

    SIZE = 0x1000
    IRQS = ("irq",)
    STATE_VERSION = 1
    REGS = RegMap(
        Reg(0x100, "RNG_IMR", reset=0xF, after_write=_after_imr,
            fields=[F("EHR_VALID_INT_MASK", 0, reset=1), F("AUTOCORR_ERR_INT_MASK", 1, reset=1),
                    F("CRNGT_ERR_INT_MASK", 2, reset=1), F("VN_ERR_INT_MASK", 3, reset=1)]),
        Reg(0x104, "RNG_ISR", access=RO, read=_isr_read, write=ro_write,
            fields=[F("EHR_VALID", 0, access=RO), F("AUTOCORR_ERR", 1, access=RO),
                    F("CRNGT_ERR", 2, access=RO), F("VN_ERR", 3, access=RO)]),
        Reg(0x108, "RNG_ICR", access=WO, write=_icr_write),
        Reg(0x10C, "TRNG_CONFIG", fields=[F("RND_SRC_SEL", 0, 2)]),
        Reg(0x110, "TRNG_VALID", access=RO, read=_valid_read, write=ro_write,
            fields=[F("VALUE", 0, access=RO)]),
        *(Reg(EHR0 + 4 * i, f"EHR_DATA_{i}", access=RO, read=_ehr_reader(i), write=ro_write)
          for i in range(EHR_WORDS)),
        Reg(0x12C, "RND_SOURCE_ENABLE", after_write=_source_written, fields=[F("VALUE", 0)]),
        Reg(0x130, "SAMPLE_CNT1", reset=0xFFFF),
        Reg(0x134, "AUTOCORR_STATISTIC", fields=[F("AUTOCORR_TRYS", 0, 14), F("AUTOCORR_FAILS", 14, 8)]),
        Reg(0x138, "TRNG_DEBUG_CONTROL",
            fields=[F("VNC_BYPASS", 1), F("TRNG_CRNGT_BYPASS", 2), F("AUTO_CORRELATE_BYPASS", 3)]),
        Reg(0x140, "RNG_SW_RESET", access=WO, write=_sw_reset_write),
        Reg(0x1B8, "RNG_BUSY", access=RO, read=_busy_read, write=ro_write),
        Reg(0x1BC, "RST_BITS_COUNTER", access=WO),
        *(Reg(0x1E0 + 4 * i, f"RNG_BIST_CNTR_{i}", access=RO, write=ro_write) for i in range(3)),
    )

    def __init__(self, name: str, clock: Clock, *, seed: int = 0x5EED_7286, **settings: Any) -> None:
        super().__init__(name, clock, **settings)
        self._rng = int(seed) & MASK64
        self._event = ClockEvent(clock, f"{self.name}.ehr", self._filled)
        self.ehr = [0] * EHR_WORDS
        self.reset()

    def reset(self) -> None:
        super().reset()
        self._cancel()
        self.isr = 0
        self.ehr_valid = False
        self.ehr = [0] * EHR_WORDS
        self._update_irq()

    def _update_irq(self) -> None:
        self.irq["irq"].set(self.isr & ~self.get("RNG_IMR") & ISR_BITS)

    # -- collection -------------------------------------------------------------------
    def _cancel(self) -> None:
        self._event.cancel()

    def _source(self, on: bool) -> None:
        if not on:
            self._cancel()
        elif not self._event.armed and not self.ehr_valid:
            self._start()

    def _start(self) -> None:
        self._event.schedule(self.clock.now + EHR_BITS * max(1, self.get("SAMPLE_CNT1")))

    def _filled(self, when: int) -> None:
        words = []
        for _ in range(EHR_WORDS // 2):
            self._rng, z = _splitmix64(self._rng)
            words += [z & 0xFFFF_FFFF, z >> 32]
        self.ehr = words
        self.ehr_valid = True
        self.isr |= EHR_VALID
        self._update_irq()

    def _ehr_word(self, i: int) -> int:
        value = self.ehr[i] if self.ehr_valid else 0
        if i == EHR_WORDS - 1 and self.ehr_valid:
            self.ehr_valid = False
            if self.get("RND_SOURCE_ENABLE") & 1:
                self._start()
        return value

    # -- snapshots ----------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state.update(rng=self._rng, isr=self.isr, ehr=list(self.ehr), ehr_valid=self.ehr_valid,
                     deadline=self._event.deadline)
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self._cancel()
        self._rng, self.isr, self.ehr = state["rng"], state["isr"], list(state["ehr"])
        self.ehr_valid = state["ehr_valid"]
        if state["deadline"] is not None:
            self._event.schedule(state["deadline"])
        self._update_irq()
