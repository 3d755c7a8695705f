"""The documentation: ``mkdocs build --strict`` (a broken link or anchor fails), and no file of the
project points outside the repository."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ("index.md", "user-guide.md", "architecture.md", "adding-a-board.md", "adding-a-peripheral.md")


def mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    # Not -q: mkdocs 1.6 counts no warnings for --strict when they are not logged.
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config),
                           "-d", str(site)], capture_output=True, text=True, timeout=300, env=env)


def test_mkdocs_builds_strict(tmp_path):
    proc = mkdocs_build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in DOCS:
        page = tmp_path / "site" / ("index.html" if name == "index.md" else f"{name[:-3]}/index.html")
        assert page.is_file(), f"{name} was not rendered"


def test_mkdocs_strict_fails_on_a_broken_link(tmp_path):
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    guide = tmp_path / "docs" / "user-guide.md"
    guide.write_text(guide.read_text() + "\nSee [the missing page](no-such-page.md#nowhere).\n")
    proc = mkdocs_build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert proc.returncode != 0 and "no-such-page.md" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


# Paths into the workplace beside the repository (its design notes, references, seed texts), and the
# hosts of package registries: no file of the project may name them. The folder's name is spelled in
# two parts so that this file, too, has no such path in it.
SHARED = "shared" + "/"
OUTSIDE = re.compile(re.escape(SHARED) + r"|/work/|\bDESIGN\.md|\bSTYLE\.md|pypi\.org|pythonhosted\.org|"
                     r"deb\.debian\.org|registry\.npmjs\.org")


def tracked_text_files() -> list[Path]:
    out = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True,
                         timeout=60).stdout
    files = []
    for name in out.decode().split("\0"):
        path = ROOT / name
        if name and path.is_file() and path != Path(__file__).resolve():
            files.append(path)
    return files


def test_no_file_points_outside_the_repository():
    hits = []
    files = tracked_text_files()
    assert len(files) > 100, "git ls-files listed too few files"
    for path in files:
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue  # binary
        for lineno, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{lineno}: {line.strip()}")
    assert not hits, "\n".join(hits)


def test_the_acceptance_grep_finds_nothing():
    """Issue 13's own check, as written, over the working tree (the venv is not the project's)."""
    proc = subprocess.run(["grep", "-rn", SHARED, "--include=*.md", "--include=*.py", "--include=*.yaml",
                           "--exclude-dir=.venv", "--exclude-dir=.git", "."], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 1 and proc.stdout == "", proc.stdout + proc.stderr  # 1: no line matched


def test_the_outside_pattern_catches_what_it_must():
    for line in (f"see {SHARED}reference/lan9118_mps2.md", f"/work/{SHARED}DESIGN.md", "the DESIGN.md notes",
                 "pip index at https://pypi.org/simple"):
        assert OUTSIDE.search(line), line
    assert not OUTSIDE.search("docs/architecture.md, the shared switch")


def guide_blocks(language: str) -> list[str]:
    text = (ROOT / "docs" / "user-guide.md").read_text()
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def test_the_guides_pytest_examples_pass(firmware, monkeypatch, tmp_path):
    """The plugin example runs as its own pytest session; the Machine example runs here."""
    plugin, machine = guide_blocks("python")
    (tmp_path / "test_guide.py").write_text(plugin)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_guide.py"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout + proc.stderr
    monkeypatch.chdir(ROOT)
    scope: dict[str, object] = {}
    exec(compile(machine, "user-guide.md", "exec"), scope)
    tests = [f for name, f in scope.items() if name.startswith("test_") and callable(f)]
    assert len(tests) == 1
    tests[0]()


def test_the_guides_robot_example_passes(firmware, tmp_path):
    """The guide's suite, run the way the guide says: ``vboard test page.robot --results DIR``."""
    blocks = guide_blocks("robotframework")
    assert len(blocks) == 1, blocks
    suite = tmp_path / "page.robot"
    suite.write_text(blocks[0])
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "vboard.cli", "test", str(suite), "--results",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env=env)
    assert proc.returncode == 0 and "1 test, 1 passed, 0 failed" in proc.stdout, proc.stdout + proc.stderr
    assert (tmp_path / "out" / "xunit.xml").is_file()


def page_blocks(page: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", (ROOT / "docs" / page).read_text(), flags=re.S)


def test_the_peripheral_pages_model_runs_on_a_board(tmp_path, monkeypatch):
    """adding-a-peripheral.md: its model, its test, and its platform line on a copy of the AN385."""
    import yaml

    from emulator.board.machine import Machine
    from emulator.board.platform import load_platform

    model, test = page_blocks("adding-a-peripheral.md", "python")
    (tmp_path / "heartbeat.py").write_text(model)
    scope: dict[str, object] = {}
    exec(compile(model + "\n" + test, "adding-a-peripheral.md", "exec"), scope)
    scope["test_heartbeat_beats_and_interrupts"]()  # type: ignore[operator]

    (line,) = page_blocks("adding-a-peripheral.md", "yaml")
    board = yaml.safe_load((ROOT / "platforms" / "mps2-an385.yaml").read_text())
    board["name"] = "an385-heartbeat"
    board["devices"] += yaml.safe_load(line)["devices"]
    (tmp_path / "board.yaml").write_text(yaml.safe_dump(board))
    machine = Machine(load_platform(str(tmp_path / "board.yaml")))
    hb = machine.device("heartbeat")
    assert type(hb).__name__ == "Heartbeat"
    hb.write(0x04, 4, 50)
    hb.write(0x00, 4, 3)
    machine.clock.advance(50)
    machine.clock.fire_due()
    assert machine.exc.pending >> (16 + 15) & 1, "IRQ 15 is not pending"


def test_the_board_pages_platform_runs_hello_and_its_simulation_loads(firmware, tmp_path):
    from emulator.board.loader import load_image
    from emulator.board.machine import Machine
    from emulator.board.platform import load_platform
    from emulator.board.simulation import load_simulation

    board, sim = page_blocks("adding-a-board.md", "yaml")
    (tmp_path / "small.yaml").write_text(board)
    machine = Machine(load_platform(str(tmp_path / "small.yaml")))
    assert sorted(machine.devices) == ["scc", "timer0", "uart0"]
    machine.load(load_image(str(firmware / "hello.elf")))
    out = bytearray()
    machine.port("uart0").connect(out.extend)
    stop = machine.run(machine.clock.cycles(1.0))
    assert (stop.kind, stop.exit_code) == ("exit", 0), (stop, out)
    assert b"hello: cpuid ok\nhello: scc id ok\n" in out, out

    (tmp_path / "sims").mkdir()
    (tmp_path / "sims" / "two.yaml").write_text(sim.replace("../../firmware/build", str(firmware)))
    loaded = load_simulation(tmp_path / "sims" / "two.yaml")
    assert [b.name for b in loaded.boards] == ["server", "client"]
    assert loaded.switch.port("client.eth0").link.loss == 0.1


def test_the_guides_simulation_runs(firmware, tmp_path):
    """The user guide's lossy pair: it loads, and both boards finish within 5 s of virtual time."""
    from emulator.board.simulation import load_simulation

    (sim,) = guide_blocks("yaml")
    (tmp_path / "sims").mkdir()
    (tmp_path / "sims" / "lossy-pair.yaml").write_text(sim.replace("../../firmware/build", str(firmware)))
    loaded = load_simulation(tmp_path / "sims" / "lossy-pair.yaml")
    assert loaded.switch.port("server.eth0").link.loss == 0.1
    stops = loaded.run(5_000_000_000)
    assert {name: (s.kind, s.exit_code) for name, s in stops.items() if s is not None} == {
        "server": ("exit", 0), "client": ("exit", 0)}, stops
    assert loaded.switch.counters()["server.eth0"]["dropped"].get("loss", 0) > 0
