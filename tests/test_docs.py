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
# hosts of package registries: no file of the project may name them.
OUTSIDE = re.compile(r"shared/|/work/|\bDESIGN\.md|\bSTYLE\.md|pypi\.org|pythonhosted\.org|"
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


def test_the_outside_pattern_catches_what_it_must():
    for line in ("see shared/reference/lan9118_mps2.md", "/work/shared/DESIGN.md", "the DESIGN.md notes",
                 "pip index at https://pypi.org/simple"):
        assert OUTSIDE.search(line), line
    assert not OUTSIDE.search("docs/architecture.md, the shared switch")
