"""Board descriptions (YAML): parsed and validated into a ``Platform``.

Every error is a ``PlatformError`` naming the file, the key path and what
was expected, e.g. ``mps2.yaml: devices[3].base: expected an address
(integer), got 'oops'``. Device models are named by import path
(``peripherals.cmsdk_uart:CmsdkApbUart``) or by a file path
(``./my_models/widget.py:Widget``, relative to the platform file).

A ``LoadPolicy`` bounds what a file may name when it comes from someone
else (``vboard serve``'s clients): files only under a root folder, device
models only from modules of installed distributions (no ``.py`` files).
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import importlib.util
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# ``irqs: {line: nmi}`` wires a device output to the NMI input (CMSIS numbers it -14).
NMI_IRQN = -14
PLATFORM_DIRS = [Path(__file__).resolve().parent.parent / "platforms"]


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
    return frozenset(importlib.metadata.packages_distributions())


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


_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,39}")


class _Checker:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, message: str) -> PlatformError:
        return PlatformError(f"{self.path}: {key}: {message}")

    def mapping(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a mapping, got {_kind(value)}")
        return value

    def keys(self, value: dict[str, Any], key: str, required: set[str], optional: set[str]) -> None:
        for k in value:
            if k not in required | optional:
                allowed = ", ".join(sorted(required | optional))
                shown = str(k) if _KEY_RE.fullmatch(str(k)) else "?"  # not a name: maybe a secret's line
                raise self.fail(f"{key}.{shown}" if key else shown, f"unknown key (allowed: {allowed})")
        for k in sorted(required):
            if k not in value:
                raise self.fail(key or "top level", f"missing required key '{k}'")

    def integer(self, value: Any, key: str, what: str = "an integer", minimum: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected {what}, got {_kind(value)}")
        if value < minimum:
            raise self.fail(key, f"expected {what} >= {minimum}, got {value}")
        return value

    def string(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(key, f"expected a non-empty string, got {_kind(value)}")
        return value


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f"'{value}'"
    return f"{type(value).__name__} {value!r}"[:80]


def load_platform(name_or_path: str | Path, policy: LoadPolicy = TRUSTED) -> Platform:
    path = find_platform(str(name_or_path), policy)
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise PlatformError(f"{path}: {where}not valid YAML ({getattr(e, 'problem', e)})") from None
    except OSError as e:
        raise PlatformError(f"{path}: cannot read ({e.strerror})") from None
    c = _Checker(path)
    if not isinstance(raw, dict):  # the value is the whole file: never quoted
        raise c.fail("top level", f"expected a mapping of platform settings, got {type(raw).__name__}")
    top = raw
    c.keys(top, "", {"name", "cpu", "memory", "devices"}, {"description"})
    cpu = c.mapping(top["cpu"], "cpu")
    c.keys(cpu, "cpu", {"model", "clock_hz"}, {"num_irq", "priority_bits"})
    if cpu["model"] != "cortex-m3":
        raise c.fail("cpu.model", f"expected 'cortex-m3' (the only core modelled), got {_kind(cpu['model'])}")
    plat = Platform(
        name=c.string(top["name"], "name"), path=path, description=str(top.get("description", "")),
        clock_hz=c.integer(cpu["clock_hz"], "cpu.clock_hz", "a frequency in Hz", 1),
        num_irq=c.integer(cpu.get("num_irq", 32), "cpu.num_irq", "an IRQ count", 1),
        priority_bits=c.integer(cpu.get("priority_bits", 8), "cpu.priority_bits", "a bit count", 2),
    )
    if plat.num_irq > 496:  # the ARMv7-M NVIC's limit
        raise c.fail("cpu.num_irq", f"expected at most 496, got {plat.num_irq}")
    if plat.priority_bits > 8:
        raise c.fail("cpu.priority_bits", f"expected 2..8, got {plat.priority_bits}")
    if not isinstance(top["memory"], list) or not top["memory"]:
        raise c.fail("memory", f"expected a list of regions, got {_kind(top['memory'])}")
    for i, m in enumerate(top["memory"]):
        key = f"memory[{i}]"
        m = c.mapping(m, key)
        c.keys(m, key, {"name", "base", "size"}, {"exec", "aliases"})
        region = MemoryRegion(
            c.string(m["name"], f"{key}.name"), c.integer(m["base"], f"{key}.base", "an address (integer)"),
            c.integer(m["size"], f"{key}.size", "a size in bytes", 1), bool(m.get("exec", True)),
            [c.integer(a, f"{key}.aliases[{j}]", "an address (integer)") for j, a in
             enumerate(m.get("aliases") or [])])
        for k, addr in (("base", region.base), *(("aliases", a) for a in region.aliases)):
            if addr % 0x1000 or region.size % 0x1000:
                raise c.fail(f"{key}.{k}", "expected 4 KiB-aligned address and size, "
                             f"got 0x{addr:X} / 0x{region.size:X}")
        plat.memory.append(region)
    if not isinstance(top["devices"], list):
        raise c.fail("devices", f"expected a list of devices, got {_kind(top['devices'])}")
    names = set()
    for i, d in enumerate(top["devices"]):
        key = f"devices[{i}]"
        d = c.mapping(d, key)
        c.keys(d, key, {"name", "model"}, {"base", "irqs", "settings"})
        name = c.string(d["name"], f"{key}.name")
        if name in names:
            raise c.fail(f"{key}.name", f"duplicate device name '{name}'")
        names.add(name)
        irqs = c.mapping(d.get("irqs") or {}, f"{key}.irqs")
        policy.check_model(c.string(d["model"], f"{key}.model"), f"{path}: {key}.model")
        spec = DeviceSpec(
            name, c.string(d["model"], f"{key}.model"),
            c.integer(d["base"], f"{key}.base", "an address (integer)") if "base" in d else None,
            {str(k): NMI_IRQN if v == "nmi" else
             c.integer(v, f"{key}.irqs.{k}", f"an IRQ number below {plat.num_irq} or 'nmi'")
             for k, v in irqs.items()},
            dict(c.mapping(d.get("settings") or {}, f"{key}.settings")))
        for k, v in spec.irqs.items():
            if v >= plat.num_irq:
                raise c.fail(f"{key}.irqs.{k}", f"expected an IRQ number below {plat.num_irq}, got {v}")
        plat.devices.append(spec)
    _check_overlaps(c, plat)
    return plat


def _check_overlaps(c: _Checker, plat: Platform) -> None:
    windows: list[tuple[int, int, str]] = []
    for i, m in enumerate(plat.memory):
        for j, base in enumerate([m.base, *m.aliases]):
            windows.append((base, base + m.size, f"memory[{i}]" + (f".aliases[{j - 1}]" if j else "")))
    windows.sort()
    for (_b1, e1, k1), (b2, _e2, k2) in zip(windows, windows[1:], strict=False):
        if b2 < e1:
            raise c.fail(k2, f"overlaps {k1} at 0x{b2:08X}")


def resolve_model(spec: DeviceSpec, platform_path: Path) -> type:
    """The device class a platform entry names, or a PlatformError saying why not."""
    target = spec.model
    where = f"{platform_path}: device '{spec.name}': model '{target}'"
    if ":" not in target:
        raise PlatformError(f"{where}: expected 'module:Class' or 'path/file.py:Class'")
    module_name, _, cls_name = target.rpartition(":")
    try:
        if module_name.endswith(".py"):
            file = (platform_path.parent / module_name).resolve()
            if not file.is_file():
                raise PlatformError(f"{where}: no such file {file}")
            mod_id = f"vboard_user_model_{abs(hash(str(file)))}"
            mod_spec = importlib.util.spec_from_file_location(mod_id, file)
            assert mod_spec and mod_spec.loader
            module = importlib.util.module_from_spec(mod_spec)
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
