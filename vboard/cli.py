"""The ``vboard`` command line.

``vboard run [--platform mps2-an385] FIRMWARE [--max-time 5s] [--pace fast|idle|realtime]
[--uart0 stdio|pty|tcp:PORT|file:PATH|none] [--uart1 ...] [--gdb PORT] [--trace-exceptions]``

Exit status: the firmware's semihosting exit code; 2 for bad input (one
line on stderr saying what and where); 3 when the firmware faults (a fault
report on stderr); 4 when the CPU sleeps with nothing left to wake it; 124
when ``--max-time`` of virtual time is reached.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from vboard import signals
from vboard.net_options import add_net_options

EXIT_BAD_INPUT = 2
EXIT_FAULT = 3
EXIT_IDLE = 4
EXIT_TIMEOUT = 124
EXIT_LOST = 5  # an output (capture, UART file) could not be written: ENOSPC, EIO
EXIT_BROKEN_PIPE = 141  # stdout's reader went away (128 + SIGPIPE, as a shell reports it)
RUN_EXIT_CODES = """exit status:
  N    the firmware's own exit code (semihosting SYS_EXIT / SYS_EXIT_EXTENDED), 0 for success
  2    bad input: one line on stderr says what and where (file:line: key for YAML files)
  3    a firmware fault or lockup (the fault report is on stderr)
  4    the CPU sleeps with nothing left to wake it
  5    an output could not be written (--pcap, --trace, --uartN file:PATH: ENOSPC, EIO); reported once
  124  --max-time reached
  129, 130, 143  ended by SIGHUP, SIGINT (Ctrl-C), SIGTERM: outputs flushed and closed first
  141  stdout's reader went away (| head): no traceback"""

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "m": 60.0, "h": 3600.0}


class UsageError(Exception):
    pass


def parse_duration(text: str) -> float:
    """``5s``, ``250ms``, ``1.5`` (seconds), ``2min`` -> seconds."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zµ]*)\s*", text)
    if not m or (m.group(2) and m.group(2) not in _UNITS):
        raise UsageError(f"'{text}' is not a duration (examples: 5s, 250ms, 2min)")
    value = float(m.group(1)) * _UNITS[m.group(2) or "s"]
    if value <= 0:
        raise UsageError(f"'{text}': the duration must be positive")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vboard",
                                     description="A virtual Cortex-M board for network firmware.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="serve a board or simulation over gRPC (vboard serve --help)")
    sub.add_parser("ctl", help="control a served board: status, pause, uart, link, snapshot... "
                   "(vboard ctl --help)")
    sub.add_parser("demo", help="network firmware meets host programs: DHCP, DNS, HTTP both ways "
                   "(vboard demo --help)")
    sub.add_parser("wifi-module", help="serve an emulated ESP8266 Wi-Fi module on a serial endpoint "
                   "(vboard wifi-module --help)")
    sub.add_parser("test", help="run Robot suites against vboard, Renode's keywords (vboard test --help)")
    run = sub.add_parser("run", help="run firmware on a board", description="Run a firmware image "
                         "(ELF, Intel HEX or raw binary) on a virtual board.", epilog=RUN_EXIT_CODES,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("firmware", help="firmware image (ELF, .hex, or raw .bin loaded at --base), "
                     "or a simulation file (.yaml) of several boards")
    run.add_argument("--platform", default="mps2-an385",
                     help="board name or platform YAML (default: %(default)s)")
    run.add_argument("--max-time", metavar="DURATION", help="stop after this much virtual time (e.g. 5s)")
    run.add_argument("--pace", choices=("fast", "idle", "realtime"), default=None,
                     help="fast: never wait for the wall clock; idle: the board's sleeps take their time "
                     "on the wall clock, its work runs as fast as the host can; realtime: never run ahead "
                     "of the wall clock (default: fast, idle with --net or host sockets)")
    for i in range(5):
        run.add_argument(f"--uart{i}", metavar="ENDPOINT", default=None,
                         help="stdio, pty, tcp:PORT, file:PATH or none (default: stdio for the board's "
                         "console UARTs, uart0 on the MPS2 boards, uart0 and uart1 on the AN511; none for "
                         "the others)" if i == 0 else f"the same for uart{i}")
    run.add_argument("--base", default="0", help="load address of a raw binary (default: 0)")
    run.add_argument("--cmdline", metavar="TEXT", help="the firmware's semihosting command line "
                     "(SYS_GET_CMDLINE), e.g. 'wifi_tests ap-loss' (default: firmware)")
    net = run.add_argument_group("network")
    add_net_options(net)
    net.add_argument("--pcap", metavar="FILE", help="capture the board's Ethernet (every switch port of a "
                     "simulation) to a pcapng file")
    net.add_argument("--dns-record", action="append", default=[], metavar="NAME=IP",
                     help="answer DNS queries for NAME with IP (repeatable)")
    net.add_argument("--dns-file", metavar="FILE", help="hosts-style file of DNS records (IP NAME...)")
    net.add_argument("--wire-rate", metavar="MBPS", default=None,
                     help="the board's Ethernet wire in Mbit/s: a frame to the board takes its serialisation "
                     "time on it (default: 100, the LAN9118's PHY; 0: none, a frame arrives the instant it "
                     "is sent, as on QEMU)")
    run.add_argument("--gdb", metavar="PORT", type=int, help="wait for a GDB connection on 127.0.0.1:PORT")
    run.add_argument("--strict", action="store_true",
                     help="stop at the first access to an address no memory or device serves (a fault "
                     "report, exit 3) instead of giving the firmware its BusFault")
    run.add_argument("--trace-exceptions", action="store_true", help="log exception entry/return to stderr")
    run.add_argument("--trace", metavar="FILE", help="write a timeline in virtual time (Perfetto/Chrome "
                     "JSON: exceptions, UART lines, frames, links, faults; one track group per board)")
    run.add_argument("--stats", action="store_true",
                     help="print instructions, virtual and wall time and MIPS on stderr at the end")
    run.add_argument("-q", "--quiet", action="store_true",
                     help="no status lines on stderr, and of the board log only errors (--log-level error)")
    run.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default=None,
                     help="board log records at this level and above go to stderr (default: warning, "
                     "error with -q): faults taken, accesses nothing serves, device guest errors")
    return parser


def _status(args: argparse.Namespace, message: str) -> None:
    if not args.quiet:
        print(f"vboard: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _start_up_without_collection() -> Iterator[Callable[[], None]]:
    """Start-up (imports, the platform, the machine, the endpoints) makes many objects that live as
    long as the run and no cyclic garbage: the cyclic collector's passes over them are wasted CPU.
    The collector is off until the caller calls the function this yields, as the run begins; as it
    was before, after."""
    was_enabled = gc.isenabled()
    gc.disable()

    def resume() -> None:
        if was_enabled:
            gc.enable()

    try:
        yield resume
    finally:
        resume()


def cmd_run(args: argparse.Namespace) -> int:
    with _start_up_without_collection() as run_begins:
        return _run_board(args, run_begins)


def _run_board(args: argparse.Namespace, run_begins: Callable[[], None]) -> int:
    from bridge.pacing import IdlePacer, RealtimePacer
    from bridge.uart_endpoints import Endpoint, HostInput, PtyEndpoint, TcpEndpoint, open_endpoint
    from emulator.board.loader import load_image
    from emulator.board.machine import Machine
    from emulator.board.platform import load_platform
    from vboard.log_lines import log_floor, print_records
    from vboard.spec_cache import default_spec_cache

    max_time = parse_duration(args.max_time) if args.max_time else None
    wire_bps = parse_wire_rate(args.wire_rate or "100")
    args.pace_given = args.pace is not None
    args.pace = args.pace or "fast"
    if args.firmware.endswith((".yaml", ".yml")):
        from vboard.run_simulation import run_simulation

        if args.net != "none":
            raise UsageError("--net is for one board; a simulation's boards share their own switch")
        if args.cmdline is not None:
            raise UsageError("--cmdline is for one board, not a simulation")
        if args.wire_rate is not None:
            raise UsageError("--wire-rate is for one board; a simulation file gives each port's rate_mbps")
        run_begins()
        return run_simulation(args, max_time, lambda m: _status(args, m))
    if args.dns_record or args.dns_file:
        from bridge.net.dns import DnsRecords

        DnsRecords.build(args.dns_record, [args.dns_file] if args.dns_file else [])  # fail early
    try:
        base = int(args.base, 0)
    except ValueError:
        raise UsageError(f"--base '{args.base[:80]}': expected an address such as 0x0") from None
    _check_base_and_gdb(args, base)
    platform = load_platform(args.platform, cache=default_spec_cache())
    image = load_image(args.firmware, base=base)
    machine = Machine(platform, strict=args.strict)
    print_records(machine.board_log, log_floor(args))
    machine.load(image)
    if args.cmdline is not None:
        _set_cmdline(machine, args.cmdline)

    trace = _start_trace(args, machine)
    host_input = HostInput()
    signals.current.wakers.append(host_input.arrived)  # a signal ends an idle wait at once
    endpoints: list[Endpoint] = []
    stdin_taken = args.gdb is not None  # gdb's terminal owns stdin
    labels: dict[int, str] = {}
    for i in range(5):
        name = f"uart{i}"
        spec = getattr(args, f"uart{i}")
        if spec is None:
            spec = "stdio" if name in platform.console else "none"
        if spec == "none":
            continue
        if name not in machine.devices:
            raise UsageError(f"--{name}: {platform.name} has no {name}")
        ep = open_endpoint(spec, machine.port(name), machine, host_input,
                           read_stdin=spec == "stdio" and not stdin_taken, label=f"--{name}")
        stdin_taken = stdin_taken or spec == "stdio"
        if ep is None:
            continue
        endpoints.append(ep)
        labels[id(ep)] = f"--{name}"
        if isinstance(ep, PtyEndpoint):
            _status(args, f"{name} on {ep.path}")
        elif isinstance(ep, TcpEndpoint):
            _status(args, f"{name} on tcp {ep.address[0]}:{ep.address[1]}")
    machine.semihost_out.connect(lambda data: (sys.stdout.buffer.write(data), sys.stdout.buffer.flush()))
    if args.trace_exceptions:
        machine.cpu.trace_exceptions = lambda text: print(
            f"[{machine.clock.now / machine.clock.hz:12.6f}] {text}", file=sys.stderr)
    socket_providers = _attach_host_sockets(machine, args)
    network = None
    if args.net != "none" or args.pcap or args.forward:  # a forward without --net user is an error
        from bridge.net.attach import attach_network

        if not machine.ethernet_devices():
            raise UsageError(f"--net/--pcap: {platform.name} has no Ethernet device")
        network = attach_network(machine, args.net, forwards=args.forward, pcap=args.pcap,
                                 dns_records=args.dns_record, dns_file=args.dns_file,
                                 host_input=host_input, on_error=lambda m: _status(args, m),
                                 wire_bps=wire_bps)
        if network.status() is not None:
            _status(args, network.status())
        # Threads that still hand host input over (UART endpoints, passt's guest
        # gate): a short GIL switch interval keeps their latency well below the
        # default 5 ms. The network backends are polled on this thread.
        sys.setswitchinterval(0.0002)
        if args.net != "none" and args.pace == "fast" and not args.pace_given:
            args.pace = "idle"  # real hosts on the other side: the board's sleeps take their wall time
    if trace is not None and network is not None:
        for port in network.board_ports.values():
            trace.boards[0].add_switch_port(port)
    if args.pace == "realtime":
        machine.pacer = RealtimePacer(platform.clock_hz, host_input)
    elif args.pace == "idle":
        machine.pacer = IdlePacer(machine.clock, host_input)
    machine.idle_wait = host_input.wait  # False at once when no source is left (stdin at EOF)

    def flush() -> None:
        for ep in endpoints:
            ep.flush()

    run_begins()
    try:
        if args.gdb is not None:
            from bridge.gdbserver import GdbServer

            server = GdbServer(machine, args.gdb)
            _status(args, f"waiting for GDB on 127.0.0.1:{server.port}")
            result = server.serve()
            flush()
            if result.kind == "exit":
                return result.exit_code or 0
            if result.kind in ("fault", "lockup") and result.report is not None:
                _print_report(result.report)
                return EXIT_FAULT
            return 0
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            return _run_loop(args, machine, max_time, flush,
                             on_stop=trace.boards[0].stopped if trace is not None else None)
        finally:
            if args.stats:
                wall = time.perf_counter() - started
                n = machine.instructions
                print(f"vboard: stats: instructions={n} virtual_s={machine.clock.now / machine.clock.hz:.6f} "
                      f"wall_s={wall:.3f} mips={n / wall / 1e6 if wall else 0:.1f} "
                      f"cpu_s={time.process_time() - cpu_started:.3f}", file=sys.stderr)
    finally:
        flush()
        if trace is not None:
            trace.close()
        for ep in endpoints:
            ep.close()
            if ep.unread:
                print(f"vboard: warning: {labels[id(ep)]} {ep.description}: the last {ep.unread} bytes of "
                      "output were never read", file=sys.stderr, flush=True)
        if network is not None:
            network.close()
        for provider in socket_providers:
            provider.shutdown()
        pcap_error = network.pcap.error if network is not None and network.pcap is not None else None
        _report_lost_output(args, [(f"{labels[id(ep)]} ", ep.error) for ep in endpoints] +
                            [(f"--pcap {args.pcap}: ", pcap_error),
                             (f"--trace {args.trace}: ", trace.error if trace is not None else None)])


def _report_lost_output(args: argparse.Namespace, errors: list[tuple[str, str | None]]) -> None:
    """Each output that failed to be written (ENOSPC, EIO), once; the exit status becomes EXIT_LOST."""
    for what, error in errors:
        if error:
            print(f"vboard: error: {what}{error} (output after it is lost)", file=sys.stderr, flush=True)
            args.output_lost = True


def parse_wire_rate(text: str) -> int:
    """``--wire-rate MBPS`` in bits per second (0: no wire time)."""
    try:
        mbps = float(text)
    except ValueError:
        mbps = -1.0
    if not 0.0 <= mbps <= 100_000.0:  # (NaN fails too)
        raise UsageError(f"--wire-rate '{text[:80]}': expected Mbit/s from 0 (no wire time) to 100000")
    return int(mbps * 1_000_000)


def _check_base_and_gdb(args: argparse.Namespace, base: int) -> None:
    if not 0 <= base <= 0xFFFFFFFF:
        raise UsageError(f"--base {args.base[:80]}: expected an address below 4 GiB")
    if base and not _is_raw_binary(args.firmware):
        raise UsageError(f"--base is for a raw binary; {args.firmware} is an ELF or Intel HEX file, which "
                         "says itself where it loads")
    if args.gdb is not None and not 1 <= args.gdb <= 65535:
        raise UsageError(f"--gdb {args.gdb}: expected a TCP port 1..65535")


def _is_raw_binary(path: str) -> bool:
    if path.lower().endswith((".hex", ".ihex")):
        return False
    try:
        with open(path, "rb") as f:
            return f.read(4) != b"\x7fELF"
    except OSError:
        return True  # the loader says what is wrong with it


def _print_report(report: object) -> None:
    """A stop's fault report; its headline already went to stderr as the board log's error line."""
    from emulator.board.faultreport import FaultReport

    assert isinstance(report, FaultReport)
    if len(report.lines) > 1:
        print("\n".join(report.lines[1:]), file=sys.stderr, flush=True)


def _start_trace(args: argparse.Namespace, machine: object) -> Any:
    """``--trace FILE``: a ``bridge.trace.TraceWriter`` following the board (fails early: exit 2)."""
    if not args.trace:
        return None
    from bridge.trace import TraceWriter
    from emulator.board.machine import Machine

    assert isinstance(machine, Machine)
    writer = TraceWriter(args.trace)
    writer.add_board(machine, machine.name or machine.platform.name)
    return writer


def _set_cmdline(machine: object, cmdline: str) -> None:
    from bridge.rpc_errors import RuntimeFailure
    from bridge.rpc_runtime import check_cmdline
    from emulator.board.machine import Machine

    assert isinstance(machine, Machine)
    try:
        check_cmdline(cmdline)
    except RuntimeFailure as e:
        raise UsageError(f"--cmdline: {e}") from None
    machine.semihosting.cmdline = cmdline


def _attach_host_sockets(machine: object, args: argparse.Namespace) -> list:
    """Modules with socket offload (the ESP8266) reach the host through real sockets."""
    from emulator.board.machine import Machine
    from emulator.net.sockets import SocketProvider

    assert isinstance(machine, Machine)
    providers = []
    for dev in machine.devices.values():
        if isinstance(getattr(dev, "provider", None), SocketProvider):
            from bridge.host_sockets import HostSocketProvider
            from bridge.net.dns import DnsRecords

            records = DnsRecords.build(args.dns_record, [args.dns_file] if args.dns_file else [])
            provider = HostSocketProvider(machine.post, records)
            dev.provider = provider  # type: ignore[attr-defined]
            provider.attach(dev)
            providers.append(provider)
    if providers and not args.pace_given:
        args.pace = "idle"  # real hosts on the other side
    return providers


def _run_loop(args: argparse.Namespace, machine: object, max_time: float | None, flush: object,
              on_stop: Callable[[Any], None] | None = None) -> int:
    from emulator.board.machine import Machine

    assert isinstance(machine, Machine)
    clock = machine.clock
    end = None if max_time is None else clock.cycles(max_time)
    chunk = clock.cycles(0.01)
    while True:
        budget = chunk if end is None else min(chunk, end - clock.now)
        with signals.current.deferred():
            stop = machine.run(budget)
        flush()  # type: ignore[operator]
        signals.current.check()
        if stop.kind == "time":
            if end is not None and clock.now >= end:
                _status(args, f"stopped at --max-time {args.max_time} of virtual time "
                        f"({machine.instructions} instructions)")
                return EXIT_TIMEOUT
            continue
        if stop.kind == "exit":
            return stop.exit_code or 0
        if on_stop is not None:
            on_stop(stop)
        if stop.kind in ("fault", "lockup"):
            assert stop.report is not None
            _print_report(stop.report)
            return EXIT_FAULT
        if stop.kind == "idle":
            _status(args, f"{stop.message} (at {clock.now / clock.hz:.6f} s virtual time)")
            return EXIT_IDLE
        _status(args, f"stopped: {stop.kind} {stop.message}")
        return EXIT_FAULT


def main(argv: Sequence[str] | None = None) -> int:
    """The ``vboard`` command. Without ``argv`` (the ``vboard`` script, ``python -m vboard.cli``)
    the process ends after it: every object left then goes to the collector's permanent generation,
    so the interpreter's last collection does not walk them all (a tenth of a short run's CPU);
    the outputs are closed by then."""
    try:
        return _main(argv)
    except BrokenPipeError:
        # Whoever read stdout went away (`vboard ctl status | head -1`): end quietly, as a shell tool
        # killed by SIGPIPE would, and keep the interpreter's last flush from failing again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    finally:
        if argv is None:
            gc.freeze()


# The exceptions that mean bad input (exit 2, one line), by module and name: each module is imported
# by the run only when it needs it, and an exception of a module never imported cannot be raised.
BAD_INPUT_ERRORS = (("bridge.net.attach", "NetworkError"), ("bridge.net.dns", "DnsConfigError"),
                    ("bridge.trace", "TraceError"), ("bridge.uart_endpoints", "EndpointError"),
                    ("emulator.board.loader", "FirmwareError"), ("emulator.board.platform", "PlatformError"))


def _bad_input_errors() -> tuple[type[BaseException], ...]:
    """UsageError, OSError and each of ``BAD_INPUT_ERRORS`` whose module this process imported."""
    loaded = [getattr(sys.modules[module], name) for module, name in BAD_INPUT_ERRORS
              if module in sys.modules]
    return (UsageError, OSError, *loaded)


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["wifi-module"]:
        from bridge.wifi_module import main_wifi_module

        return main_wifi_module(argv[1:])
    if argv[:1] == ["demo"]:
        from vboard.demo import main_demo

        return main_demo(argv[1:])
    if argv[:1] == ["serve"]:
        from vboard.serve import main_serve

        return main_serve(argv[1:])
    if argv[:1] == ["ctl"]:
        from vboard.ctl import main_ctl

        return main_ctl(argv[1:])
    if argv[:1] == ["test"]:
        from vboard.testrun import main_test

        return main_test(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            with signals.run_signals():
                code = cmd_run(args)
            return EXIT_LOST if getattr(args, "output_lost", False) and code in (0, EXIT_TIMEOUT, EXIT_IDLE) \
                else code
    except _bad_input_errors() as e:  # evaluated when an exception gets here
        print(f"vboard: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as e:
        if isinstance(e, signals.Interrupted):
            print(f"vboard: interrupted by {e.name}", file=sys.stderr)
            return e.exit_code
        print("vboard: interrupted", file=sys.stderr)
        return 130
    return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
