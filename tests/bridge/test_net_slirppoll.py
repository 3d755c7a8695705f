"""slirppoll.c: libslirp's poll-round bookkeeping in C, driven here by a stand-in for libslirp's
slirp_pollfds_fill and slirp_pollfds_poll (the real library: test_net_slirp.py)."""

from __future__ import annotations

import ctypes
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from bridge.net import slirp_lib as sl

IN, OUT, PRI = sl.SLIRP_POLL_IN, sl.SLIRP_POLL_OUT, sl.SLIRP_POLL_PRI
ERR, HUP = sl.SLIRP_POLL_ERR, sl.SLIRP_POLL_HUP
FillFn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint32), sl.AddPollCb,
                          ctypes.c_void_p)
PollFn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, sl.GetREventsCb, ctypes.c_void_p)


class FakeSlirp:
    """Asks for ``wanted`` (fd, events) and, when polled, records get_revents of each index it got
    back (and of one index past them)."""

    def __init__(self, shim: sl.PollShim) -> None:
        self.wanted: list[tuple[int, int]] = []
        self.timeout = 1000
        self.indices: list[int] = []
        self.revents: list[int] = []
        self.fill = FillFn(self._fill)
        self.poll = PollFn(self._poll)
        shim.fill = ctypes.cast(self.fill, ctypes.c_void_p).value
        shim.pollfds_poll = ctypes.cast(self.poll, ctypes.c_void_p).value

    def _fill(self, _slirp: int, timeout: Any, add_poll: Any, opaque: int) -> None:
        timeout[0] = min(timeout[0], self.timeout)
        self.indices = [add_poll(fd, events, opaque) for fd, events in self.wanted]

    def _poll(self, _slirp: int, select_error: int, get_revents: Any, opaque: int) -> None:
        assert select_error == 0
        self.revents = [get_revents(i, opaque) for i in [*self.indices, len(self.indices), -1]]


@pytest.fixture
def shim() -> Iterator[tuple[ctypes.PyDLL, sl.PollShim, FakeSlirp]]:
    lib = sl.load_poll_shim()
    state = sl.PollShim()
    fake = FakeSlirp(state)
    yield lib, state, fake
    lib.sp_free(ctypes.byref(state))


def _round(lib: ctypes.PyDLL, state: sl.PollShim) -> None:
    assert lib.sp_serve_round(ctypes.byref(state), None) == 0


def test_slirps_clock_is_the_value_python_set(shim) -> None:  # noqa: ANN001
    lib, state, _fake = shim
    for ns in (0, 1, 123_456_789_012, 2**62):
        state.now_ns = ns
        assert lib.sp_clock_get_ns(ctypes.addressof(state)) == ns


def test_a_round_answers_what_poll_says_in_slirps_flags(shim) -> None:  # noqa: ANN001
    lib, state, fake = shim
    a, peer = socket.socketpair()
    b, b_peer = socket.socketpair()
    try:
        fake.wanted = [(a.fileno(), IN), (b.fileno(), IN | OUT)]
        fake.timeout = 123
        _round(lib, state)
        assert fake.indices == [0, 1] and state.timeout == 123 and state.n == 2
        assert fake.revents == [0, OUT, 0, 0] and state.ready == 1
        peer.send(b"x")
        _round(lib, state)
        assert fake.revents == [IN, OUT, 0, 0] and state.ready == 2
        peer.close()
        fake.wanted = [(a.fileno(), IN | PRI)]
        fake.timeout = 0xFFFFFFFF
        _round(lib, state)
        assert fake.revents[0] == IN | HUP and state.timeout == 0xFFFFFFFF  # each fill starts afresh
        b.close()
        fake.wanted = [(b_peer.fileno() + 1000, IN)]   # a descriptor that is not open: POLLNVAL
        _round(lib, state)
        assert fake.revents[0] == ERR and state.ready == 1
        fake.wanted = []
        _round(lib, state)
        assert fake.revents == [0, 0] and state.ready == 0 and state.n == 0
    finally:
        for s in (a, peer, b, b_peer):
            s.close()


def test_a_descriptor_listed_twice_gets_what_it_has_for_all_its_events(shim) -> None:  # noqa: ANN001
    """As one poll registration with the entries' events together (the Python rounds' poller)."""
    lib, state, fake = shim
    a, peer = socket.socketpair()
    try:
        peer.send(b"x")
        fake.wanted = [(a.fileno(), IN), (peer.fileno(), IN), (a.fileno(), OUT)]
        _round(lib, state)
        assert fake.revents[:3] == [IN | OUT, 0, IN | OUT]  # the peer: nothing to read
    finally:
        a.close()
        peer.close()


def test_changed_says_whether_the_descriptors_differ_from_the_round_before(shim) -> None:  # noqa: ANN001
    lib, state, fake = shim
    a, peer = socket.socketpair()
    try:
        _round(lib, state)
        assert not state.changed                     # none, as none before
        fake.wanted = [(a.fileno(), IN)]
        _round(lib, state)
        assert state.changed and [(state.cur[0].fd, state.cur[0].events)] == fake.wanted
        _round(lib, state)
        assert not state.changed
        fake.wanted = [(a.fileno(), IN | OUT)]       # same descriptor, other events
        _round(lib, state)
        assert state.changed
        fake.wanted = [(a.fileno(), IN | OUT), (peer.fileno(), IN)]
        _round(lib, state)
        assert state.changed
        fake.wanted = [(peer.fileno(), IN), (a.fileno(), IN | OUT)]  # the order is slirp's indices
        _round(lib, state)
        assert state.changed
        fake.wanted = [(peer.fileno(), IN)]
        _round(lib, state)
        assert state.changed and state.n == 1
    finally:
        a.close()
        peer.close()


def test_many_descriptors_grow_the_arrays(shim) -> None:  # noqa: ANN001
    lib, state, fake = shim
    pairs = [socket.socketpair() for _ in range(40)]
    try:
        for _, peer in pairs[::3]:
            peer.send(b"x")
        fake.wanted = [(s.fileno(), IN) for s, _ in pairs]
        _round(lib, state)
        assert fake.indices == list(range(40)) and state.n == 40 and state.cap >= 40
        assert fake.revents[:40] == [IN if i % 3 == 0 else 0 for i in range(40)]
        assert [state.cur[i].fd for i in range(40)] == [fd for fd, _ in fake.wanted]
    finally:
        for s, peer in pairs:
            s.close()
            peer.close()
