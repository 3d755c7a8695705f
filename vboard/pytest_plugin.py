"""The vboard pytest plugin (entry point ``pytest11``: active wherever vboard is installed).

    import pytest

    @pytest.mark.vboard("http_server.elf", net="user", forwards=[80])
    def test_page(board):
        board.uart.expect(r"listening on http://10\\.0\\.2\\.15:80/", timeout=30)
        board.start()                         # run freely while the host talks to it
        ... curl board.net.url(80, "/") ...
        board.uart.expect("GET /")

Fixtures:

- ``board``: one board running the marker's firmware (a path, or a name in
  vboard's ``firmware/build``), on ``platform`` (default ``mps2-an385``),
  with ``net``, ``forwards`` (board ports; each gets a free host port:
  ``board.net.host_port(80)``, ``board.net.url(80)``), ``dns_records``,
  ``pace``, ``cmdline``; ``--vboard-firmware``/``--vboard-platform`` give
  defaults. See ``vboard.pytest_board`` for ``uart.expect`` (virtual time),
  ``run_for``, ``start``, ``net`` (forwards, capture, link faults), ``leds``, ``log``.
- ``simulation``: the boards of ``@pytest.mark.vboard(simulation="pair.yaml")``
  by name.
- ``vboard_session``: the ``Session`` behind either (to load by hand).

Host peers are ``vboard.peers`` (HTTP, DNS, echo servers, clients on
loopback). Each test gets its own ``vboard serve`` process (so pytest-xdist
workers never share one); its UART transcripts, state, fault report and
board log are saved under ``--vboard-artifacts`` (default: pytest's temp
folder) in a folder named after the test, given in the report of a failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE_DIR = ROOT / "firmware" / "build"
SIMULATION_DIR = ROOT / "platforms" / "simulations"


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("vboard", "vboard boards")
    group.addoption("--vboard-firmware", default="",
                    help="firmware of the board fixture when no marker says")
    group.addoption("--vboard-platform", default="",
                    help="platform of the board fixture (default mps2-an385)")
    group.addoption("--vboard-artifacts", default="", help="folder for per-test board artifacts")


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "vboard(firmware=None, *, platform='', net='none', forwards=(), "
                            "dns_records=(), pace='', cmdline=None, simulation=None): the board of the "
                            "board/simulation fixtures")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Any:
    report = yield
    if report.when == "call":
        item.vboard_failed = report.failed
    folder = getattr(item, "vboard_artifacts", None)
    if report.failed and folder is not None:
        report.sections.append(("vboard artifacts", str(folder)))
    return report


def _find(name: str, folder: Path) -> str:
    path = Path(name)
    if path.is_file():
        return str(path.resolve())
    if (folder / name).is_file():
        return str(folder / name)
    raise pytest.UsageError(f"vboard: no file {name} (nor {folder / name})")


def _settings(request: Any) -> dict[str, Any]:
    marker = request.node.get_closest_marker("vboard")
    args: tuple = marker.args if marker else ()
    kw: dict[str, Any] = dict(marker.kwargs) if marker else {}
    if args:
        kw["firmware"] = args[0]
    kw.setdefault("firmware", request.config.getoption("--vboard-firmware") or None)
    kw.setdefault("platform", request.config.getoption("--vboard-platform"))
    return kw


@pytest.fixture
def vboard_session(request: Any, tmp_path_factory: Any) -> Iterator[Any]:
    from vboard.pytest_board import Session
    from vboard.robot_serve import safe_name

    base = request.config.getoption("--vboard-artifacts")
    root = Path(base) if base else tmp_path_factory.getbasetemp() / "vboard-artifacts"
    folder = root / safe_name(request.node.nodeid)
    session = Session(folder, "serve")
    request.node.vboard_artifacts = folder
    try:
        yield session
    finally:
        try:
            session.save_artifacts(folder)
        finally:
            session.close()


@pytest.fixture
def board(request: Any, vboard_session: Any) -> Any:
    kw = _settings(request)
    if not kw.get("firmware"):
        raise pytest.UsageError("vboard: the board fixture needs @pytest.mark.vboard(FIRMWARE, ...) "
                                "or --vboard-firmware")
    firmware = _find(str(kw.pop("firmware")), FIRMWARE_DIR)
    kw.pop("simulation", None)
    return vboard_session.load_board(firmware, platform=kw.pop("platform", ""), net=kw.pop("net", "none"),
                                     forwards=list(kw.pop("forwards", ())),
                                     dns_records=list(kw.pop("dns_records", ())), pace=kw.pop("pace", ""),
                                     cmdline=kw.pop("cmdline", None), **_no_more(kw))


@pytest.fixture
def simulation(request: Any, vboard_session: Any) -> Any:
    kw = _settings(request)
    if not kw.get("simulation"):
        raise pytest.UsageError("vboard: the simulation fixture needs @pytest.mark.vboard(simulation=FILE)")
    return vboard_session.load_simulation(_find(str(kw["simulation"]), SIMULATION_DIR))


def _no_more(kw: dict[str, Any]) -> dict[str, Any]:
    if kw:
        raise pytest.UsageError(f"vboard marker: unknown argument(s) {', '.join(sorted(kw))} (accepted: "
                                "firmware, platform, net, forwards, dns_records, pace, cmdline, simulation)")
    return {}
