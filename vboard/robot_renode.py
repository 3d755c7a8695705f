"""Renode's emulation keywords: ``Execute Command``, ``Reset Emulation``, ``Provides``/``Requires``, files.

``Execute Command`` takes the monitor lines Renode suites set up with (see
``vboard.robot_monitor``); an unsupported line fails naming it.
``Reset Emulation`` is Renode's: the emulation is cleared (machines,
testers, the log tester); the next setup loads anew. The board's system
reset is ``Reset Board``. ``Provides    NAME`` saves the emulation (a
snapshot, and the testers there are); ``Requires    NAME``, in a later test
of the same suite, loads the same boards, restores it and recreates those
testers with their ids.
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any

from vboard.robot_args import keyword_args, seconds_ns
from vboard.robot_monitor import MonitorSetup


@dataclass
class Savepoint:
    load_args: dict[str, Any]
    setup: MonitorSetup
    testers: dict[int, Any]


class RenodeKeywords:
    def _init_renode(self) -> None:
        self.savepoints: dict[str, Savepoint] = {}
        self.temp_dir = ""

    @keyword_args
    def execute_command(self, command: str, machine: Any = None) -> str:
        """One Renode monitor line (``mach create "server"``, ``sysbus LoadELF @...``, ``start``, ...)."""
        action = self.setup.execute(str(command), str(machine or ""))  # type: ignore[attr-defined]
        if action is None:
            return ""
        client = self._c()  # type: ignore[attr-defined]
        if action.verb == "start":
            self.start_emulation()
        elif action.verb == "pause":
            self._call(client.pause)  # type: ignore[attr-defined]
        elif action.verb == "run_for":
            if client.state().state == "running":  # Renode's RunFor: run that long, then stand still
                self._call(client.pause)  # type: ignore[attr-defined]
            self._call(client.run_for, f"{int(action.seconds * 1e9)}ns")  # type: ignore[attr-defined]
        elif action.verb == "reset":
            self.reset_board(self.setup.board_name(action.machine))  # type: ignore[attr-defined]
        elif action.verb == "gpio":
            self._call(client.gpio_set_input, action.device, action.pin, action.level,  # type: ignore[attr-defined]
                       board=self.setup.board_name(action.machine))  # type: ignore[attr-defined]
        return ""

    @keyword_args
    def start_emulation(self) -> None:
        """Run freely (until ``Pause Emulation``, an exit or a fault); waits then watch the running board."""
        client = self._c()  # type: ignore[attr-defined]
        if client.state().state != "running":
            self._call(client.start)  # type: ignore[attr-defined]

    @keyword_args
    def pause_emulation(self) -> None:
        self._call(self._c().pause)  # type: ignore[attr-defined]

    @keyword_args
    def reset_emulation(self) -> None:
        """Clear the emulation (Renode's meaning): boards, testers and the log tester are gone."""
        self._keep_failure_artifacts()  # type: ignore[attr-defined]
        client = self.serve.client if self.serve is not None else None  # type: ignore[attr-defined]
        if client is not None and self.load_args is not None and client.state().state == "running":  # type: ignore[attr-defined]
            self._call(client.pause)  # type: ignore[attr-defined]
        self.setup = MonitorSetup()  # type: ignore[attr-defined]
        self.load_args = None  # type: ignore[attr-defined]
        self._forget_session()  # type: ignore[attr-defined]

    @keyword_args
    def provides(self, state: str, type: Any = "Serialization") -> None:  # noqa: A002 - Renode's name
        """Save the emulation as ``state`` for ``Requires`` in later tests of this suite."""
        if str(type) not in ("Serialization", "Reexecution"):
            raise AssertionError(f"type: '{type}' (accepted: Serialization, Reexecution)")
        client = self._c()  # type: ignore[attr-defined]
        if client.state().state == "running":
            self._call(client.pause)  # type: ignore[attr-defined]
        self._call(client.save_snapshot, f"provides-{state}")  # type: ignore[attr-defined]
        self.savepoints[state] = Savepoint(dict(self.load_args or {}), copy.deepcopy(self.setup),  # type: ignore[attr-defined]
                                           copy.deepcopy(self.testers))  # type: ignore[attr-defined]

    @keyword_args
    def requires(self, state: str) -> None:
        """Go back to what ``Provides    state`` saved (the same boards, memory, devices, time, testers)."""
        if state not in self.savepoints:
            raise AssertionError(f"Required state {state} not found.")
        sp = self.savepoints[state]
        self.reset_emulation()
        self.setup = copy.deepcopy(sp.setup)  # type: ignore[attr-defined]
        self._load(sp.load_args)  # type: ignore[attr-defined]
        self.setup.loaded = True  # type: ignore[attr-defined]
        self._call(self._c().load_snapshot, f"provides-{state}")  # type: ignore[attr-defined]
        self.testers = copy.deepcopy(sp.testers)  # type: ignore[attr-defined]
        lengths = {(u.board, u.uart): int(u.length) for u in self._c().uarts().uarts}  # type: ignore[attr-defined]
        for t in self.testers.values():  # type: ignore[attr-defined]
            t.offset = lengths.get((t.board, t.uart), 0)  # the transcripts of the new load start empty

    @keyword_args
    def allocate_temporary_file(self) -> str:
        """A new empty file, removed when the suite ends."""
        fd, path = tempfile.mkstemp(prefix="vboard-", dir=self._temp_dir())
        os.close(fd)
        return path

    @keyword_args
    def allocate_temporary_directory(self, dirName: str) -> str:  # noqa: N803
        path = os.path.join(self._temp_dir(), str(dirName))
        os.makedirs(path, exist_ok=True)
        return path

    def _temp_dir(self) -> str:
        if not self.temp_dir:
            self.temp_dir = tempfile.mkdtemp(prefix="vboard-robot-tmp-")
        return self.temp_dir

    def _remove_temp(self) -> None:
        if self.temp_dir:
            shutil.rmtree(self.temp_dir, ignore_errors=True)
            self.temp_dir = ""

    @keyword_args
    def wait_for_pause(self, timeout: Any) -> None:
        """Wait until the emulation pauses by itself (an exit or fault), up to ``timeout`` of virtual time."""
        client = self._c()  # type: ignore[attr-defined]
        stopped = self._run_until(lambda: True if client.state().state != "running" else None,  # type: ignore[attr-defined]
                                 seconds_ns(timeout))
        if not stopped:
            raise AssertionError(f"the emulation did not pause within {timeout} s of virtual time")
