"""The MPS2 board's own programs: AN511 builds against QEMU ``mps2-an511``, GPIO against QEMU's
read-as-zero GPIO, the GPIO pins from the host side, and the placeholders' first-access lines.

AN385 runs of watchdog, boardinit and irq47 are in test_differential.py. Here:

* every program built for the AN511 (``make -C firmware BOARD=an511``, build/an511/) gives the
  same UART0 transcript and exit code on vboard ``mps2-an511`` and on QEMU ``-M mps2-an511``,
  both equal to ``firmware/golden/an511/<name>.txt``;
* ``gpio``: QEMU 7.2 leaves the GPIO windows unimplemented (reads zero), so its transcript has
  no "gpio-model:" lines; the other lines are the same on both machines, and vboard's whole
  transcript is ``golden/[an511/]gpio.vboard.txt``;
* a button pressed by the host (``CmsdkAhbGpio.set_input``) interrupts the firmware, and its
  LED pins read from the host;
* a board init's stores to windows nothing models are logged once each, naming the function;
* the LAN9118/LAN9220 receives by interrupt with Mbed's and FreeRTOS/Zephyr's IRQ_CFG on both
  boards (eth_irq_styles), and QEMU's wiring of the pin livelocks the Mbed style.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.qemu_ref import run_on_qemu
from emulator.board.loader import load_image
from emulator.board.machine import Machine, StopReason
from emulator.board.platform import load_platform

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "firmware" / "golden"
AN511_PROGRAMS = ["hello", "nested_irq", "nvic_irqs", "threads", "sysresetreq", "fault_undef",
                  "fault_unmapped", "fault_div0", "watchdog", "boardinit", "irq47", "mpu_regions", "mpu_mbed",
                  "bitband", "mpu_small_regions"]
QEMU_ATTEMPTS = 3
BOARDS = {"mps2-an385": ("", GOLDEN), "mps2-an511": ("an511", GOLDEN / "an511")}


def run_board(platform: str, elf: Path, seconds: float = 10.0) -> tuple[Machine, StopReason, bytes]:
    m = Machine(load_platform(platform))
    out = bytearray()
    m.port("uart0").connect(out.extend)
    m.load(load_image(elf))
    stop = m.run(m.clock.cycles(seconds))
    return m, stop, bytes(out)


def elf_of(firmware: Path, platform: str, name: str) -> Path:
    return firmware / BOARDS[platform][0] / f"{name}.elf"


@pytest.mark.parametrize("name", AN511_PROGRAMS)
def test_an511_program_matches_qemu(name: str, firmware: Path, qemu: str) -> None:
    elf = elf_of(firmware, "mps2-an511", name)
    golden = (GOLDEN / "an511" / f"{name}.txt").read_bytes()
    m, stop, transcript = run_board("mps2-an511", elf)
    assert stop.kind == "exit", f"vboard: {stop.kind} {stop.message}"
    for _attempt in range(QEMU_ATTEMPTS):
        ref = run_on_qemu(elf, timeout=10.0, machine="mps2-an511")
        if ref.transcript == transcript and ref.exit_code == stop.exit_code:
            break
    assert not ref.timed_out, f"QEMU timed out on {name}"
    assert transcript == ref.transcript, f"{name}: vboard and QEMU mps2-an511 transcripts differ"
    assert stop.exit_code == ref.exit_code == 0
    assert transcript == golden, f"{name}: vboard differs from firmware/golden/an511/{name}.txt"
    assert transcript.rstrip().endswith(f"{name}: done".encode())
    if name == "watchdog":   # the AN511's system controller recorded why the board reset
        assert m.device("sysctrl").read(0x10, 4) == 0b010


def shared_lines(transcript: bytes) -> list[bytes]:
    return [line for line in transcript.splitlines() if not line.startswith(b"gpio-model:")]


@pytest.mark.parametrize("platform", sorted(BOARDS))
def test_gpio_against_qemus_unimplemented_gpio(platform: str, firmware: Path, qemu: str) -> None:
    elf = elf_of(firmware, platform, "gpio")
    golden_dir = BOARDS[platform][1]
    _m, stop, transcript = run_board(platform, elf)
    assert stop.kind == "exit" and stop.exit_code == 0, stop
    ref = run_on_qemu(elf, timeout=10.0, machine=platform)
    assert not ref.timed_out and ref.exit_code == 0
    assert ref.transcript == (golden_dir / "gpio.txt").read_bytes()
    assert b"gpio-model: none (the window reads as zero)" in ref.transcript
    assert transcript == (golden_dir / "gpio.vboard.txt").read_bytes()
    assert shared_lines(transcript) == shared_lines(ref.transcript)
    assert b"FAIL" not in transcript and transcript.count(b" ok\n") == 7


@pytest.mark.parametrize("platform", sorted(BOARDS))
def test_gpio_button_from_the_host_and_leds(platform: str, firmware: Path) -> None:
    m = Machine(load_platform(platform))
    out = bytearray()
    m.port("uart0").connect(out.extend)
    m.load(load_image(elf_of(firmware, platform, "gpio")))
    gpio1 = m.device("gpio1")
    stop = m.run(m.clock.cycles(5.0), until=lambda: b"waiting for the button" in out)
    assert stop.kind == "condition", stop
    assert gpio1.outputs() == 0x0100 and gpio1.pin(8) and not gpio1.pin(9)   # LED 0 on
    m.run(m.clock.cycles(0.010))                  # 10 ms into the 50 ms wait
    m.post(lambda: gpio1.set_input(0, True))      # the host presses the button
    stop = m.run(m.clock.cycles(5.0))
    assert stop.kind == "exit" and stop.exit_code == 0, (stop, bytes(out))
    assert bytes(out).endswith(b"gpio: button pressed\ngpio: done\n")


@pytest.mark.parametrize("platform", sorted(BOARDS))
def test_boardinit_logs_each_placeholder_once_with_its_function(platform: str, firmware: Path) -> None:
    m, stop, transcript = run_board(platform, elf_of(firmware, platform, "boardinit"))
    assert stop.kind == "exit" and stop.exit_code == 0, (stop, transcript)
    lines = [f"{r.source}: {r.message}" for r in m.board_log.records(level="warning")]
    firsts = [line for line in lines if "first access" in line]
    assert len(firsts) == 2, lines
    assert firsts[0].startswith("i2s: unimplemented device 'i2s': first access: write of 4 byte(s) at +0x4")
    assert firsts[1].startswith("apb_region_3000: unimplemented device 'CMSDK APB peripheral region "
                                "@0x40000000': first access: read of 4 byte(s) at +0x0")
    assert all("<SystemInit" in line for line in firsts)
    # The GPIO and watchdog stores reached models: nothing else was logged.
    assert len(lines) == 2, lines


def test_trng_on_an511_completes_where_qemu_hangs(firmware: Path, qemu: str) -> None:
    """Mbed OS's TZ-TRNG sequence: vboard's seeded model answers; QEMU's read-as-zero window spins."""
    elf = elf_of(firmware, "mps2-an511", "trng")
    _m, stop, transcript = run_board("mps2-an511", elf)
    assert stop.kind == "exit" and stop.exit_code == 0, (stop, transcript)
    assert transcript == (GOLDEN / "an511" / "trng.vboard.txt").read_bytes()
    assert run_board("mps2-an511", elf)[2] == transcript   # seeded: the same words every run
    ref = run_on_qemu(elf, timeout=3.0, machine="mps2-an511")
    assert ref.timed_out and ref.transcript == b"trng: start-up test, 22 EHRs\n"


def broadcast_frame(n: int) -> bytes:
    return b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x09" + b"\x88\xb5" + bytes((n + i) & 0xFF for i in range(60))


def run_eth_irq_styles(platform: str, firmware: Path, feed: tuple[str, ...] = ("mbed", "freertos-zephyr"),
                       **eth: object) -> list[str]:
    """Run eth_irq_styles, giving 3 broadcast frames (1 ms apart) to each style in ``feed``."""
    m = Machine(load_platform(platform), overrides={"eth0": eth} if eth else {})
    out = bytearray()
    m.port("uart0").connect(out.extend)
    m.load(load_image(elf_of(firmware, platform, "eth_irq_styles")))
    port = m.frame_port("eth0")
    for style in ("mbed", "freertos-zephyr"):
        ready = f"{style} ready".encode()
        stop = m.run(m.clock.cycles(2.0), until=lambda ready=ready: ready in out)
        assert stop.kind == "condition", (stop, bytes(out))
        for n in range(3 if style in feed else 0):   # one frame per millisecond of board time
            m.post(lambda n=n: port.deliver(broadcast_frame(n)))
            if not (style == "freertos-zephyr" and n == 2):   # the last frame lets the program finish
                stop = m.run(m.clock.cycles(0.001))
                assert stop.kind == "time", (stop, bytes(out))
    stop = m.run(m.clock.cycles(3.0))
    assert stop.kind == "exit" and stop.exit_code == 0, (stop, bytes(out))
    return bytes(out).decode().splitlines()


@pytest.mark.parametrize("platform", sorted(BOARDS))
def test_both_irq_cfg_styles_receive_without_livelock(platform: str, firmware: Path) -> None:
    """Mbed's IRQ_CFG (IRQ_EN only) and FreeRTOS/Zephyr's (0x22000111) on the board's wiring."""
    lines = run_eth_irq_styles(platform, firmware)
    assert "eth_irq_styles: mbed: 3 frames, 3 interrupts, 0 spurious" in lines, lines
    assert "eth_irq_styles: freertos-zephyr: 3 frames, 3 interrupts, 0 spurious" in lines, lines


def test_qemus_wiring_livelocks_the_mbed_style(firmware: Path) -> None:
    """The same program with the pin wired as QEMU wires it: Mbed's setting never lets the ISR go."""
    lines = run_eth_irq_styles("mps2-an511", firmware, feed=("freertos-zephyr",), irq_wiring="qemu")
    assert any(line.startswith("eth_irq_styles: mbed: livelock") for line in lines), lines
    assert "eth_irq_styles: freertos-zephyr: 3 frames, 3 interrupts, 0 spurious" in lines, lines
