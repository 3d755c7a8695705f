"""Board descriptions (YAML): parsed and validated into a ``Platform``.

One typed schema (pydantic, ``PlatformSpec``) checks the file, read by
``emulator.board.yamlfile`` (duplicate keys, binary files and oversized files
refused); then what one key cannot say: 4 KiB alignment, the 4 GiB space,
overlaps between regions and with the CPU's own system region, IRQ numbers
below ``cpu.num_irq``. Every error is one ``PlatformError`` line naming the
file, the line, the key path and what was expected, e.g. ``mps2.yaml:14:
devices[3].base: expected an integer, got 'oops'``. Device models are named by import path
(``peripherals.cmsdk_uart:CmsdkApbUart``) or by a file path
(``./my_models/widget.py:Widget``, relative to the platform file).

A ``LoadPolicy`` bounds what a file may name when it comes from someone
else (``vboard serve``'s clients): files only under a root folder, device
models only from modules of installed distributions (no ``.py`` files).
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from emulator.board.yamlfile import Key, M, YamlError, key_path, line_of, read_yaml, validate

# ``irqs: {line: nmi}`` wires a device output to the NMI input (CMSIS numbers it -14).
NMI_IRQN = -14
# Below 1 kHz a run makes no progress worth having (and a 10 ms slice is not one cycle at 50 Hz).
MIN_CLOCK_HZ = 1_000
MAX_CLOCK_HZ = 1_000_000_000
PLATFORM_DIRS = [Path(__file__).resolve().parents[2] / "platforms"]


class PlatformError(Exception):
    """A board description that cannot be used; the message says file, key and problem."""


class OutsideRoot(PlatformError):
    """A file named outside the root folder a ``LoadPolicy`` allows."""


@dataclass(frozen=True)
class LoadPolicy:
    """What a platform or simulation file may name. The default trusts the local user."""

    root: Path | None = None        # files only under this folder (None: anywhere)
    allow_model_files: bool = True  # ``path/file.py:Class`` models (else: installed modules only)

    def path(self, name: str | Path, what: str) -> Path:
        """``name`` (relative to the root) as a resolved path, or a PlatformError if outside it."""
        if self.root is None:
            return Path(name)
        root = self.root.resolve()
        p = (root / name).resolve()
        if not p.is_relative_to(root):
            raise OutsideRoot(f"{what} '{str(name)[:80]}': outside the server's root folder {root} "
                                "(send paths below it)")
        return p

    def check_model(self, model: str, where: str) -> None:
        if self.allow_model_files:
            return
        module = model.rpartition(":")[0]
        top = module.split(".")[0]
        if module.endswith(".py") or "/" in module or top not in _installed_top_level():
            raise PlatformError(f"{where}: model '{model[:80]}': expected a module of an installed package "
                                "(model files need a server started with --allow-model-files)")


TRUSTED = LoadPolicy()


@functools.cache
def _installed_top_level() -> frozenset[str]:
    """Top-level module names of the installed distributions (computed once: it reads every RECORD)."""
    from importlib.metadata import packages_distributions

    return frozenset(packages_distributions())


@dataclass
class MemoryRegion:
    name: str
    base: int
    size: int
    executable: bool = True
    aliases: list[int] = field(default_factory=list)


@dataclass
class DeviceSpec:
    name: str
    model: str
    base: int | None
    irqs: dict[str, int] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class Platform:
    name: str
    path: Path
    description: str = ""
    cpu_model: str = "cortex-m3"
    clock_hz: int = 25_000_000
    num_irq: int = 32
    priority_bits: int = 8
    console: list[str] = field(default_factory=list)
    memory: list[MemoryRegion] = field(default_factory=list)
    devices: list[DeviceSpec] = field(default_factory=list)


def find_platform(name_or_path: str, policy: LoadPolicy = TRUSTED) -> Path:
    """A platform file by path, or by board name in ``platforms/``."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or "/" in name_or_path or (policy.root is None and p.exists()):
        p = policy.path(name_or_path, "platform")
        if not p.is_file():
            raise PlatformError(f"{p}: no such platform file")
        return p
    for d in PLATFORM_DIRS:
        cand = d / f"{name_or_path}.yaml"
        if cand.is_file():
            return cand
    known = sorted(x.stem for d in PLATFORM_DIRS for x in d.glob("*.yaml"))
    raise PlatformError(f"unknown platform '{name_or_path}' (known: {', '.join(known)})")


# ----------------------------------------------------------------- the schema
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


def _check(spec: PlatformSpec, fail: Callable[[Key, str], PlatformError], policy: LoadPolicy,
           where: str) -> None:
    """What one key's type cannot say: alignment, overlaps, the 4 GiB space, IRQ wiring, names."""
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
        try:
            policy.check_model(d.model, f"{where}: devices[{i}].model")
        except PlatformError as e:
            raise fail(("devices", i, "model"), str(e).split(".model: ", 1)[-1]) from None
    for i, uart in enumerate(spec.console or []):
        if uart not in names:
            raise fail(("console", i), f"expected the name of a device of this board, got '{uart}'")


def read_spec(model: type[M], path: Path, what: str) -> tuple[M, Callable[[Key, str], PlatformError]]:
    """The ``what`` file ``path`` validated as ``model``, and a maker of PlatformErrors at its keys."""
    try:
        data, lines = read_yaml(path, what)
        spec = validate(model, data, lines, path)
    except YamlError as e:
        raise PlatformError(str(e)) from None

    def fail(key: Key, message: str) -> PlatformError:
        return PlatformError(f"{path}:{line_of(lines, key)}: {key_path(key)}: {message}")

    return spec, fail


def load_platform(name_or_path: str | Path, policy: LoadPolicy = TRUSTED) -> Platform:
    path = find_platform(str(name_or_path), policy)
    spec, fail = read_spec(PlatformSpec, path, "platform")
    _check(spec, fail, policy, str(path))
    cpu = spec.cpu
    plat = Platform(name=spec.name, path=path, description=spec.description, cpu_model=cpu.model,
                    clock_hz=cpu.clock_hz, num_irq=cpu.num_irq, priority_bits=cpu.priority_bits)
    names = {d.name for d in spec.devices}
    plat.console = list(spec.console) if spec.console is not None else [n for n in ("uart0",) if n in names]
    plat.memory = [MemoryRegion(m.name, m.base, m.size, m.exec, list(m.aliases)) for m in spec.memory]
    plat.devices = [DeviceSpec(d.name, d.model, d.base,
                               {line: NMI_IRQN if irq == "nmi" else irq for line, irq in d.irqs.items()},
                               dict(d.settings)) for d in spec.devices]
    return plat


def resolve_model(spec: DeviceSpec, platform_path: Path) -> type:
    """The device class a platform entry names, or a PlatformError saying why not."""
    target = spec.model
    where = f"{platform_path}: device '{spec.name}': model '{target}'"
    if ":" not in target:
        raise PlatformError(f"{where}: expected 'module:Class' or 'path/file.py:Class'")
    module_name, _, cls_name = target.rpartition(":")
    try:
        if module_name.endswith(".py"):
            from importlib.util import module_from_spec, spec_from_file_location

            file = (platform_path.parent / module_name).resolve()
            if not file.is_file():
                raise PlatformError(f"{where}: no such file {file}")
            mod_id = f"vboard_user_model_{abs(hash(str(file)))}"
            mod_spec = spec_from_file_location(mod_id, file)
            assert mod_spec and mod_spec.loader
            module = module_from_spec(mod_spec)
            sys.modules[mod_id] = module
            mod_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except PlatformError:
        raise
    except Exception as e:
        raise PlatformError(f"{where}: cannot import ({type(e).__name__}: {e})") from None
    cls = getattr(module, cls_name, None)
    if not isinstance(cls, type):
        raise PlatformError(f"{where}: module has no class '{cls_name}'")
    return cls
