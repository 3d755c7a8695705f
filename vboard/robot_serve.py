"""The ``vboard serve`` process behind a Robot suite: started on a free loopback port, stopped with it.

One process per suite (so ``pabot`` can run suites side by side); it is
killed at interpreter exit whatever happens. Its output goes to
``${OUTPUT DIR}/vboard/serve-<suite>-<pid>.log``.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vboard.client import Client

ROOT = Path(__file__).resolve().parent.parent
START_WALL_S = 30.0
_LIVE: set[subprocess.Popen] = set()


def _kill_all() -> None:
    for proc in list(_LIVE):
        stop_process(proc)


atexit.register(_kill_all)


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    _LIVE.discard(proc)


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "x"


class ServeProcess:
    """A running ``vboard serve --paused`` and a client connected to it."""

    def __init__(self, log_dir: Path, suite: str) -> None:
        self.workdir = tempfile.mkdtemp(prefix="vboard-robot-")
        port_file = Path(self.workdir) / "serve.json"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"serve-{safe_name(suite)}-{os.getpid()}.log"
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
        with open(self.log_path, "ab") as log:
            # The suite's own server (its token in a 0600 port file): the files it is given may be
            # anywhere (captures go to Robot's output folder), so its root is the file system's.
            self.proc = subprocess.Popen([sys.executable, "-m", "vboard.serve", "--paused", "--port-file",
                                          str(port_file), "--root", "/"], stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL, env=env, cwd=str(ROOT),
                                         start_new_session=True)
        _LIVE.add(self.proc)
        deadline = time.monotonic() + START_WALL_S
        while not port_file.exists():
            if self.proc.poll() is not None:
                self.stop()
                raise AssertionError(f"vboard serve exited with {self.proc.returncode}; see {self.log_path}")
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"vboard serve did not start in {START_WALL_S:.0f} s; "
                                     f"see {self.log_path}")
            time.sleep(0.05)
        self.client = Client(port_file=port_file, timeout=600)
        self.address = self.client.address
        self.client.wait_ready(10)

    def stop(self) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            client.close()
            self.client = None  # type: ignore[assignment]
        stop_process(self.proc)
        shutil.rmtree(self.workdir, ignore_errors=True)
