"""Platform and simulation files: every mistake the issue lists is one line, exit 2, never a traceback.

The same text comes back over RPC as INVALID_ARGUMENT. Lines are
``FILE:LINE: key.path: what was expected`` with values cut at 80 characters.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vboard.cli import main

ROOT = Path(__file__).resolve().parent.parent
PAIR = (ROOT / "platforms" / "simulations" / "rawping-pair.yaml").read_text()
FW = ROOT / "firmware" / "build"


def _sim(tmp_path: Path, text: str) -> Path:
    text = text.replace("../../firmware/build/", f"{FW}/")
    path = tmp_path / "sim.yaml"
    path.write_text(text)
    return path


def _run(capsys, *argv: str) -> tuple[int, str]:  # noqa: ANN001
    code = main(["run", *argv, "-q"])
    err = capsys.readouterr().err.strip()
    return code, err


SIM_CASES = [
    ("seed: 1", "seed: abc", 5, "seed", "expected an integer, got 'abc'"),
    ("quantum_us: 250", "quantum_us: .nan", 6, "quantum_us", "expected a finite number"),
    ("quantum_us: 250", "quantum_us: 1e400", 6, "quantum_us", "expected a number, got '1e400'"),
    ("quantum_us: 250", "quantum_us: 1.0e+400", 6, "quantum_us", "expected a finite number"),
    ("client.eth0: {delay_us: 50", "client.eth0: {delay_us: .inf", 15, "links.client.eth0.delay_us",
     "expected a finite number"),
    ("client.eth0: {delay_us: 50", "client.eth0: {up: 'no', delay_us: 50", 15, "links.client.eth0.up",
     "expected true or false, got 'no'"),
    ("seed: 1", "seed: 1\nseed: 2", 6, "seed", "given twice (first on line 5)"),
    ('{eth0: {mac: "52:54:00:00:00:02"}}', '{eth0: {mac: "52:54:00:00:00:01"}}', 13, "boards[1].settings",
     "client.eth0 has MAC 52:54:00:00:00:01, as server.eth0 has"),
    ("name: client", "name: '" + "x" * 5000 + "'", 11, "boards[1].name", "..."),
]


@pytest.mark.parametrize("old, new, line, key, words", SIM_CASES, ids=[c[1][:20] for c in SIM_CASES])
def test_simulation_mistakes_are_one_line_exit_2(capsys, tmp_path: Path, old, new, line, key, words) -> None:  # noqa: ANN001
    assert old in PAIR
    path = _sim(tmp_path, PAIR.replace(old, new, 1))
    code, err = _run(capsys, str(path), "--max-time", "1ms")
    assert code == 2, err
    assert err.count("\n") == 0 and "Traceback" not in err, err
    assert err.startswith(f"vboard: error: {path}:{line}: {key}: "), err
    assert words in err, err
    assert len(err) < 400, err  # long values are cut


def test_platform_exec_no_and_a_raising_model_are_one_line(capsys, tmp_path: Path) -> None:  # noqa: ANN001
    shipped = (ROOT / "platforms" / "mps2-an385.yaml").read_text()
    bad = tmp_path / "board.yaml"
    bad.write_text(shipped.replace("aliases: [0x00400000]}", "aliases: [0x00400000], exec: 'no'}", 1))
    code, err = _run(capsys, str(FW / "hello.elf"), "--platform", str(bad))
    assert code == 2 and err == f"vboard: error: {bad}:18: memory[0].exec: expected true or false, got 'no'"
    models = tmp_path / "boom.py"
    models.write_text("class Boom:\n    def __init__(self, *a, **k):\n        raise RuntimeError('kaboom')\n")
    bad.write_text(shipped.replace('"peripherals.cmsdk_uart:CmsdkApbUart"', "'./boom.py:Boom'", 1))
    code, err = _run(capsys, str(FW / "hello.elf"), "--platform", str(bad))
    assert code == 2 and "\n" not in err and "failed to build (RuntimeError: kaboom)" in err, err


def test_rpc_answers_invalid_argument_with_the_same_line(tmp_path: Path) -> None:
    from bridge.rpc_runtime import Runtime
    from bridge.rpc_server import RpcServer
    from emulator.board.platform import LoadPolicy
    from vboard.client import Client, ClientError

    path = _sim(tmp_path, PAIR.replace("seed: 1", "seed: abc", 1))
    srv = RpcServer(Runtime(LoadPolicy(Path("/"), allow_model_files=False)), "127.0.0.1", 0,
                    token="t" * 20).start()
    c = Client(f"127.0.0.1:{srv.port}", token="t" * 20, timeout=60)
    try:
        with pytest.raises(ClientError) as ei:
            c.load(str(path))
        assert ei.value.code == "INVALID_ARGUMENT"
        assert ei.value.message == f"{path}:5: seed: expected an integer, got 'abc'"
    finally:
        c.close()
        srv.stop()


def test_binary_simulation_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes((FW / "hello.elf").read_bytes())
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "vboard.cli", "run", str(path)], capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.returncode == 2 and r.stderr == f"vboard: error: {path}: a binary file, not a simulation file " \
        "(YAML text)\n", r.stderr


SHIPPED_YAML = sorted((ROOT / "platforms").rglob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED_YAML, ids=[p.name for p in SHIPPED_YAML])
def test_libyaml_and_pyyaml_read_a_shipped_file_alike(path: Path) -> None:
    """``read_yaml`` parses with libyaml when it can; the document and key lines are PyYAML's."""
    from emulator.board import yamlfile

    assert yamlfile._FastLoader is not None, "PyYAML without libyaml: reinstall pyyaml (scripts/setup)"
    text = path.read_text()
    fast = yamlfile._parse(yamlfile._FastLoader, text, path, "platform")
    assert fast == yamlfile._parse(yamlfile._StrictLoader, text, path, "platform")
    assert yamlfile.read_yaml(path, "platform") == fast


@pytest.mark.parametrize("text", ["name: [a, b\ncpu: {}\n", "a: 1\n  b: 2\n", "a: '\x07'\n", "a: *x\n",
                                  "a: 1\na: 2\n", "- a\nb: 1\n"])
def test_a_broken_file_gets_pyyaml_s_message(tmp_path: Path, text: str) -> None:
    """libyaml's messages differ from PyYAML's: a file libyaml refuses is read again by PyYAML."""
    from emulator.board import yamlfile

    path = tmp_path / "board.yaml"
    path.write_text(text)
    with pytest.raises(yamlfile.YamlError) as strict:
        yamlfile._parse(yamlfile._StrictLoader, text, path, "platform")
    with pytest.raises(yamlfile.YamlError) as read:
        yamlfile.read_yaml(path, "platform")
    assert str(read.value) == str(strict.value)
