"""``vboard test``: run Robot suites against vboard, as ``renode-test`` does for Renode.

    vboard test SUITES... [-j N] [--include TAG] [--exclude TAG] [--variable NAME:VALUE]
                          [--test NAME] [--results DIR]

Runs Robot Framework (``pabot`` with ``-j N`` > 1: one process per suite
file) with everything a suite needs ready: the keyword libraries
(``vboard.robot``; host peers such as ``Get Free Port`` in
``vboard.robot_hosts``; Renode-style suites without settings get both and a
``Reset Emulation`` teardown, see ``vboard.robot_prerun``), and the
variables ``${FIRMWARE}`` (the built firmware), ``${PLATFORMS}`` and
``${SIMULATIONS}``. Results go to ``--results`` (default
``vboard-results``): log.html, report.html, output.xml and xunit.xml. The
exit status is Robot's: 0 when every test passed, else the number of failed
tests (at most 250); 2 for bad arguments, with one line saying what.
Works from any folder with only the installed package.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vboard test", description="Run Robot Framework suites against vboard "
                                "(Renode's keywords; pabot for -j N > 1); xUnit output for CI.")
    p.add_argument("suites", nargs="+", metavar="SUITE", help="a .robot file or a folder of them")
    p.add_argument("-j", "--jobs", type=int, default=1, metavar="N", help="suite files run in parallel")
    p.add_argument("--include", action="append", default=[], metavar="TAG", help="only tests with TAG")
    p.add_argument("--exclude", action="append", default=[], metavar="TAG", help="no tests with TAG")
    p.add_argument("--variable", action="append", default=[], metavar="NAME:VALUE",
                   help="a suite variable (as robot --variable)")
    p.add_argument("--test", action="append", default=[], metavar="NAME", help="only tests named NAME")
    p.add_argument("--results", default="vboard-results", metavar="DIR",
                   help="output folder (default: %(default)s)")
    return p


class BadArguments(Exception):
    pass


def robot_arguments(args: argparse.Namespace) -> list[str]:
    """The options robot (or pabot) gets, suites last."""
    if args.jobs < 1:
        raise BadArguments(f"-j {args.jobs}: give at least 1")
    for suite in args.suites:
        if not Path(suite).exists():
            raise BadArguments(f"{suite}: no such suite file or folder")
    for var in args.variable:
        if ":" not in var:
            raise BadArguments(f"--variable {var}: expected NAME:VALUE")
    results = Path(args.results).resolve()
    out = ["--outputdir", str(results), "--xunit", "xunit.xml",
           "--prerunmodifier", "vboard.robot_prerun.RenodeStyle",
           "--variable", f"FIRMWARE:{ROOT / 'firmware' / 'build'}",
           "--variable", f"PLATFORMS:{ROOT / 'platforms'}",
           "--variable", f"SIMULATIONS:{ROOT / 'platforms' / 'simulations'}"]
    for var in args.variable:
        out += ["--variable", var]
    for tag in args.include:
        out += ["--include", tag]
    for tag in args.exclude:
        out += ["--exclude", tag]
    for name in args.test:
        out += ["--test", name]
    return out + [str(Path(s).resolve()) for s in args.suites]


def command(args: argparse.Namespace) -> list[str]:
    options = robot_arguments(args)
    if args.jobs > 1:
        return [sys.executable, "-m", "pabot.pabot", "--no-pabotlib", "--processes", str(args.jobs), *options]
    return [sys.executable, "-m", "robot", *options]


def main_test(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    try:
        cmd = command(args)
    except BadArguments as e:
        print(f"vboard test: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    results = Path(args.results).resolve()
    results.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    # Keep the firmware path and the library importable from anywhere (an installed or editable package).
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", "")])
    if shutil.which("robot", path=env["PATH"]) is None and args.jobs == 1:
        print("vboard test: error: Robot Framework is not installed (pip install robotframework)",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return subprocess.run(cmd, env=env).returncode
    except KeyboardInterrupt:
        return 130
