"""``--net user``: user-mode networking through libslirp in this process, as QEMU's ``-nic user``.

The addressing is QEMU's: network 10.0.2.0/24, the host (gateway) 10.0.2.2 —
a board connecting to 10.0.2.2:7 reaches the host's 127.0.0.1:7 — DNS
10.0.2.3 (slirp forwards it to the host's resolver), DHCP hands out
10.0.2.15 on with a lease of 86400 s, and IPv6 as slirp offers it
(prefix fec0::/64, host fec0::2, DNS fec0::3). ``restrict=True`` is QEMU's
``restrict=on``: the board reaches nothing outside but the port forwards.

No thread: everything runs on the emulation thread. ``poll`` (one of
``Machine.host_polls``, called at every slice boundary) asks slirp which of
its host sockets to watch, polls them without waiting and lets slirp
read/write them; ``HostInput`` watches the same descriptors so a sleeping
board wakes when the host sends something. slirp's clock is the board's
virtual clock (``clock_get_ns``), and when slirp needs a timer (TCP's
delayed ACK and retransmissions, socket expiry, IPv6 router
advertisements) an event on that clock runs ``poll`` then: its
retransmissions toward the board happen in board time.

A round's bookkeeping callbacks (``add_poll``, ``get_revents``, ``clock_get_ns``) are
C (``slirppoll.c``): a round is one ctypes call, and slirp calls Python only to send
a frame, for its timers and for a guest error.

Frames from the board go into ``slirp_input`` as they leave the switch;
frames slirp sends enter the switch at once (the board's port adds wire
time). slirp ARPs for a board it has not heard from before sending to it,
ACKs a board's SYN-ACK at once, and does not use window scaling with a
peer whose SYN carried none.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import logging
import select
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

from bridge.net import slirp_lib as sl
from bridge.net.backend import BackendError, HostBackend, HostInputLike, MachineLike
from bridge.net.forward import Forward, as_forward
from emulator.net.network import LinkModel, Switch

log = logging.getLogger("vboard.net")

NETWORK, NETMASK = "10.0.2.0", "255.255.255.0"
HOST, DNS, BOARD = "10.0.2.2", "10.0.2.3", "10.0.2.15"
PREFIX6, PREFIX6_LEN, HOST6, DNS6 = "fec0::", 64, "fec0::2", "fec0::3"
NO_TIMER_MS = 1000  # what slirp_pollfds_fill leaves when no timer of its own is due
SERVE_INTERVAL_MS = 10  # a full poll round at least this often (board time) while the board runs
CHECK_INTERVAL_US = 50  # between rounds, the descriptors are looked at no more often (board time)

_POLL_TO_SELECT = ((sl.SLIRP_POLL_IN, select.POLLIN), (sl.SLIRP_POLL_OUT, select.POLLOUT),
                   (sl.SLIRP_POLL_PRI, select.POLLPRI))


@functools.cache
def _slirp_to_select(events: int) -> int:
    return sum(sel for flag, sel in _POLL_TO_SELECT if events & flag)


def _bind_problem(f: Forward) -> str:
    """Why slirp could not listen on a forward's host port: try it ourselves for the errno."""
    family = socket.AF_INET6 if ":" in f.host_addr else socket.AF_INET
    kind = socket.SOCK_STREAM if f.proto == "tcp" else socket.SOCK_DGRAM
    try:
        with socket.socket(family, kind) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((f.host_addr, f.host_port))
            if kind == socket.SOCK_STREAM:
                s.listen(1)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            return "the port is in use"
        return e.strerror or str(e)
    return "slirp refused it"


class SlirpBackend(HostBackend):
    kind = "user"
    # True: a full round at the boundary after every round that found a descriptor ready (the
    # general path, which the twin tests compare with the check that stands in for it).
    round_after_ready = False

    def __init__(self, machine: MachineLike, switch: Switch, host_input: HostInputLike | None = None,
                 forwards: Iterable[Forward | tuple[Any, ...]] = (), *, restrict: bool = False,
                 ipv6: bool = True, port_name: str = "host", on_error: Callable[[str], None] | None = None,
                 link: LinkModel | None = None) -> None:
        try:
            self.forwards = [as_forward(f) for f in forwards]
        except ValueError as e:
            raise BackendError(f"user network: {e}") from None
        self.restrict, self.ipv6 = restrict, ipv6
        self.board_address = BOARD
        self._lib: ctypes.PyDLL | None = None
        self._slirp: int | None = None
        self._io = threading.Lock()        # slirp is called under it; stop() frees it under it
        # slirp's clock and its poll round's bookkeeping, in C (slirppoll.c); its address is
        # slirp's opaque. now_ns is set to the board's time before every call into slirp.
        self._shim = sl.PollShim()
        self._shim_ref = ctypes.byref(self._shim)
        self._serve_round: Any = None       # slirppoll.c's sp_serve_round (set by _open)
        self._input: Any = None             # libslirp's slirp_input (set by _open)
        self._free_shim: Any = None         # ... and sp_free
        self._watched: set[int] = set()
        self._write_watched: set[int] = set()
        self._poller: Any = None            # select.poll of the last full round's descriptors
        self._polled: list[tuple[int, int]] = []  # ... as slirp asked for them: (fd, slirp events)
        self._dirty = True                  # a full round is due at the next boundary
        self._serve_by = 0                  # ... and at the latest at this cycle
        self._next_check = 0                # the next look at the descriptors between rounds
        self._check_cycles = machine.clock.hz * CHECK_INTERVAL_US // 1_000_000
        self._serve_cycles = SERVE_INTERVAL_MS * machine.clock.hz // 1000
        self._clock = machine.clock                    # the machine's for its life
        self._timer_heap = machine.clock.timer_heap()  # its top, when live, is the next deadline
        self._timers: dict[int, list[Any]] = {}  # handle -> [timer id, cb_opaque, Timer | None, expire ms]
        self._next_timer = 1
        self._kept: BaseException | None = None  # a Ctrl-C that came during a callback
        self.polls = 0
        self.guest_errors = 0
        super().__init__(machine, switch, host_input, port_name=port_name, on_error=on_error, link=link)
        self._callbacks = self._make_callbacks()

    def describe(self) -> str:
        return "user (libslirp)"

    def status(self) -> str:
        """``board 10.0.2.15, forward 127.0.0.1:15013 -> :13`` (the status line of ``vboard run``)."""
        parts = [f"board {self.board_address}"] + [f"forward {f.status()}" for f in self.forwards]
        if self.restrict:
            parts.append("restricted")
        return ", ".join(parts)

    # ------------------------------------------------------------------ open
    def _make_callbacks(self) -> sl.SlirpCb:
        g = self._guarded
        cb = sl.SlirpCb()
        # The callbacks of every frame and every round guard themselves (no wrapper call).
        cb.send_packet = sl.SendPacketCb(self._cb_send_packet)
        cb.guest_error = sl.GuestErrorCb(g(self._cb_guest_error, lambda *_: None))
        # clock_get_ns: slirppoll.c's sp_clock_get_ns, set by _open.
        cb.timer_new = sl.TimerNewCb(lambda _cb, _cb_opaque, _opaque: None)  # 4.x uses timer_new_opaque
        cb.timer_free = sl.TimerFreeCb(g(self._cb_timer_free, lambda *_: None))
        cb.timer_mod = sl.TimerModCb(g(self._cb_timer_mod, lambda *_: None))
        cb.register_poll_fd = sl.FdCb(lambda _fd, _opaque: None)   # poll() asks for the set each time
        cb.unregister_poll_fd = sl.FdCb(lambda _fd, _opaque: None)
        cb.notify = sl.NotifyCb(lambda _opaque: None)
        cb.init_completed = sl.InitCompletedCb(lambda _slirp, _opaque: None)
        cb.timer_new_opaque = sl.TimerNewOpaqueCb(g(self._cb_timer_new_opaque, self._cb_timer_new_opaque))
        return cb

    def _guarded(self, fn: Callable[..., Any], fallback: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` as a C callback: ctypes would print and drop anything it raises, a Ctrl-C
        (KeyboardInterrupt) included. An error is logged; a KeyboardInterrupt or SystemExit is kept
        and raised once slirp returns (``_raise_kept``). Either way ``fallback`` answers slirp."""

        def callback(*args: Any) -> Any:
            try:
                return fn(*args)
            except BaseException as e:  # noqa: BLE001 - never into C
                self._callback_failed(e, fn)
            return fallback(*args)

        return callback

    def _callback_failed(self, e: BaseException, fn: Callable[..., Any]) -> None:
        """In a callback's ``except``: an error is logged, a KeyboardInterrupt or SystemExit kept."""
        if isinstance(e, Exception):
            log.debug("slirp callback %s", getattr(fn, "__name__", fn), exc_info=True)
        elif self._kept is None:
            self._kept = e

    def _raise_kept(self) -> None:
        kept, self._kept = self._kept, None
        if kept is not None:
            raise kept

    def _config(self) -> sl.SlirpConfig:
        cfg = sl.SlirpConfig()
        cfg.version = sl.CONFIG_VERSION
        cfg.restricted = int(self.restrict)
        cfg.in_enabled = True
        cfg.vnetwork, cfg.vnetmask = sl.InAddr.of(NETWORK), sl.InAddr.of(NETMASK)
        cfg.vhost = sl.InAddr.of(HOST)
        cfg.in6_enabled = self.ipv6
        cfg.vprefix_addr6, cfg.vprefix_len = sl.In6Addr.of(PREFIX6), PREFIX6_LEN
        cfg.vhost6, cfg.vnameserver6 = sl.In6Addr.of(HOST6), sl.In6Addr.of(DNS6)
        cfg.vdhcp_start, cfg.vnameserver = sl.InAddr.of(BOARD), sl.InAddr.of(DNS)
        return cfg

    def _open(self) -> None:
        if getattr(self.machine, "host_polls", None) is None:
            raise BackendError("user network: this machine has no host_polls to run libslirp on")
        try:
            lib = sl.load()
            shim_lib = sl.load_poll_shim()
        except (sl.SlirpLoadError, RuntimeError) as e:
            raise BackendError(f"user network: {e}") from None
        shim = self._shim
        shim.fill = ctypes.cast(lib.slirp_pollfds_fill, ctypes.c_void_p).value
        shim.pollfds_poll = ctypes.cast(lib.slirp_pollfds_poll, ctypes.c_void_p).value
        self._serve_round, self._free_shim = shim_lib.sp_serve_round, shim_lib.sp_free
        self._callbacks.clock_get_ns = sl.ClockGetNsCb(
            ctypes.cast(shim_lib.sp_clock_get_ns, ctypes.c_void_p).value)
        self._cfg = self._config()
        self._set_clock()
        slirp = lib.slirp_new(ctypes.byref(self._cfg), ctypes.byref(self._callbacks), self._shim_ref)
        if not slirp:
            raise BackendError("user network: slirp_new failed")
        self._lib, self._slirp = lib, slirp
        self._input = lib.slirp_input
        for f in self.forwards:
            try:
                self._listen(f)
            except BackendError:
                self._free_slirp()
                raise

    def _listen(self, f: Forward) -> None:
        assert self._lib is not None and self._slirp is not None
        host = sl.sockaddr(f.host_addr, f.host_port)
        board = sl.sockaddr(BOARD, f.board_port)
        flags = sl.SLIRP_HOSTFWD_UDP if f.proto == "udp" else 0
        self._set_clock()
        if self._lib.slirp_add_hostxfwd(self._slirp, host, len(host), board, len(board), flags) < 0:
            raise BackendError(f"--forward {f.proto}:{f.host_addr}:{f.host_port}:{f.board_port}: "
                               f"cannot listen on {f.proto} {f.host_addr}:{f.host_port}: {_bind_problem(f)}")

    def add_forward(self, f: Forward) -> None:
        """One more host forward while running (emulation thread); ``BackendError`` if it cannot listen."""
        with self._io:
            if self._slirp is None:
                raise BackendError("user network: stopped")
            self._listen(f)
            self.forwards.append(f)
            self._dirty = True

    def _start_io(self) -> None:
        self._polls: list[Callable[[], None]] = self.machine.host_polls  # type: ignore[attr-defined]
        self._polls.append(self.poll)
        on_reset = getattr(self.machine, "on_reset", None)
        if on_reset is not None:
            on_reset.append(self._after_reset)
        if self.host_input is not None:
            self.host_input.opened()
        self._input_open = True

    # ------------------------------------------------------- emulation thread
    def _set_clock(self) -> None:
        """slirp's clock (``sp_clock_get_ns``) to the board's virtual time, before a call into slirp."""
        clock = self.machine.clock
        self._shim.now_ns = (clock.base + clock.slice_progress()) * 1_000_000_000 // clock.hz

    def _to_host(self, frame: bytes) -> None:
        """``HostBackend.deliver``'s step for a frame no outbound hook took."""
        with self._io:
            slirp = self._slirp
            counters = self.counters
            if slirp is None:
                counters.drop("stopped")
                return
            counters.to_host_frames += 1
            counters.to_host_bytes += len(frame)
            self._set_clock()
            self._input(slirp, frame, len(frame))
            self._dirty = True
            if self._kept is not None:
                self._raise_kept()

    def poll(self) -> None:
        """At a slice boundary: let slirp serve its host sockets when something may have happened.

        A full round (``slirp_pollfds_fill``, a zero-timeout ``poll``, ``slirp_pollfds_poll``) costs
        tens of microseconds; slice boundaries come thousands of times a second. So the full round
        runs only when the board sent slirp a frame, one of the descriptors of the last round is
        ready, or SERVE_INTERVAL_MS of board time passed; otherwise one ``poll`` system call on the
        last round's descriptors is all it costs: at the next boundary after a round that found
        something ready (slirp may have left more to read), else at most every CHECK_INTERVAL_US
        of board time. A sleeping board waits on the same descriptors in ``HostInput`` and wakes
        at once.
        """
        clock = self._clock
        now = clock.base + clock.slice_progress()  # clock.now without its property call
        if not self._dirty and now < self._serve_by:
            if now < self._next_check:
                return
            self._next_check = now + self._check_cycles
            poller = self._poller  # (None once stopped)
            if poller is None or not poller.poll(0):
                return
        # The full round (here rather than in a method of its own: one Python call per round fewer).
        with self._io:
            slirp = self._slirp
            if slirp is None:
                return
            self.polls += 1
            shim = self._shim
            shim.now_ns = now * 1_000_000_000 // clock.hz
            # slirp_pollfds_fill, a zero-timeout poll of what it asked for, slirp_pollfds_poll.
            if self._serve_round(self._shim_ref, slirp) < 0:
                log.debug("slirp poll round: out of memory for its descriptors")
            if shim.changed:  # the set changed: the poller and HostInput follow
                self._repoll()
            if shim.ready > 0:
                # Something moved: the next boundary looks again, by the check's one poll call on
                # the same descriptors (not held back by CHECK_INTERVAL_US); a full round follows
                # only when one of them is still ready (a socket with more to read or write).
                self._dirty = self.round_after_ready
                self._next_check = now
            else:
                self._dirty = False
            self._serve_by = now + self._serve_cycles
            ms = shim.timeout
            if ms < NO_TIMER_MS:
                # A full round ms of board time from now, so slirp's timers run while the board
                # sleeps. No timer of our own is remembered: the clock's next deadline says whether
                # the run loop wakes by then anyway (a reset or a snapshot load may have emptied the
                # queue since).
                when = now + max(1, ms * clock.hz // 1000)
                if when < self._serve_by:
                    self._serve_by = when
                heap = self._timer_heap
                if not heap or heap[0].cancelled or heap[0].when > when:  # else the live top wakes it
                    deadline = clock.next_deadline()  # (the top when live, past the cancelled ones else)
                    if deadline is None or deadline > when:
                        clock.call_at(when, self.poll, "slirp")
            if self._kept is not None:
                self._raise_kept()

    def _serve(self) -> None:
        """A full round now."""
        self._dirty = True
        self.poll()

    def _repoll(self) -> None:
        """A poller for the descriptors slirp asked about in the last round (the checks between
        rounds), and HostInput watching them."""
        shim = self._shim
        fds = self._polled = [(shim.cur[i].fd, shim.cur[i].events) for i in range(shim.n)]
        masks: dict[int, int] = {}
        for fd, events in fds:
            masks[fd] = masks.get(fd, 0) | _slirp_to_select(events)
        poller = None
        if masks:
            poller = select.poll()
            for fd, mask in masks.items():
                poller.register(fd, mask)
        self._poller = poller
        self._watch(fds)

    def _watch(self, fds: list[tuple[int, int]]) -> None:
        hi = self.host_input
        if hi is None:
            return
        reads = {fd for fd, ev in fds if ev & (sl.SLIRP_POLL_IN | sl.SLIRP_POLL_PRI)}
        writes = {fd for fd, ev in fds if ev & sl.SLIRP_POLL_OUT}
        for fd in self._watched - reads:
            hi.unwatch(fd)
        for fd in reads - self._watched:
            hi.watch(fd)
        for fd in self._write_watched - writes:
            hi.want_write(fd, False)
        for fd in writes - self._write_watched:
            hi.want_write(fd, True)
        self._watched, self._write_watched = reads, writes

    def _after_reset(self, _reason: str) -> None:
        """A system reset emptied the clock's queue: put slirp's own timers back."""
        self._dirty = True
        for handle, entry in list(self._timers.items()):
            if entry[2] is not None:
                self._cb_timer_mod(handle, entry[3], None)

    # ------------------------------------------------------------- callbacks
    # The callbacks below run for every frame or every round: they guard themselves as
    # ``_guarded`` would (nothing raises into C; a Ctrl-C is kept for after slirp returns).
    def _cb_send_packet(self, buf: Any, length: int, _opaque: int) -> int:
        """slirp sends a frame: it enters the switch now."""
        try:
            if self.transform_inbound is None:  # _counted_inbound without its call
                counters = self.counters
                counters.from_host_frames += 1
                counters.from_host_bytes += length
                self._arrive(buf[:length])
            else:
                self._arrive(self._counted_inbound(buf[:length]))
        except Exception:  # noqa: BLE001 - never raise into C
            log.debug("slirp send_packet", exc_info=True)
            self.counters.drop("error")
        except BaseException as e:  # noqa: BLE001 - re-raised after slirp returns
            self._callback_failed(e, self._cb_send_packet)
        return length

    def _cb_guest_error(self, msg: bytes, _opaque: int) -> None:
        self.guest_errors += 1
        log.info("slirp: the board sent something wrong: %s", msg.decode(errors="replace"))

    def _cb_timer_new_opaque(self, timer_id: int, cb_opaque: int, _opaque: int) -> int:
        handle = self._next_timer
        self._next_timer += 1
        self._timers[handle] = [timer_id, cb_opaque, None, 0]
        return handle

    def _cb_timer_mod(self, handle: int, expire_ms: int, _opaque: int | None) -> None:
        entry = self._timers.get(handle)
        if entry is None:
            return
        if entry[2] is not None:
            entry[2].cancel()
        clock = self.machine.clock
        entry[3] = expire_ms
        entry[2] = clock.call_at(expire_ms * clock.hz // 1000, lambda: self._fire_timer(handle),
                                 "slirp-timer")

    def _cb_timer_free(self, handle: int, _opaque: int) -> None:
        entry = self._timers.pop(handle, None)
        if entry is not None and entry[2] is not None:
            entry[2].cancel()

    def _fire_timer(self, handle: int) -> None:
        with self._io:
            entry = self._timers.get(handle)
            if entry is None or self._slirp is None:
                return
            entry[2] = None
            self._set_clock()
            self._lib.slirp_handle_timer(self._slirp, entry[0], entry[1])  # type: ignore[union-attr]
            self._dirty = True
            if self._kept is not None:
                self._raise_kept()

    # ------------------------------------------------------------------ stop
    def _release_input(self) -> None:
        polls = getattr(self, "_polls", None)
        if polls is not None and self.poll in polls:
            polls.remove(self.poll)
        hi = self.host_input
        if hi is not None:
            for fd in self._watched:
                hi.unwatch(fd)
            for fd in self._write_watched:
                hi.want_write(fd, False)
            hi.closed()
        self._watched, self._write_watched = set(), set()
        self._polled, self._poller = [], None

    def _close_io(self) -> None:
        on_reset = getattr(self.machine, "on_reset", None)
        if on_reset is not None and self._after_reset in on_reset:
            on_reset.remove(self._after_reset)
        with self._io:
            self._free_slirp()

    def _free_slirp(self) -> None:
        slirp, self._slirp = self._slirp, None
        for entry in self._timers.values():
            if entry[2] is not None:
                entry[2].cancel()
        if slirp is not None and self._lib is not None:
            self._set_clock()
            self._lib.slirp_cleanup(slirp)  # closes its host sockets (and frees its timers)
        self._timers.clear()
        if self._serve_round is not None:
            self._free_shim(self._shim_ref)

    def stats(self) -> dict[str, Any]:
        return {**super().stats(), "slirp_polls": self.polls, "guest_errors": self.guest_errors,
                "host_sockets": len(self._watched)}

