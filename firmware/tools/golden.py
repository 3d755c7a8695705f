"""Record or check the QEMU reference transcripts in firmware/golden/.

    python firmware/tools/golden.py            # write golden/<name>.txt
    python firmware/tools/golden.py --check    # 3 runs each, compare to files
    python firmware/tools/golden.py --board an511 hello   # build/an511/hello.elf on
                                               # QEMU mps2-an511 -> golden/an511/hello.txt

Run from the repository root after `make -C firmware`. Programs that hang
by design (crash*) are run with a short timeout; uart_echo gets
golden/uart_echo.input on UART0.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bridge.qemu_ref import QemuResult

ROOT = Path(__file__).resolve().parents[2]

FIRMWARE = ROOT / "firmware"
BUILD = FIRMWARE / "build"
GOLDEN = FIRMWARE / "golden"
HANGS = {"crash", "crash_udf", "crash_parked"}
HANGS_ON = {"an511": {"trng"}}  # QEMU 7.2 has no TZ-TRNG: the driver's first loop never ends
HANG_TIMEOUT = 2.0
TIMEOUT = 20.0
RUNS = 3


BOARDS = {"an385": (BUILD, GOLDEN), "an511": (BUILD / "an511", GOLDEN / "an511")}


def programs(board: str = "an385") -> list[str]:
    names = [p.stem for p in sorted((FIRMWARE / "tests").glob("*.c"))]
    if board == "an385":
        names += [p.stem for p in sorted((FIRMWARE / "demo").glob("*.c"))]
    return names


def run(name: str, board: str = "an385") -> QemuResult:
    build, golden = BOARDS[board]
    inp = golden / f"{name}.input"
    data = inp.read_bytes() if inp.exists() else b""
    timeout = HANG_TIMEOUT if hangs(name, board) else TIMEOUT
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    run_on_qemu = importlib.import_module("bridge.qemu_ref").run_on_qemu
    return run_on_qemu(build / f"{name}.elf", uart0_input=data, timeout=timeout, machine=f"mps2-{board}")


def hangs(name: str, board: str) -> bool:
    return name in HANGS or name in HANGS_ON.get(board, set())


def verdict(name: str, res: QemuResult, board: str = "an385") -> str | None:
    if hangs(name, board):
        return None if res.timed_out else f"expected a hang, got exit {res.exit_code}"
    if res.timed_out:
        return "timed out"
    if res.exit_code != 0:
        return f"exit code {res.exit_code}"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="compare 3 runs with the files"
    )
    parser.add_argument("--board", choices=sorted(BOARDS), default="an385",
                        help="which build and QEMU machine (default: an385)")
    parser.add_argument("names", nargs="*", help="programs (default: all)")
    args = parser.parse_args()
    golden_dir = BOARDS[args.board][1]
    golden_dir.mkdir(exist_ok=True)
    failed = 0
    for name in args.names or programs(args.board):
        results = [run(name, args.board) for _ in range(RUNS if args.check else 1)]
        first = results[0]
        problem = verdict(name, first, args.board)
        if any(r.transcript != first.transcript for r in results):
            problem = "transcript differs between runs"
        path = golden_dir / f"{name}.txt"
        if args.check:
            if not path.exists() or path.read_bytes() != first.transcript:
                problem = problem or "differs from golden file"
        elif problem is None:
            path.write_bytes(first.transcript)
        lines = first.transcript.count(b"\n")
        status = "hang" if first.timed_out else f"exit {first.exit_code}"
        print(f"{name:16} {status:8} {lines:3} lines  {problem or 'ok'}")
        failed += problem is not None
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
