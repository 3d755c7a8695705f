"""Board descriptions (YAML): parsed and validated into a ``Platform``.

One typed schema (pydantic, ``PlatformSpec`` in ``platform_schema.py``) checks the file, read by
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

A ``SpecCache`` (``vboard run`` keeps one in files) holds validated
platforms by a key of the file's bytes and the schema's source: a start that
finds its platform there neither parses YAML nor imports pydantic (the
schema is in ``platform_schema.py``, imported only to validate).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from emulator.board.yamlfile import Key, M

# ``irqs: {line: nmi}`` wires a device output to the NMI input (CMSIS numbers it -14).
NMI_IRQN = -14
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


def read_spec(model: type[M], path: Path, what: str) -> tuple[M, Callable[[Key, str], PlatformError]]:
    """The ``what`` file ``path`` validated as ``model``, and a maker of PlatformErrors at its keys."""
    from emulator.board.yamlfile import YamlError, key_path, line_of, read_yaml, validate

    try:
        data, lines = read_yaml(path, what)
        spec = validate(model, data, lines, path)
    except YamlError as e:
        raise PlatformError(str(e)) from None

    def fail(key: Key, message: str) -> PlatformError:
        return PlatformError(f"{path}:{line_of(lines, key)}: {key_path(key)}: {message}")

    return spec, fail


class SpecCache(Protocol):
    """Validated platforms kept between runs, as text by key; a miss or a failed put is no error."""

    def get(self, key: str) -> str | None: ...

    def put(self, key: str, text: str) -> None: ...


# What decides whether a file is valid and what it becomes: part of every cache key.
SCHEMA_SOURCES = ("platform.py", "platform_schema.py", "yamlfile.py")
MAX_CACHED_FILE = 1024 * 1024


def load_platform(name_or_path: str | Path, policy: LoadPolicy = TRUSTED,
                  cache: SpecCache | None = None) -> Platform:
    """The platform a board name or file names, validated; with a ``cache`` (and the trusting
    policy: no root, model files allowed), from there when the same file was validated before."""
    path = find_platform(str(name_or_path), policy)
    key = _cache_key(path) if cache is not None and policy == TRUSTED else None
    if cache is None or key is None:
        return _validated(path, policy)
    cached = _platform_from_json(cache.get(key), path)
    if cached is not None:
        return cached
    plat = _validated(path, policy)
    try:
        text = _platform_to_json(plat)
    except (TypeError, ValueError):
        return plat  # a setting JSON cannot hold (a date, bytes): not cached
    if _platform_from_json(text, path) == plat:  # nor one it changes (an integer key, NaN)
        cache.put(key, text)
    return plat


def _cache_key(path: Path) -> str | None:
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_CACHED_FILE + 1)
        digest = hashlib.sha256()
        for name in SCHEMA_SOURCES:
            digest.update(Path(__file__).with_name(name).read_bytes())
    except OSError:
        return None  # validation says what is wrong
    if len(raw) > MAX_CACHED_FILE:
        return None
    digest.update(raw)
    return digest.hexdigest()


def _platform_to_json(plat: Platform) -> str:
    fields = dataclasses.asdict(plat)
    del fields["path"]
    return json.dumps(fields, sort_keys=True)


def _platform_from_json(text: str | None, path: Path) -> Platform | None:
    if text is None:
        return None
    try:
        fields = json.loads(text)
        memory = [MemoryRegion(**m) for m in fields.pop("memory")]
        devices = [DeviceSpec(**d) for d in fields.pop("devices")]
        return Platform(path=path, memory=memory, devices=devices, **fields)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None  # not what _platform_to_json wrote: validate again


def _validated(path: Path, policy: LoadPolicy) -> Platform:
    from emulator.board.platform_schema import PlatformSpec, check_spec

    spec, fail = read_spec(PlatformSpec, path, "platform")

    def check_model(i: int, model: str) -> None:
        try:
            policy.check_model(model, f"{path}: devices[{i}].model")
        except PlatformError as e:
            raise fail(("devices", i, "model"), str(e).split(".model: ", 1)[-1]) from None

    check_spec(spec, fail, check_model)
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
