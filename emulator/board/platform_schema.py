"""The schema of a board description (pydantic), and what one key's type cannot say.

Imported by ``emulator.board.platform`` only when a file is validated (pydantic takes a tenth of
the CPU time of a ``vboard run`` start to import and build); the rules are listed in
``emulator.board.platform``'s docstring.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from emulator.board.yamlfile import Key, key_path

# Below 1 kHz a run makes no progress worth having (and a 10 ms slice is not one cycle at 50 Hz).
MIN_CLOCK_HZ = 1_000
MAX_CLOCK_HZ = 1_000_000_000
Address = Annotated[StrictInt, Field(ge=0, le=0xFFFF_FFFF)]
Name = Annotated[StrictStr, Field(min_length=1, max_length=64)]
PAGE = 0x1000
SPACE = 1 << 32
# The CPU's own system region (PPB: SCS at 0xE000E000, DWT, ...; vendor space above): no memory here.
CPU_REGION = (0xE000_0000, SPACE, "the CPU's system region (SCS, DWT) 0xE0000000-0xFFFFFFFF")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class CpuSpec(_Strict):
    model: Literal["cortex-m3"]
    clock_hz: Annotated[StrictInt, Field(ge=MIN_CLOCK_HZ, le=MAX_CLOCK_HZ)]
    num_irq: Annotated[StrictInt, Field(ge=1, le=496)] = 32  # 496: the ARMv7-M NVIC's limit
    priority_bits: Annotated[StrictInt, Field(ge=2, le=8)] = 8


class MemorySpec(_Strict):
    name: Name
    base: Address
    size: Annotated[StrictInt, Field(ge=PAGE, le=SPACE)]
    exec: StrictBool = True
    aliases: list[Address] = []


class DeviceEntry(_Strict):
    name: Name
    model: Annotated[StrictStr, Field(min_length=1, max_length=256)]
    base: Address | None = None
    irqs: dict[StrictStr, Annotated[StrictInt, Field(ge=0, le=495)] | Literal["nmi"]] = {}
    settings: dict[StrictStr, Any] = {}


class PlatformSpec(_Strict):
    name: Name
    description: Annotated[StrictStr, Field(max_length=4096)] = ""
    cpu: CpuSpec
    memory: Annotated[list[MemorySpec], Field(min_length=1, max_length=256)]
    devices: Annotated[list[DeviceEntry], Field(max_length=1024)]
    # The UARTs whose output `vboard run` sends to stdout by default (stdin goes to the first);
    # omitted: uart0 when the board has one.
    console: Annotated[list[Name], Field(max_length=8)] | None = None


def check_spec(spec: PlatformSpec, fail: Callable[[Key, str], Exception],
               check_model: Callable[[int, str], None]) -> None:
    """What one key's type cannot say: alignment, overlaps, the 4 GiB space, IRQ wiring, names;
    ``check_model(i, model)`` raises if device ``i`` may not name ``model``."""
    windows: list[tuple[int, int, Key]] = []
    for i, m in enumerate(spec.memory):
        for j, base in enumerate([m.base, *m.aliases]):
            key: Key = ("memory", i, "base") if j == 0 else ("memory", i, "aliases", j - 1)
            if base % PAGE or m.size % PAGE:
                raise fail(key, f"expected 4 KiB-aligned address and size, got 0x{base:X} / 0x{m.size:X}")
            if base + m.size > SPACE:
                raise fail(key, f"0x{base:X} + size 0x{m.size:X} ends past the 4 GiB address space")
            if base < CPU_REGION[1] and CPU_REGION[0] < base + m.size:
                raise fail(key, f"0x{base:08X} (0x{m.size:X} bytes) overlaps {CPU_REGION[2]}")
            windows.append((base, base + m.size, key))
    windows.sort()
    for (_b1, e1, k1), (b2, _e2, k2) in zip(windows, windows[1:], strict=False):
        if b2 < e1:
            raise fail(k2, f"overlaps {key_path(k1[:2])} at 0x{b2:08X}")
    names: set[str] = set()
    for i, d in enumerate(spec.devices):
        if d.name in names:
            raise fail(("devices", i, "name"), f"duplicate device name '{d.name}'")
        names.add(d.name)
        for line, irq in d.irqs.items():
            if irq != "nmi" and irq >= spec.cpu.num_irq:
                raise fail(("devices", i, "irqs", line), f"expected an IRQ number below "
                           f"{spec.cpu.num_irq} (cpu.num_irq) or 'nmi', got {irq}")
        check_model(i, d.model)
    for i, uart in enumerate(spec.console or []):
        if uart not in names:
            raise fail(("console", i), f"expected the name of a device of this board, got '{uart}'")
