"""The Robot library's pure parts: the terminal tester, monitor lines, argument checks, packet matching."""

from __future__ import annotations

import pytest
import yaml

from vboard.robot_args import hex_bytes, keyword_args, seconds_ns
from vboard.robot_monitor import MonitorError, MonitorSetup, map_platform, parse_time
from vboard.robot_netif import bytes_at
from vboard.robot_terminal import TerminalTester


def make_tester(**kw: object) -> TerminalTester:
    return TerminalTester(0, "board", "uart0", 0, 8_000_000_000, **kw)  # type: ignore[arg-type]


def test_lines_drop_cr_nul_and_colour_codes() -> None:
    t = make_tester()
    t.feed(b"one\r\n\x1b[32mgreen\x1b[0m\r\ntw\x00o\r\npart")
    assert [ln.text for ln in t.lines] == ["one", "green", "two"]
    assert t.current == "part" and t.offset == 31


def test_a_match_consumes_the_lines_up_to_it() -> None:
    t = make_tester()
    t.feed(b"a 1\nb 2\nc 3\n")
    m = t.wait_for(r"b (\d)", True, False, False)
    assert m is not None and m.line == "b 2" and m.groups == ["2"] and m.end == 8
    assert t.wait_for("a 1", False, False, False) is None
    assert t.next_line().line == "c 3"  # type: ignore[union-attr]
    assert t.next_line() is None


def test_match_next_line_looks_at_the_first_line_only() -> None:
    t = make_tester()
    t.feed(b"x\ny\n")
    assert t.wait_for("y", False, False, True) is None
    assert t.wait_for("x", False, False, True) is not None


def test_the_unfinished_line_only_when_asked_and_then_consumed_whole() -> None:
    t = make_tester()
    t.feed(b"done\nshell> ech")
    assert t.wait_for("shell>", False, False, False) is None
    m = t.wait_for("shell>", False, True, False)
    assert m is not None and m.line == "shell> ech" and t.current == ""


def test_a_failing_string_wins_only_when_its_line_comes_first() -> None:
    t = make_tester()
    t.failing.append(("PANIC", False))
    t.feed(b"> panic\nPANIC: now\n")
    m = t.wait_for("panic", False, True, False)
    assert m is not None and not m.failing and m.line == "> panic"
    m = t.wait_for("prompt", False, True, False)
    assert m is not None and m.failing and m.line == "PANIC: now"


def test_consecutive_lines_and_the_last_one_unfinished() -> None:
    t = make_tester()
    t.feed(b"line 1\nline 2\nline 3\n")
    assert t.wait_for_lines(["line 1", "line 3"], False, False) is None
    m = t.wait_for_lines(["line 2", "line 3"], False, False)
    assert m is not None and m.line == "line 3"
    t.feed(b"a\nb")
    m = t.wait_for_lines(["a", "b"], False, True)
    assert m is not None and m.line == "b"


def test_binary_mode_keeps_every_byte_and_cuts_at_the_match() -> None:
    t = make_tester(binary=True)
    t.feed(b"ab\x00\x01\r\n\xffzz")
    m = t.wait_for(hex_bytes("00 01 0d").decode("latin-1"), False, True, False)
    assert m is not None and m.line.encode("latin-1") == b"\x00\x01\r" and m.end == 5
    assert t.current == "\n\xffzz"
    assert t.wait_for("\xff", False, True, True) is None  # not at the start
    assert t.wait_for("\n", False, True, True) is not None


def test_carriage_return_can_end_lines() -> None:
    t = make_tester(cr_ends_line=True)
    t.feed(b"a\rb\r")
    assert [ln.text for ln in t.lines] == ["a", "b"]


class Lib:
    @keyword_args
    def write_line_to_uart(self, content: str = "", testerId: object = None) -> str:  # noqa: N803
        return content


def test_unknown_arguments_name_themselves_and_the_accepted_ones() -> None:
    assert Lib().write_line_to_uart("x", testerId=1) == "x"
    with pytest.raises(AssertionError) as e:
        Lib().write_line_to_uart("x", waitForEko=False)
    assert str(e.value) == ("Write Line To Uart: unknown argument 'waitForEko' (accepted: content, testerId)")


def test_timeouts_are_renode_seconds_or_durations() -> None:
    assert seconds_ns("8") == 8_000_000_000 and seconds_ns(0.5) == 500_000_000
    assert seconds_ns("250ms") == 250_000_000 and seconds_ns(0) == 0
    with pytest.raises(AssertionError, match="not a duration"):
        seconds_ns("soon")


def test_monitor_lines_describe_one_board() -> None:
    m = MonitorSetup()
    m.execute('mach create "dut"')
    m.execute("machine LoadPlatformDescription @platforms/boards/stm32f4_discovery-kit.repl")
    m.execute("sysbus LoadELF @hello.elf")
    args = m.load_args()
    assert args["platform"] == "mps2-an385" and str(args["firmware"]).endswith("firmware/build/hello.elf")
    assert m.board_name("dut") == "board"
    assert m.execute("emulation RunFor \"00:00:01.5\"").seconds == 1.5  # type: ignore[union-attr]
    assert m.execute("machine Reset").verb == "reset"  # type: ignore[union-attr]


def test_advance_immediately_is_the_pace() -> None:
    m = MonitorSetup()
    m.execute("mach create")
    m.execute("sysbus LoadELF @hello.elf")
    assert m.load_args()["pace"] == ""  # Renode suites run fast unless they ask
    m.loaded = True
    m.execute("emulation SetGlobalAdvanceImmediately false")
    assert m.load_args()["pace"] == "realtime" and not m.loaded
    m.execute("emulation SetGlobalAdvanceImmediately true")
    assert m.load_args()["pace"] == "fast"
    with pytest.raises(MonitorError, match="not supported"):
        m.execute("emulation SetGlobalAdvanceImmediately maybe")


def test_monitor_lines_describe_a_simulation() -> None:
    m = MonitorSetup()
    m.execute('emulation CreateSwitch "sw"')
    for name, fw in (("server", "rawframe.elf"), ("client", "rawping.elf")):
        m.execute(f'mach create "{name}"')
        m.execute(f"sysbus LoadELF @{fw}")
        m.execute("connector Connect sysbus.ethernet sw")
    m.execute('emulation SetGlobalQuantum "0.0001"')
    doc = yaml.safe_load(open(str(m.load_args()["firmware"])))
    assert [b["name"] for b in doc["boards"]] == ["server", "client"]
    assert doc["quantum_us"] == 100
    assert m.board_name("client") == "client"


def test_unsupported_monitor_lines_fail_naming_the_line() -> None:
    m = MonitorSetup()
    with pytest.raises(MonitorError, match="'cpu PerformanceInMips 50' is not supported"):
        m.execute("cpu PerformanceInMips 50")
    with pytest.raises(MonitorError, match="no machine selected"):
        m.execute("sysbus LoadELF @hello.elf")
    with pytest.raises(MonitorError, match="no switch 'nope'"):
        m.execute("mach create")
        m.execute("connector Connect sysbus.ethernet nope")
    assert map_platform("@platforms/boards/esp32_wifi.repl", "") == "mps2-an385-wifi"
    with pytest.raises(MonitorError, match="not a time"):
        parse_time("soon", "emulation RunFor soon")


def test_bytes_at_an_index_with_wildcards() -> None:
    frame = bytes.fromhex("ffffffffffff5254001234560800")
    assert bytes_at("0800", 12, frame) and bytes_at("52__0012", 6, frame)
    assert not bytes_at("0806", 12, frame) and not bytes_at("080000", 12, frame)
