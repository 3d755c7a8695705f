"""Data FIFO ports served in C: a device's word FIFOs without a Python call per word.

A device that moves frames through a 32-bit data port (the LAN9118's RX and
TX data FIFOs) owns a ``WordFifoPort`` and exposes it as ``fifo_port``; the
CPU then maps the device window with the C callbacks of ``native/wordfifo.c``.
A word read inside the RX window pops the port's receive ring; a word write
inside the TX window is appended to its transmit buffer while the model's
``grant`` lasts. Everything else, and every access once the ring is empty or
the grant is spent, reaches the model's ``read``/``write`` as before. A word
read of ``level_offset`` is answered from the ring's fill and a count the
model keeps current (``set_level_count``): the LAN9118's RX_FIFO_INF.

The model keeps its own state exact by calling ``take`` (the words the fast
path appended since the last call) before it looks at its TX state, and
``grant`` after it changed it. Called from Python (unit tests), the ring
behaves like a deque of words.
"""

from __future__ import annotations

import ctypes

from emulator.native import native_lib


class _Port(ctypes.Structure):
    _fields_ = [
        ("slow_read", ctypes.c_void_p),
        ("slow_write", ctypes.c_void_p),
        ("slow_read_user", ctypes.c_void_p),
        ("rx_lo", ctypes.c_uint32),
        ("rx_hi", ctypes.c_uint32),
        ("tx_lo", ctypes.c_uint32),
        ("tx_hi", ctypes.c_uint32),
        ("rx", ctypes.POINTER(ctypes.c_uint32)),
        ("rx_cap", ctypes.c_uint32),
        ("rx_head", ctypes.c_uint32),
        ("rx_count", ctypes.c_uint32),
        ("tx_credit", ctypes.c_uint32),
        ("tx", ctypes.POINTER(ctypes.c_uint32)),
        ("tx_cap", ctypes.c_uint32),
        ("tx_count", ctypes.c_uint32),
        ("fast_reads", ctypes.c_uint64),
        ("fast_writes", ctypes.c_uint64),
        ("level_off", ctypes.c_uint32),
        ("level_count", ctypes.c_uint32),
        ("level_reads", ctypes.c_uint64),
    ]


def _library() -> ctypes.CDLL:
    port = ctypes.POINTER(_Port)
    return native_lib.load("wordfifo", (_Port, "wf_sizeof"), {
        "wf_rx_push_bytes": (ctypes.c_uint32, [port, ctypes.c_char_p, ctypes.c_uint32]),
        "wf_rx_push_word": (ctypes.c_int, [port, ctypes.c_uint32]),
        "wf_rx_skip": (ctypes.c_uint32, [port, ctypes.c_uint32]),
        "wf_rx_copy": (None, [port, ctypes.POINTER(ctypes.c_uint32)]),
    })


class WordFifoPort:
    """A receive ring of ``rx_words`` and a transmit buffer of ``tx_words``."""

    def __init__(self, rx_window: tuple[int, int], tx_window: tuple[int, int], rx_words: int,
                 tx_words: int, level_offset: int | None = None) -> None:
        self._lib = _library()
        self._rx_buf = (ctypes.c_uint32 * rx_words)()
        self._tx_buf = (ctypes.c_uint32 * tx_words)()
        p = self.port = _Port()
        p.rx_lo, p.rx_hi = rx_window
        p.tx_lo, p.tx_hi = tx_window
        p.rx = ctypes.cast(self._rx_buf, ctypes.POINTER(ctypes.c_uint32))
        p.rx_cap = rx_words
        p.tx = ctypes.cast(self._tx_buf, ctypes.POINTER(ctypes.c_uint32))
        p.tx_cap = tx_words
        p.level_off = 0xFFFFFFFF if level_offset is None else level_offset
        self._ref = ctypes.byref(p)

    # -- the native side, for the CPU's MMIO mapping -------------------------------------------
    def callbacks(self) -> tuple[int, int, int]:
        """(read callback, write callback, user data) for ``uc_mmio_map``."""
        lib = self._lib
        return (ctypes.cast(lib.wf_read, ctypes.c_void_p).value or 0,
                ctypes.cast(lib.wf_write, ctypes.c_void_p).value or 0, ctypes.addressof(self.port))

    def set_slow_path(self, read: int, write: int, read_user: int = 0) -> None:
        """The callbacks (C function pointers) for every other access: the model's own, or for
        reads a register window (``read_user``: its user data) in front of it."""
        self.port.slow_read = read
        self.port.slow_write = write
        self.port.slow_read_user = read_user or None

    @property
    def fast_accesses(self) -> tuple[int, int]:
        """(data reads, data writes) served without the model."""
        return self.port.fast_reads, self.port.fast_writes

    @property
    def level_reads(self) -> int:
        """Reads of the level register served without the model."""
        return self.port.level_reads

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

    def push_bytes(self, data: bytes) -> bool:
        """Queue ``data`` as little-endian words (the last zero-padded); False if it does not fit."""
        return bool(self._lib.wf_rx_push_bytes(self._ref, data, len(data))) or not data

    def load(self, words: list[int]) -> None:
        """Replace the ring's contents (snapshots)."""
        self.clear()
        for w in words:
            if not self._lib.wf_rx_push_word(self._ref, w & 0xFFFFFFFF):
                raise ValueError(f"{len(words)} words do not fit a ring of {self.port.rx_cap}")

    def skip(self, n: int) -> int:
        return self._lib.wf_rx_skip(self._ref, n)

    def clear(self) -> None:
        self.port.rx_head = 0
        self.port.rx_count = 0

    def to_list(self) -> list[int]:
        out = (ctypes.c_uint32 * max(1, self.port.rx_count))()
        self._lib.wf_rx_copy(self._ref, out)
        return list(out[:self.port.rx_count])

    def set_level_count(self, n: int) -> None:
        """The upper field of the level register (``level_offset``): e.g. RX statuses queued."""
        self.port.level_count = n

    # -- transmit buffer ---------------------------------------------------------------------------
    def grant(self, words: int) -> None:
        """Let the fast path append up to ``words`` more words (replaces the previous grant)."""
        self.port.tx_credit = max(0, min(words, self.port.tx_cap))

    def take(self) -> list[int]:
        """The words appended since the last call, oldest first."""
        n = self.port.tx_count
        if not n:
            return []
        self.port.tx_count = 0
        return self._tx_buf[:n]
