"""``vboard ctl``: drive a running ``vboard serve`` from the shell.

``vboard ctl [--address HOST:PORT | --port-file F] [--token T] [--json] COMMAND``

Commands: ``status``, ``pause``, ``resume``, ``start``, ``reset``,
``run-for 1s``, ``uart [--follow] [--board B] [--uart U]``, ``write TEXT``
(``--line`` adds a newline), ``link up|down [PORT]``, ``loss P [PORT]``,
``ports``, ``pcap start FILE`` / ``pcap stop``, ``snapshot save|load NAME``,
``events [--follow]``, ``load FIRMWARE``, and the Wi-Fi access points of a
board: ``wifi list``, ``wifi add SSID --password P|--open [--rssi DBM]
[--channel N] [--bssid MAC]``, ``wifi remove SSID``, ``wifi rssi DBM [SSID]``,
``wifi drop`` (each with ``--board B``).
The server: ``--address`` (or ``$VBOARD_ADDRESS``, token ``--token`` or
``$VBOARD_TOKEN``), else the port file ``vboard serve`` wrote (``--port-file``,
default ``$XDG_RUNTIME_DIR/vboard/serve.json``), which holds both.
Exit status: 0, 1 when the server refused (its message on stderr), 2 for a
bad command line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict

from vboard.net_options import add_net_options

EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="vboard ctl", description="Control a running vboard serve.",
        epilog="The server: --address (or $VBOARD_ADDRESS, with --token or $VBOARD_TOKEN), else the port "
        "file vboard serve wrote (--port-file; default $XDG_RUNTIME_DIR/vboard/serve.json or "
        "~/.local/share/vboard/serve.json), which holds the address and the token. Exit status: 0; "
        "1 the server refused (its message on stderr); 2 a bad command line or no server found.")
    p.add_argument("--address", default=None, help="HOST:PORT of the server (default: $VBOARD_ADDRESS, "
                   "else the port file)")
    p.add_argument("--port-file", help="the server's port file (address and token, as vboard serve "
                   "writes it)")
    p.add_argument("--token", default=None, help="bearer token (default: $VBOARD_TOKEN with an address, "
                   "else the port file's)")
    p.add_argument("--json", action="store_true", help="print replies as JSON")
    p.add_argument("--timeout", type=float, default=120.0, help="wall-clock seconds per call")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, text in (("status", "the emulation's state, virtual time and boards"),
                       ("pause", "stop virtual time"), ("resume", "let virtual time run again"),
                       ("start", "start the loaded firmware running"),
                       ("ports", "the switch ports: link state, loss, counters")):
        sub.add_parser(name, help=text, description=text)
    r = sub.add_parser("reset", help="reset a board (all boards by default)")
    r.add_argument("--board", default="")
    r = sub.add_parser("run-for", help="run for a span of virtual time, then pause")
    r.add_argument("duration", help="virtual time, e.g. 1s, 250ms")
    u = sub.add_parser("uart", help="print what a UART sent so far (--follow: and keep printing)")
    u.add_argument("--follow", "-f", action="store_true", help="keep printing new output")
    u.add_argument("--board", default="")
    u.add_argument("--uart", default="")
    w = sub.add_parser("write", help="send text to a board's UART")
    w.add_argument("text")
    w.add_argument("--line", action="store_true", help="append a newline")
    w.add_argument("--board", default="")
    w.add_argument("--uart", default="")
    lk = sub.add_parser("link", help="take a switch port's link up or down")
    lk.add_argument("state", choices=("up", "down"))
    lk.add_argument("port", nargs="?", default="")
    ls = sub.add_parser("loss", help="set a switch port's frame loss probability (0..1)")
    ls.add_argument("probability", type=float)
    ls.add_argument("port", nargs="?", default="")
    pc = sub.add_parser("pcap", help="start a pcapng capture of every port to FILE (below the server's "
                        "--root), or stop it")
    pc.add_argument("action", choices=("start", "stop"))
    pc.add_argument("file", nargs="?")
    sn = sub.add_parser("snapshot", help="save, load or list snapshots of the boards (pause first)")
    sn.add_argument("action", choices=("save", "load", "list"))
    sn.add_argument("name", nargs="?")
    sn.add_argument("--file", default="", help="also write to / read from this file (below the "
                    "server's --root)")
    ev = sub.add_parser("events", help="print the event history (--follow: and new events)")
    ev.add_argument("--follow", "-f", action="store_true")
    ld = sub.add_parser("load", help="load a firmware image or a simulation file (below the server's --root)")
    ld.add_argument("firmware")
    ld.add_argument("--platform", default="", help="board name or platform YAML")
    add_net_options(ld.add_argument_group("network (as vboard run takes it)"))
    _add_wifi_parser(sub)
    return p


def _add_wifi_parser(sub: Any) -> None:
    wifi = sub.add_parser("wifi", help="the virtual access points of a board with a Wi-Fi module")
    actions = wifi.add_subparsers(dest="action", required=True)
    boards = argparse.ArgumentParser(add_help=False)
    boards.add_argument("--board", default="", help="board name (default: the first)")
    actions.add_parser("list", parents=[boards], help="access points and the station's state")
    add = actions.add_parser("add", parents=[boards], help="add or replace an access point")
    add.add_argument("ssid")
    security = add.add_mutually_exclusive_group(required=True)
    security.add_argument("--password", help="WPA2 passphrase, 8..63 characters")
    security.add_argument("--open", action="store_true", help="an open access point")
    add.add_argument("--rssi", type=int, help="dBm, -120..-1 (default -50)")
    add.add_argument("--channel", type=int, help="1..14 (default 6)")
    add.add_argument("--bssid", default="", help="aa:bb:cc:dd:ee:ff (default: an unused one)")
    rm = actions.add_parser("remove", parents=[boards], help="the access point disappears")
    rm.add_argument("ssid")
    rs = actions.add_parser("rssi", parents=[boards], help="set an access point's RSSI")
    rs.add_argument("rssi", type=int, help="dBm, -120..-1")
    rs.add_argument("ssid", nargs="?", default="", help="default: the AP the station is joined to")
    actions.add_parser("drop", parents=[boards], help="the AP drops the station (the module rejoins)")


def _ns(ns: int) -> str:
    return f"{ns / 1e9:.6f} s"


def _print_state(st: Any) -> None:
    print(f"state: {st.state}  virtual time: {_ns(st.time_ns)}  instructions: {st.instructions}"
          + (f"  exit code: {st.exit_code}" if st.exited else ""))
    if st.loaded:
        print(f"loaded: {st.loaded} ({st.pace})")
    for b in st.boards:
        extra = f" exit {b.exit_code}" if b.exited else ""
        print(f"  {b.name:<10} {b.state:<8} {_ns(b.time_ns)}  pc=0x{b.pc:08X}{extra}  {b.firmware}")
        if b.fault_report:
            print("    " + b.fault_report.replace("\n", "\n    "))


def _print_ports(pl: Any) -> None:
    print(f"backend: {pl.backend}")
    for p in pl.ports:
        dropped = ", ".join(f"{k} {v}" for k, v in sorted(p.dropped.items())) or "none"
        print(f"  {p.name:<14} {'up' if p.up else 'DOWN':<4} loss {p.loss:g} delay {p.delay_ns} ns  "
              f"in {p.rx_frames} ({p.rx_bytes} B) out {p.tx_frames} ({p.tx_bytes} B) dropped {dropped}")


def _print_wifi(st: Any) -> None:
    where = f"on '{st.ssid}'" + (f", IP {st.ip}" if st.ip else "") if st.ssid else ""
    print(f"board {st.board}: module {st.module} (MAC {st.mac}), station {st.state} {where}".rstrip())
    print(f"  {'SSID':<32} {'SECURITY':<8} {'CH':>2} {'RSSI':>4}  BSSID")
    for ap in st.access_points:
        mark = "*" if ap.ssid == st.ssid else " "
        print(f"{mark} {ap.ssid:<32} {'WPA2' if ap.secured else 'open':<8} {ap.channel:>2} {ap.rssi:>4}  "
              f"{ap.bssid}")


def _wifi(args: argparse.Namespace, c: Any, out: Any) -> None:
    action, board = args.action, args.board
    if action == "list":
        out(c.wifi_status(board), _print_wifi)
        return
    if action == "add":
        st = c.add_access_point(args.ssid, args.password or "", args.rssi, args.channel, args.bssid, board,
                                open_ap=args.open)
        done = f"added access point '{args.ssid}'"
    elif action == "remove":
        st = c.remove_access_point(args.ssid, board)
        done = f"removed access point '{args.ssid}'"
    elif action == "rssi":
        st = c.set_rssi(args.rssi, args.ssid, board)
        done = f"RSSI of '{args.ssid or 'the joined access point'}' set to {args.rssi} dBm"
    else:
        st = c.drop_station(board)
        done = "the access point dropped the station"
    out(st, lambda s: (print(done), _print_wifi(s)))


def main_ctl(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from vboard.client import Client, ClientError

    try:
        client = Client(args.address, token=args.token, timeout=args.timeout, port_file=args.port_file)
    except ClientError as e:
        print(f"vboard ctl: error: no server: {e.message} (give --address HOST:PORT, --port-file or "
              "$VBOARD_ADDRESS)", file=sys.stderr)
        return EXIT_BAD_INPUT

    def out(msg: Any, text: Any = None) -> None:
        if args.json:
            print(json.dumps(MessageToDict(msg, preserving_proto_field_name=True), indent=2))
        elif callable(text):
            text(msg)
        elif text is not None:
            print(text)

    try:
        return _dispatch(args, client, out)
    except ClientError as e:
        print(f"vboard ctl: {e.code}: {e.message}", file=sys.stderr)
        return EXIT_REFUSED
    except ValueError as e:
        print(f"vboard ctl: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    finally:
        client.close()


def _dispatch(args: argparse.Namespace, c: Any, out: Any) -> int:
    cmd = args.command
    if cmd == "status":
        out(c.state(), _print_state)
    elif cmd in ("pause", "resume", "start"):
        out(getattr(c, cmd)(), _print_state)
    elif cmd == "reset":
        out(c.reset(args.board), _print_state)
    elif cmd == "run-for":
        out(c.run_for(args.duration), _print_state)
    elif cmd == "load":
        out(c.load(str(Path(args.firmware).resolve()), platform=args.platform, net=args.net,
                   forwards=args.forward), _print_state)
    elif cmd == "uart":
        if not args.follow:
            chunk = c.uart_read(0, args.board, args.uart)
            if args.json:
                out(chunk)
            else:
                sys.stdout.buffer.write(chunk.data)
                sys.stdout.flush()
            return 0
        for chunk in c.uart_stream(0, args.board, args.uart):
            if args.json:
                out(chunk)
            else:
                sys.stdout.buffer.write(chunk.data)
                sys.stdout.flush()
    elif cmd == "write":
        text = args.text + ("\n" if args.line else "")
        out(c.uart_write(text, args.board, args.uart), f"wrote {len(text.encode())} bytes")
    elif cmd == "link":
        out(c.set_link(args.port, up=args.state == "up"), lambda p: print(f"{p.name}: link {args.state}"))
    elif cmd == "loss":
        out(c.set_link(args.port, loss=args.probability), lambda p: print(f"{p.name}: loss {p.loss:g}"))
    elif cmd == "ports":
        out(c.ports(), _print_ports)
    elif cmd == "pcap":
        if args.action == "start":
            if not args.file:
                raise ValueError("pcap start FILE: give the capture file")
            out(c.start_capture(str(Path(args.file).resolve())), f"capturing to {args.file}")
        else:
            out(c.stop_capture(), lambda i: print(f"capture {i.path}: {i.frames} frames"))
    elif cmd == "snapshot":
        if args.action == "list":
            out(c.snapshots(), lambda sl: [print(f"{s.name}  {_ns(s.time_ns)}  {s.size_bytes} bytes")
                                           for s in sl.snapshots])
            return 0
        if not args.name:
            raise ValueError(f"snapshot {args.action} NAME: give a name")
        fn = c.save_snapshot if args.action == "save" else c.load_snapshot
        path = str(Path(args.file).resolve()) if args.file else ""
        out(fn(args.name, path), lambda s: print(
            f"snapshot {s.name} {'saved' if args.action == 'save' else 'loaded'} at {_ns(s.time_ns)}"
            + (f" (not restored: {', '.join(s.not_restored)})" if s.not_restored else "")))
    elif cmd == "wifi":
        _wifi(args, c, out)
    elif cmd == "events":
        for e in c.event_stream(history=True, timeout=None if args.follow else 1.0):
            out(e, f"[{_ns(e.time_ns)}] {e.kind}{' ' + e.board if e.board else ''}: {e.text}")
    return 0


if __name__ == "__main__":
    sys.exit(main_ctl())
