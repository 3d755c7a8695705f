"""Data FIFO ports served in C: a device's word FIFOs without a Python call per word.

A device that moves frames through a 32-bit data port (the LAN9118's RX and
TX data FIFOs) owns a ``WordFifoPort`` and exposes it as ``fifo_port``; the
CPU then maps the device window with the C callbacks of ``native/wordfifo.c``:

* a word read inside the RX window pops the port's receive ring;
* a word written inside the TX window is appended to its transmit buffer when
  the model would only store it: the port follows the LAN9118's TX buffer
  format (command A, command B, data words) from the assembler state the
  model hands over (``tx_handover``), and takes a data word that is not its
  packet's last and a command that opens or continues a packet without an
  error, while FIFO room lasts. A packet that went through the port whole
  it completes when the model allows it (no error, nothing unusual), its TX
  status pushed and its INT_STS bits raised: the model gets its last word
  with the frame assembled (``tx_done``) and sends it with one Python call.
  Everything else goes to the model;
* two status FIFOs (``rx_status``, ``tx_status``: ``StatusRing``) answer word
  reads at their pop and peek offsets while they hold a word (TX pops while
  the model does not ``hold`` them);
* two level registers are answered from the rings: RX (RX statuses << 16 |
  RX data bytes) and TX (TX statuses << 16 | 4 * FIFO room words): the
  LAN9118's RX_FIFO_INF and TX_FIFO_INF.

A received frame is queued with one C call (``rx_queue_call``): its words in the
layout RX_CFG asks for, its status word, its packet end (``rx_ends``, what
RX_FFWD skips to: ``forward``). Bound to the model's register storage
(``bind_registers``), the port raises the INT_STS bits of what it queues and
completes there and keeps IRQ_CFG.IRQ_INT equal to INT_STS & INT_EN != 0, so
the model drives its pin only when that changed.

Everything else, and every access the port does not serve, reaches the
model's ``read``/``write`` as before. The model keeps its own state exact by
calling ``take`` (the words the port appended since the last call, which it
replays through its own assembler) before it looks at its TX state, and
``tx_handover`` after changing it. Called from Python (unit tests), the
rings behave like deques of words.
"""

from __future__ import annotations

import ctypes
import functools
from array import array
from collections.abc import Iterator

from emulator.native import native_lib

NONE = 0xFFFFFFFF
STATUS_RING_WORDS = 256  # more than any LAN9118 status FIFO holds (224 RX / 128 TX words)
TX_FRAME_BYTES = 2048    # native/wordfifo.c: a packet completed in C
RX_ENDS = 1024           # native/wordfifo.c: packet ends (a packet is at least 5 of the 4096 words)


class _Ring(ctypes.Structure):
    _fields_ = [
        ("buf", ctypes.POINTER(ctypes.c_uint32)),
        ("cap", ctypes.c_uint32),
        ("head", ctypes.c_uint32),
        ("count", ctypes.c_uint32),
        ("pop_off", ctypes.c_uint32),
        ("peek_off", ctypes.c_uint32),
        ("hold", ctypes.c_uint32),
    ]


class _Port(ctypes.Structure):
    _fields_ = [
        ("slow_read", ctypes.c_void_p),
        ("slow_write", ctypes.c_void_p),
        ("slow_read_user", ctypes.c_void_p),
        ("slow_write_user", ctypes.c_void_p),
        ("rx_lo", ctypes.c_uint32),
        ("rx_hi", ctypes.c_uint32),
        ("tx_lo", ctypes.c_uint32),
        ("tx_hi", ctypes.c_uint32),
        ("rx", ctypes.POINTER(ctypes.c_uint32)),
        ("rx_cap", ctypes.c_uint32),
        ("rx_head", ctypes.c_uint32),
        ("rx_count", ctypes.c_uint32),
        ("tx_on", ctypes.c_uint32),
        ("tx", ctypes.POINTER(ctypes.c_uint32)),
        ("tx_cap", ctypes.c_uint32),
        ("tx_count", ctypes.c_uint32),
        ("tx_state", ctypes.c_uint32),
        ("tx_left", ctypes.c_uint32),
        ("tx_cmd_a", ctypes.c_uint32),
        ("tx_cmd_b", ctypes.c_uint32),
        ("tx_open", ctypes.c_uint32),
        ("tx_room", ctypes.c_uint32),
        ("fast_reads", ctypes.c_uint64),
        ("fast_writes", ctypes.c_uint64),
        ("rxs", _Ring),
        ("txs", _Ring),
        ("rx_level_off", ctypes.c_uint32),
        ("tx_level_off", ctypes.c_uint32),
        ("level_reads", ctypes.c_uint64),
        ("status_reads", ctypes.c_uint64),
        ("tx_send", ctypes.c_uint32),
        ("txs_cap", ctypes.c_uint32),
        ("tx_native", ctypes.c_uint32),
        ("tx_done", ctypes.c_uint32),
        ("tx_done_irq", ctypes.c_uint32),
        ("tx_frame", ctypes.POINTER(ctypes.c_uint8)),
        ("native_packets", ctypes.c_uint64),
        ("regs", ctypes.c_void_p),
        ("i_sts", ctypes.c_uint32),
        ("i_en", ctypes.c_uint32),
        ("i_cfg", ctypes.c_uint32),
        ("i_fifo_int", ctypes.c_uint32),
        ("i_rx_cfg", ctypes.c_uint32),
        ("rxd_cap", ctypes.c_uint32),
        ("rxs_cap", ctypes.c_uint32),
        ("rx_pushed", ctypes.c_uint64),
        ("rx_ends", ctypes.POINTER(ctypes.c_uint64)),
        ("rx_ends_head", ctypes.c_uint32),
        ("rx_ends_count", ctypes.c_uint32),
    ]


def _library() -> ctypes.CDLL:
    port = ctypes.POINTER(_Port)
    # The calls made once per frame take no argtypes (half their cost, one ``from_param`` per
    # argument less): ctypes then passes each int as a C int with its 32 bits as they are, which
    # the uint32_t parameters read unchanged, and ``bytes`` as a char pointer. Their callers pass
    # the port's ``byref``, 32-bit values and bytes only.
    return native_lib.load("wordfifo", (_Port, "wf_sizeof"), {
        "wf_rx_push_frame": (ctypes.c_uint32, None),
        "wf_rx_push_word": (ctypes.c_int, [port, ctypes.c_uint32]),
        "wf_rx_skip": (ctypes.c_uint32, [port, ctypes.c_uint32]),
        "wf_rx_copy": (None, [port, ctypes.POINTER(ctypes.c_uint32)]),
        "wf_rx_queue": (ctypes.c_uint32, None),
        "wf_rx_push_end": (ctypes.c_uint32, [port, ctypes.c_uint32]),
        "wf_rx_forward": (ctypes.c_uint32, [port]),
        "wf_rx_copy_ends": (None, [port, ctypes.POINTER(ctypes.c_uint64)]),
    })


class StatusRing:
    """A status FIFO in native memory, used from Python like a deque of 32-bit words."""

    __slots__ = ("_ring", "_buf")

    def __init__(self, ring: _Ring, pop_offset: int | None, peek_offset: int | None) -> None:
        self._buf = (ctypes.c_uint32 * STATUS_RING_WORDS)()
        self._ring = ring
        ring.buf = ctypes.cast(self._buf, ctypes.POINTER(ctypes.c_uint32))
        ring.cap = STATUS_RING_WORDS
        ring.pop_off = NONE if pop_offset is None else pop_offset
        ring.peek_off = NONE if peek_offset is None else peek_offset

    def __len__(self) -> int:
        return self._ring.count

    def __bool__(self) -> bool:
        return self._ring.count != 0

    def __getitem__(self, i: int) -> int:
        r = self._ring
        if not 0 <= i < r.count:
            raise IndexError("status ring index out of range")
        return self._buf[(r.head + i) % STATUS_RING_WORDS]

    def __iter__(self) -> Iterator[int]:
        r = self._ring
        buf = self._buf
        return iter([buf[(r.head + i) % STATUS_RING_WORDS] for i in range(r.count)])

    def append(self, word: int) -> None:
        r = self._ring
        if r.count == STATUS_RING_WORDS:
            raise IndexError("status ring full")
        self._buf[(r.head + r.count) % STATUS_RING_WORDS] = word & 0xFFFFFFFF
        r.count += 1

    def popleft(self) -> int:
        r = self._ring
        if not r.count:
            raise IndexError("pop from an empty status ring")
        word = self._buf[r.head]
        r.head = (r.head + 1) % STATUS_RING_WORDS
        r.count -= 1
        return word

    def clear(self) -> None:
        self._ring.head = 0
        self._ring.count = 0

    def load(self, words: list[int]) -> None:
        self.clear()
        for w in words:
            self.append(w)

    @property
    def hold(self) -> bool:
        """While held, pops reach the model."""
        return bool(self._ring.hold)

    @hold.setter
    def hold(self, value: bool) -> None:
        self._ring.hold = bool(value)


class WordFifoPort:
    """A receive ring of ``rx_words``, a transmit buffer of ``tx_words`` and two status rings."""

    def __init__(self, rx_window: tuple[int, int], tx_window: tuple[int, int], rx_words: int,
                 tx_words: int, *, rx_status: tuple[int, int] | None = None,
                 tx_status: tuple[int, int] | None = None, rx_level_offset: int | None = None,
                 tx_level_offset: int | None = None) -> None:
        """``rx_status``/``tx_status``: the (pop, peek) offsets of the status FIFOs."""
        self._lib = _library()
        self._rx_buf = (ctypes.c_uint32 * rx_words)()
        # The TX buffer's memory is a bytearray (pinned by the ctypes view) so that ``take_view``
        # can hand its words out without a copy.
        self._tx_bytes = bytearray(4 * tx_words)
        self._tx_buf = (ctypes.c_uint32 * tx_words).from_buffer(self._tx_bytes)
        self._tx_view = memoryview(self._tx_bytes).cast("I")
        p = self.port = _Port()
        p.rx_lo, p.rx_hi = rx_window
        p.tx_lo, p.tx_hi = tx_window
        p.rx = ctypes.cast(self._rx_buf, ctypes.POINTER(ctypes.c_uint32))
        p.rx_cap = rx_words
        p.tx = ctypes.cast(self._tx_buf, ctypes.POINTER(ctypes.c_uint32))
        p.tx_cap = tx_words
        p.rx_level_off = NONE if rx_level_offset is None else rx_level_offset
        p.tx_level_off = NONE if tx_level_offset is None else tx_level_offset
        self.rx_status = StatusRing(p.rxs, *(rx_status or (None, None)))
        self.tx_status = StatusRing(p.txs, *(tx_status or (None, None)))
        self._tx_frame = (ctypes.c_uint8 * TX_FRAME_BYTES)()
        p.tx_frame = ctypes.cast(self._tx_frame, ctypes.POINTER(ctypes.c_uint8))
        self._rx_ends = (ctypes.c_uint64 * RX_ENDS)()
        p.rx_ends = ctypes.cast(self._rx_ends, ctypes.POINTER(ctypes.c_uint64))
        self._regs: object = None
        self._ref = ctypes.byref(p)
        #: Where a packet completed in C waits (its first ``tx_done`` bytes): ``bytes(tx_frame[:n])``
        #: copies them out (a third of ``ctypes.string_at``'s cost).
        self.tx_frame = memoryview(self._tx_frame).cast("B")
        #: ``push_frame`` as a bare C call, no Python frame: ``(offset, frame, len(frame), fcs,
        #: words, status)`` -> words queued (0: nothing, either ring is full).
        self.push_frame_call = functools.partial(self._lib.wf_rx_push_frame, self._ref)
        #: ``rx_queue_call(frame, len(frame), fcs, status)``, a C call with no Python frame: queue a
        #: received frame (14 bytes or more, without FCS) in the RX data FIFO's layout (the bound
        #: RX_CFG's data offset and end alignment, the frame, its FCS ``fcs``, zeros), its status
        #: word (``status`` with the length + 4 in bits 29:16 and the frame type bit 5 set), its
        #: packet end; raise INT_STS.RSFL/RSFF (FIFO_INT, the status FIFO's size) and keep
        #: IRQ_CFG.IRQ_INT. 0: the FIFOs are full, nothing queued; 1: queued; 3: queued and
        #: INT_STS & INT_EN changed between zero and nonzero (the model drives its pin).
        self.rx_queue_call = functools.partial(self._lib.wf_rx_queue, self._ref)

    def bind_registers(self, regs: array, int_sts: int, int_en: int, irq_cfg: int, fifo_int: int,
                       rx_cfg: int) -> None:
        """The model's register storage (kept alive here; never resized) and the indexes of
        INT_STS, INT_EN, IRQ_CFG, FIFO_INT and RX_CFG in it, for packets completed in C and
        ``rx_queue_call``. Unbound, the port completes no packet."""
        self._regs = regs
        p = self.port
        p.regs = regs.buffer_info()[0]
        p.i_sts, p.i_en, p.i_cfg, p.i_fifo_int, p.i_rx_cfg = int_sts, int_en, irq_cfg, fifo_int, rx_cfg

    def set_rx_sizes(self, data_words: int, status_words: int) -> None:
        """The model's RX data and status FIFO sizes (``rx_queue_call`` queues within them)."""
        self.port.rxd_cap = min(data_words, self.port.rx_cap)
        self.port.rxs_cap = min(status_words, STATUS_RING_WORDS)

    # -- the native side, for the CPU's MMIO mapping -------------------------------------------
    def callbacks(self) -> tuple[int, int, int]:
        """(read callback, write callback, user data) for ``uc_mmio_map``."""
        lib = self._lib
        return (ctypes.cast(lib.wf_read, ctypes.c_void_p).value or 0,
                ctypes.cast(lib.wf_write, ctypes.c_void_p).value or 0, ctypes.addressof(self.port))

    def set_slow_path(self, read: int, write: int, read_user: int = 0, write_user: int = 0) -> None:
        """The callbacks (C function pointers) for every other access: the model's own, or a
        register window's (``read_user``/``write_user``: its user data) in front of them."""
        self.port.slow_read = read
        self.port.slow_write = write
        self.port.slow_read_user = read_user or None
        self.port.slow_write_user = write_user or None

    @property
    def fast_accesses(self) -> tuple[int, int]:
        """(data reads, TX words) served without the model."""
        return self.port.fast_reads, self.port.fast_writes

    @property
    def level_reads(self) -> int:
        """Reads of the level registers served without the model."""
        return self.port.level_reads

    @property
    def status_reads(self) -> int:
        """Status FIFO pops and peeks served without the model."""
        return self.port.status_reads

    # -- receive ring: a deque of words ----------------------------------------------------------
    def __len__(self) -> int:
        return self.port.rx_count

    def __bool__(self) -> bool:
        return self.port.rx_count != 0

    def popleft(self) -> int:
        p = self.port
        if not p.rx_count:
            raise IndexError("pop from an empty RX ring")
        value = self._rx_buf[p.rx_head]
        p.rx_head = (p.rx_head + 1) % p.rx_cap
        p.rx_count -= 1
        return value

    def push_end(self, words: int) -> None:
        """Note a packet that ends ``words`` words after the last one pushed (``rx_ends``)."""
        if not self._lib.wf_rx_push_end(self._ref, words):
            raise ValueError(f"more than {RX_ENDS} packet ends")

    @property
    def rx_pushed(self) -> int:
        """Words ever queued since the ring was last cleared."""
        return self.port.rx_pushed

    @property
    def rx_ends(self) -> list[int]:
        """``rx_pushed`` as it was at the end of each packet not yet read past, oldest first
        (pruned when a frame is queued and by ``forward``)."""
        n = self.port.rx_ends_count
        out = (ctypes.c_uint64 * max(1, n))()
        self._lib.wf_rx_copy_ends(self._ref, out)
        return list(out[:n])

    def load_rx_ends(self, pushed: int, ends: list[int]) -> None:
        """Replace ``rx_pushed`` and the packet ends (snapshots)."""
        p = self.port
        p.rx_ends_head = p.rx_ends_count = 0
        p.rx_pushed = 0
        previous = 0
        for end in ends:
            self.push_end(end - previous)
            previous = end
        p.rx_pushed = pushed

    def forward(self) -> bool:
        """Drop the rest of the packet being read (up to its end); False when none is queued."""
        return bool(self._lib.wf_rx_forward(self._ref))

    def push_frame(self, offset: int, frame: bytes, fcs: int, words: int, status: int) -> bool:
        """Queue ``offset`` zero bytes, ``frame``, its FCS ``fcs`` (little-endian) and zeros up to
        ``words`` words, and ``status`` on the RX status ring; False (nothing queued) when either
        is full."""
        return bool(self._lib.wf_rx_push_frame(self._ref, offset, frame, len(frame), fcs, words, status))

    def load(self, words: list[int]) -> None:
        """Replace the ring's contents (snapshots)."""
        self.clear()
        for w in words:
            if not self._lib.wf_rx_push_word(self._ref, w & 0xFFFFFFFF):
                raise ValueError(f"{len(words)} words do not fit a ring of {self.port.rx_cap}")

    def skip(self, n: int) -> int:
        return self._lib.wf_rx_skip(self._ref, n)

    def clear(self) -> None:
        """Empty the receive ring and forget its packet ends."""
        p = self.port
        p.rx_head = p.rx_count = 0
        p.rx_ends_head = p.rx_ends_count = 0
        p.rx_pushed = 0

    def to_list(self) -> list[int]:
        out = (ctypes.c_uint32 * max(1, self.port.rx_count))()
        self._lib.wf_rx_copy(self._ref, out)
        return list(out[:self.port.rx_count])

    # -- transmit buffer ---------------------------------------------------------------------------
    def tx_handover(self, on: bool, state: int, left: int, cmd_a: int, cmd_b: int | None, room: int,
                    send: bool = False, status_cap: int = 0) -> None:
        """The model's TX assembler as it stands: ``on`` (False: every TX word goes to the model),
        its state (0 command A, 1 command B, 2 data), data words ``left`` in the buffer, the open
        packet's commands (``cmd_b`` None: no packet open) and the FIFO's ``room`` in words.

        ``send``: a packet whose every word the port took since the model last took them may be
        completed in C while the TX status FIFO holds fewer than ``status_cap`` words. Its last
        word then reaches the model with ``port.tx_done`` set (the frame's length, padded), its TX
        status pushed and its INT_STS bits (TX_IOC, TXSO, TSFL, TSFF, TDFA, as the bound FIFO_INT
        says) raised in the bound register storage, IRQ_CFG.IRQ_INT kept and ``port.tx_done_irq``
        set when that changed: the model sends the first ``tx_done`` bytes of ``tx_frame``, clears
        ``tx_done``, sets its last command A from ``port.tx_cmd_a`` and drives its pin when
        ``tx_done_irq`` says so."""
        p = self.port
        p.tx_on = on
        p.tx_state = state
        p.tx_left = max(0, left)
        p.tx_cmd_a = cmd_a
        p.tx_open = cmd_b is not None
        p.tx_cmd_b = cmd_b or 0
        p.tx_room = max(0, room)
        p.tx_send = send
        p.txs_cap = status_cap
        p.tx_native = 0

    @property
    def native_packets(self) -> int:
        """Packets completed in C."""
        return self.port.native_packets

    def take(self) -> list[int]:
        """The words appended since the last call, oldest first."""
        return self.take_view().tolist()

    def take_view(self) -> memoryview:
        """``take`` without a copy: a view of the words (format ``I``), valid until the port
        appends again (the next guest access): use it at once. The open packet is the model's
        from here on: the port no longer completes it."""
        p = self.port
        n = p.tx_count
        if n:
            p.tx_count = 0
            p.tx_native = 0
        return self._tx_view[:n]
