"""Run vboard firmware on the reference machine, QEMU ``mps2-an385``.

Tests and benchmarks compare the Python emulator against QEMU 7.2 running the
same ELF. :func:`run_on_qemu` starts::

    qemu-system-arm -M mps2-an385 -semihosting-config enable=on,target=native
                    -nographic -monitor none -kernel ELF
                    -chardev socket,id=uart0,path=SOCK,server=on,wait=on
                    -serial chardev:uart0

Chardev plumbing:

* UART0 is QEMU's first serial port. It is bound to a UNIX stream socket in
  a private temporary directory; QEMU listens on it (``server=on``) and does
  not start the guest until this runner connects (``wait=on``), so no byte is
  lost at boot. Everything the guest writes to UART0 DATA arrives on that
  socket and nothing else does: the transcript is exactly the UART0 bytes.
* ``uart0_input`` is written to the same socket. The CMSDK UART model accepts
  a byte only while RX is enabled and RXFULL is clear, so QEMU leaves the rest
  in the socket: input is delivered one byte at a time, as fast as the guest
  reads DATA, with no overrun.
* Semihosting console output (SYS_WRITE0 and friends) and QEMU's own messages
  go to QEMU's stdout/stderr, captured separately as ``host_output``.
* The guest's SYS_EXIT / SYS_EXIT_EXTENDED code becomes QEMU's exit status.
  A guest that never exits (for example a fault handler spinning on ``b .``)
  is killed after ``timeout`` wall-clock seconds and reported ``timed_out``.

QEMU runs without ``-icount`` unless asked (``icount=True``): its timers follow
the host clock, so only deterministic transcripts are comparable between runs
and engines.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

QEMU_BINARY = "qemu-system-arm"
MACHINE = "mps2-an385"
_CONNECT_POLL_SECONDS = 0.005
_KILL_GRACE_SECONDS = 2.0


class QemuNotFoundError(RuntimeError):
    """qemu-system-arm is not on PATH."""


@dataclass(frozen=True)
class QemuResult:
    """Outcome of one QEMU run."""

    transcript: bytes
    exit_code: int
    wall_seconds: float
    timed_out: bool
    host_output: bytes = b""


def qemu_command(elf: Path, uart0_socket: Path, machine: str = MACHINE, icount: bool = False) -> list[str]:
    """Return the QEMU command line for ``elf`` with UART0 on ``uart0_socket``.

    ``icount``: QEMU's virtual clock counts instructions (``-icount shift=5,sleep=off``, about
    31 MHz) instead of following the host clock, so a program whose output depends on how many
    ticks fall within its work prints the same on a loaded host."""
    qemu = shutil.which(QEMU_BINARY)
    if qemu is None:
        raise QemuNotFoundError(
            f"{QEMU_BINARY} not found on PATH; install QEMU 7.2 "
            "(Debian: apt-get install qemu-system-arm)"
        )
    return [
        qemu,
        "-M",
        machine,
        "-semihosting-config",
        "enable=on,target=native",
        "-nographic",
        "-monitor",
        "none",
        "-chardev",
        f"socket,id=uart0,path={uart0_socket},server=on,wait=on",
        "-serial",
        "chardev:uart0",
        *(["-icount", "shift=5,sleep=off"] if icount else []),
        "-kernel",
        str(elf),
    ]


def _connect(
    path: Path, proc: subprocess.Popen[bytes], deadline: float
) -> socket.socket | None:
    """Connect to QEMU's listening socket; None if QEMU died or time ran out."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return None
        if path.exists():
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(str(path))
            except OSError:
                sock.close()
            else:
                return sock
        time.sleep(_CONNECT_POLL_SECONDS)
    return None


def _read_all(sock: socket.socket, sink: bytearray) -> None:
    while True:
        try:
            chunk = sock.recv(65536)
        except OSError:
            return
        if not chunk:
            return
        sink.extend(chunk)


def _send_all(sock: socket.socket, data: bytes) -> None:
    try:
        sock.sendall(data)
    except OSError:
        return


def run_on_qemu(
    elf: Path, *, uart0_input: bytes = b"", timeout: float = 20.0, machine: str = MACHINE,
    icount: bool = False,
) -> QemuResult:
    """Run ``elf`` on QEMU ``machine`` (mps2-an385 unless told) and return its UART0
    transcript and exit code.

    Raises QemuNotFoundError if qemu-system-arm is missing, FileNotFoundError
    if ``elf`` does not exist, RuntimeError if QEMU fails to start.
    """
    elf = Path(elf)
    if not elf.is_file():
        raise FileNotFoundError(f"no such ELF: {elf}")
    with tempfile.TemporaryDirectory(prefix="vboard-qemu-") as tmp:
        sock_path = Path(tmp) / "uart0.sock"
        cmd = qemu_command(elf.resolve(), sock_path, machine, icount)
        start = time.monotonic()
        deadline = start + timeout
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        host_out = bytearray()
        host_reader = threading.Thread(
            target=_read_stream, args=(proc, host_out), daemon=True
        )
        host_reader.start()
        transcript = bytearray()
        sock = _connect(sock_path, proc, deadline)
        reader: threading.Thread | None = None
        writer: threading.Thread | None = None
        if sock is not None:
            reader = threading.Thread(
                target=_read_all, args=(sock, transcript), daemon=True
            )
            reader.start()
            if uart0_input:
                writer = threading.Thread(
                    target=_send_all, args=(sock, uart0_input), daemon=True
                )
                writer.start()
        timed_out = False
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            timed_out = True
            proc.kill()
            proc.wait(timeout=_KILL_GRACE_SECONDS)
        wall = time.monotonic() - start
        if reader is not None:
            reader.join(timeout=_KILL_GRACE_SECONDS)
        host_reader.join(timeout=_KILL_GRACE_SECONDS)
        if sock is not None:
            sock.close()
        if sock is None and not timed_out:
            raise RuntimeError(
                f"QEMU exited with {proc.returncode} before opening UART0: "
                f"{bytes(host_out).decode(errors='replace').strip()}"
            )
        return QemuResult(
            transcript=bytes(transcript),
            exit_code=proc.returncode,
            wall_seconds=wall,
            timed_out=timed_out,
            host_output=bytes(host_out),
        )


def _read_stream(proc: subprocess.Popen[bytes], sink: bytearray) -> None:
    assert proc.stdout is not None
    for chunk in iter(lambda: proc.stdout.read1(65536), b""):  # type: ignore[union-attr]
        sink.extend(chunk)


def main(argv: list[str] | None = None) -> int:
    """Command line: print the UART0 transcript, exit with the guest's code."""
    parser = argparse.ArgumentParser(
        prog="python -m bridge.qemu_ref", description="Run an ELF on QEMU mps2-an385."
    )
    parser.add_argument("elf", type=Path)
    parser.add_argument(
        "--input", default="", help="bytes for UART0 RX (Python escapes allowed)"
    )
    parser.add_argument(
        "--input-file", type=Path, help="file whose bytes go to UART0 RX"
    )
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--machine", default=MACHINE, help="QEMU machine (mps2-an385, mps2-an511)")
    args = parser.parse_args(argv)
    data = args.input.encode().decode("unicode_escape").encode("latin-1")
    if args.input_file is not None:
        data += args.input_file.read_bytes()
    result = run_on_qemu(args.elf, uart0_input=data, timeout=args.timeout, machine=args.machine)
    sys.stdout.buffer.write(result.transcript)
    sys.stdout.flush()
    if result.timed_out:
        print(f"[qemu_ref: timed out after {args.timeout:.1f} s]", file=sys.stderr)
        return 124
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
