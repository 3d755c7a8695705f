"""Renode monitor lines for ``Execute Command``: what a Renode suite's setup says, as a vboard setup.

``MonitorSetup`` reads the lines Renode suites set machines up with and
keeps what they describe (machines, their platform and firmware, switches
and who is connected) until the emulation is needed; then ``load_args``
says what to load: one board, or a simulation file of several boards on one
switch (written to a temporary folder). Lines that act on a running
emulation (``start``, ``pause``, ``emulation RunFor``, ``machine Reset``)
come back as an ``Action`` for the library to carry out.

Platform descriptions map to vboard platforms: a vboard platform name or
YAML file is used as it is; Renode's ``platforms/boards/*.repl`` and
``platforms/cpus/*.repl`` become ``mps2-an385`` (the board vboard has), or
``mps2-an385-wifi`` when the name mentions wifi or esp. Anything else fails
naming the command.
"""

from __future__ import annotations

import re
import shlex
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from vboard.robot_serve import ROOT

FIRMWARE_DIR = ROOT / "firmware" / "build"
PLATFORM_DIR = ROOT / "platforms"
SUPPORTED = ("mach create [NAME]", "mach set NAME|N", "mach clear", "mach rem NAME",
             "machine LoadPlatformDescription @FILE", "sysbus LoadELF @FILE", "sysbus LoadBinary @FILE ADDR",
             "emulation CreateSwitch NAME", "connector Connect sysbus.ethernet SWITCH", "showAnalyzer UART",
             "emulation RunFor TIME", "start", "pause", "emulation StartAll", "emulation PauseAll",
             "machine Reset", "emulation SetGlobalAdvanceImmediately BOOL", "emulation SetSeed N",
             "emulation SetGlobalQuantum TIME", "emulation SetGlobalSerialExecution BOOL",
             "logLevel LEVEL", "set bin @FILE", "include @scripts/single-node/NAME.resc",
             "sysbus.GPIO OnGPIO PIN true|false")


class MonitorError(AssertionError):
    pass


@dataclass
class MachineSpec:
    name: str
    platform: str = ""
    firmware: str = ""
    base: int = 0
    switch: str = ""


@dataclass
class Action:
    verb: str                   # start, pause, run_for, reset, gpio
    machine: str = ""
    seconds: float = 0.0
    device: str = ""            # gpio: the GPIO block, the pin and the level the world drives
    pin: int = 0
    level: bool = False


@dataclass
class MonitorSetup:
    machines: dict[str, MachineSpec] = field(default_factory=dict)
    switches: list[str] = field(default_factory=list)
    current: str = ""
    seed: int = 0
    quantum_s: float = 0.0      # several boards: the lockstep quantum (0: the simulation default)
    pace: str = ""              # "realtime" after SetGlobalAdvanceImmediately false ("": fast)
    variables: dict[str, str] = field(default_factory=dict)
    loaded: bool = False        # the library has loaded what this describes
    _files: list[str] = field(default_factory=list)

    def execute(self, line: str, machine: str = "") -> Action | None:
        """Apply one monitor line (``machine`` selects the machine, as Renode's ``machine=`` does)."""
        try:
            words = shlex.split(line.strip())
        except ValueError as e:
            raise MonitorError(f"Execute Command: cannot read '{line}' ({e})") from None
        if not words:
            return None
        if machine:
            self._select(machine, line)
        head = words[0]
        args = [self.variables.get(w[1:], w) if w.startswith("$") and head != "set" else w for w in words[1:]]
        if head == "mach":
            return self._mach(args, line)
        if head == "machine":
            return self._machine(args, line)
        if head == "sysbus":
            return self._sysbus(args, line)
        if head.startswith("sysbus.") and args[:1] == ["OnGPIO"] and len(args) == 3:
            return self._on_gpio(head.removeprefix("sysbus."), args[1], args[2], line)
        if head == "emulation":
            return self._emulation(args, line)
        if head == "connector" and args[:1] == ["Connect"] and len(args) == 3:
            self._current(line).switch = self._switch(args[2], line)
            self.loaded = False
            return None
        if head == "showAnalyzer" and len(args) >= 1:
            return None  # vboard keeps every UART's output; the artifacts folder has it
        if head in ("start", "pause") and not args:
            return Action(head)
        if head == "logLevel":
            return None
        if head == "set" and len(args) == 2:
            self.variables[args[0]] = args[1]
            return None
        if head == "include" and len(args) == 1 and args[0].endswith(".resc"):
            return self._include_resc(args[0], line)
        raise self._unsupported(line)

    def _include_resc(self, script: str, line: str) -> None:
        """A Renode board script (``scripts/single-node/*.resc``): one machine on the nearest vboard
        platform, running ``$bin`` (``set bin @FILE`` before)."""
        if "bin" not in self.variables:
            raise MonitorError(f"Execute Command: '{line}': set bin @FILE first "
                               "(the firmware the script loads)")
        name = Path(script.lstrip("@")).stem
        self.execute(f"mach create {shlex.quote(name)}")
        self.machines[name].platform = map_platform(f"@platforms/boards/{name}.repl", line)
        self.machines[name].firmware = find_file(self.variables["bin"], line)
        return None

    # ---------------------------------------------------------------- parts
    def _mach(self, args: list[str], line: str) -> Action | None:
        if args[:1] == ["create"]:
            name = args[1] if len(args) > 1 else f"machine-{len(self.machines)}"
            if name in self.machines:
                raise MonitorError(f"Execute Command: '{line}': machine '{name}' exists already")
            self.machines[name] = MachineSpec(name)
            self.current = name
            self.loaded = False
            return None
        if args[:1] == ["set"] and len(args) == 2:
            self._select(args[1], line)
            return None
        if args == ["clear"]:
            self.current = ""
            return None
        if args[:1] == ["rem"] and len(args) == 2:
            self.machines.pop(self._name(args[1], line))
            self.current = "" if self.current == args[1] else self.current
            self.loaded = False
            return None
        raise self._unsupported(line)

    def _machine(self, args: list[str], line: str) -> Action | None:
        if args[:1] == ["LoadPlatformDescription"] and len(args) == 2:
            self._current(line).platform = map_platform(args[1], line)
            self.loaded = False
            return None
        if args == ["Reset"]:
            return Action("reset", self._current(line).name)
        raise self._unsupported(line)

    def _sysbus(self, args: list[str], line: str) -> Action | None:
        if args[:1] == ["LoadELF"] and len(args) >= 2:
            self._current(line).firmware = find_file(args[1], line)
            self.loaded = False
            return None
        if args[:1] == ["LoadBinary"] and len(args) == 3:
            spec = self._current(line)
            spec.firmware = find_file(args[1], line)
            spec.base = int(args[2], 0)
            self.loaded = False
            return None
        raise self._unsupported(line)

    def _on_gpio(self, device: str, pin: str, level: str, line: str) -> Action:
        """Renode's ``sysbus.<peripheral> OnGPIO <n> <bool>``: the world drives input pin n (a button)."""
        if level.lower() not in ("true", "false") or not pin.isdigit():
            raise MonitorError(f"Execute Command: '{line}': expected OnGPIO PIN true|false")
        return Action("gpio", self._current(line).name, device=device, pin=int(pin),
                      level=level.lower() == "true")

    def _emulation(self, args: list[str], line: str) -> Action | None:
        if args[:1] == ["CreateSwitch"] and len(args) == 2:
            if args[1] not in self.switches:
                self.switches.append(args[1])
            return None
        if args[:1] == ["RunFor"] and len(args) == 2:
            return Action("run_for", seconds=parse_time(args[1], line))
        if args in (["StartAll"], ["PauseAll"]):
            return Action("start" if args[0] == "StartAll" else "pause")
        if args[:1] == ["SetGlobalAdvanceImmediately"] and len(args) == 2 \
                and args[1].lower() in ("true", "false"):
            # Renode's idle time: skipped at once (true, vboard's fast pace) or waited out on the host
            # clock (false: virtual time never runs ahead of the wall clock, vboard's realtime pace).
            self.pace = "fast" if args[1].lower() == "true" else "realtime"
            self.loaded = False
            return None
        if args[:1] == ["SetGlobalSerialExecution"]:
            return None  # boards run in lockstep, one after the other
        if args[:1] == ["SetGlobalQuantum"] and len(args) == 2:
            self.quantum_s = parse_time(args[1], line)
            self.loaded = False
            return None
        if args[:1] == ["SetSeed"] and len(args) == 2:
            self.seed = int(args[1], 0)
            self.loaded = False
            return None
        raise self._unsupported(line)

    def _select(self, name: str, line: str) -> None:
        self.current = self._name(name, line)

    def _name(self, name: str, line: str) -> str:
        if name.isdigit() and int(name) < len(self.machines):
            return list(self.machines)[int(name)]
        if name not in self.machines:
            raise MonitorError(f"Execute Command: '{line}': no machine '{name}' "
                               f"(machines: {', '.join(self.machines) or 'none'})")
        return name

    def _current(self, line: str) -> MachineSpec:
        if not self.current:
            raise MonitorError(f"Execute Command: '{line}': no machine selected "
                               "(mach create / mach set first)")
        return self.machines[self.current]

    def _switch(self, name: str, line: str) -> str:
        if name not in self.switches:
            raise MonitorError(f"Execute Command: '{line}': no switch '{name}' "
                               "(emulation CreateSwitch first)")
        return name

    @staticmethod
    def _unsupported(line: str) -> MonitorError:
        return MonitorError(f"Execute Command: '{line.strip()}' is not supported by vboard "
                            f"(supported: {'; '.join(SUPPORTED)})")

    # ------------------------------------------------------------- loading
    def board_name(self, machine: str) -> str:
        """The vboard board a Renode machine became (one machine: ``board``)."""
        if not machine:
            return ""
        if machine not in self.machines:
            raise MonitorError(f"no machine '{machine}' (machines: {', '.join(self.machines) or 'none'})")
        return "board" if len(self.machines) == 1 else machine

    def load_args(self) -> dict[str, object]:
        """``Client.load`` arguments for what the lines described."""
        if not self.machines:
            raise MonitorError("no machine: Execute Command    mach create, then LoadPlatformDescription "
                               "and sysbus LoadELF")
        for spec in self.machines.values():
            if not spec.firmware:
                raise MonitorError(f"machine '{spec.name}' has no firmware (sysbus LoadELF @FILE)")
        if len(self.machines) == 1:
            spec = next(iter(self.machines.values()))
            return {"firmware": spec.firmware, "platform": spec.platform, "base": spec.base,
                    "pace": self.pace}
        return {"firmware": self._simulation_file(), "pace": self.pace}

    def _simulation_file(self) -> str:
        import yaml

        boards = []
        for i, spec in enumerate(self.machines.values()):
            board: dict[str, object] = {"name": spec.name, "firmware": spec.firmware,
                                        "settings": {"eth0": {"mac": f"52:54:00:00:01:{i + 1:02x}"}}}
            if spec.platform:
                board["platform"] = spec.platform
            boards.append(board)
        doc: dict[str, object] = {"name": "renode-setup", "seed": self.seed, "boards": boards}
        if self.quantum_s:
            doc["quantum_us"] = self.quantum_s * 1e6
        folder = tempfile.mkdtemp(prefix="vboard-monitor-")
        path = Path(folder) / "setup.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        self._files.append(folder)
        return str(path)


def map_platform(arg: str, line: str) -> str:
    """``@platforms/boards/stm32f4_discovery-kit.repl`` -> a vboard platform (see the module docstring)."""
    text = arg.lstrip("@").strip()
    path = Path(text)
    if path.suffix in (".yaml", ".yml"):
        if path.is_file():
            return str(path.resolve())
        raise MonitorError(f"Execute Command: '{line}': no platform file {text}")
    if (PLATFORM_DIR / f"{text}.yaml").is_file():
        return text
    if path.suffix == ".repl":
        stem = path.stem.lower()
        if (PLATFORM_DIR / f"{stem}.yaml").is_file():
            return stem
        return "mps2-an385-wifi" if re.search(r"wifi|esp", stem) else "mps2-an385"
    raise MonitorError(f"Execute Command: '{line}': '{text}' is neither a Renode .repl nor a vboard platform")


def find_file(arg: str, line: str) -> str:
    """``@path``: as given (absolute, or from the working directory), else in firmware/build."""
    text = arg.lstrip("@").strip()
    for candidate in (Path(text), FIRMWARE_DIR / Path(text).name):
        if candidate.is_file():
            return str(candidate.resolve())
    raise MonitorError(f"Execute Command: '{line}': no file {text} (nor {FIRMWARE_DIR / Path(text).name})")


def parse_time(text: str, line: str) -> float:
    """Renode's time: seconds (``"1.5"``) or ``HH:MM:SS[.fff]``."""
    try:
        if ":" in text:
            seconds = 0.0
            for part in text.split(":"):
                seconds = seconds * 60 + float(part)
            return seconds
        return float(text)
    except ValueError:
        raise MonitorError(f"Execute Command: '{line}': '{text}' is not a time "
                           "(seconds or HH:MM:SS)") from None
