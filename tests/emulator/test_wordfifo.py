"""The LAN9118 data FIFO ports served in C (``WordFifoPort``) against the all-Python path.

A program sends a frame through the TX data FIFO and reads a received one
out of the RX data FIFO, once with the C port mapped (as the machine maps
it) and once with the model's Python callbacks only. The wire and the
program's view must be the same, and the C side must have served the bulk.
"""

from __future__ import annotations

import pytest

ETH = 0x40200000
FRAME = (bytes(range(6)) + bytes.fromhex("525400123456") + b"\x88\xb5"
         + bytes((7 * i) & 0xFF for i in range(101)))

PROGRAM = f"""
    .equ ETH, {ETH:#x}
reset:
    ldr r4, =ETH
    @ MAC_CR.TXEN|RXEN through the MAC CSR port, TX_CFG.TX_ON, then one frame:
    @ cmd A (first+last, {len(FRAME)} bytes), cmd B (tag 0x1234), the data words
    movs r0, #0x0c
    str r0, [r4, #0xa8]
    ldr r0, =0x80000001
    str r0, [r4, #0xa4]
    movs r0, #2
    str r0, [r4, #0x70]
    ldr r0, ={(3 << 12) | len(FRAME):#x}
    str r0, [r4, #0x20]
    ldr r0, ={(0x1234 << 16) | len(FRAME):#x}
    str r0, [r4, #0x20]
    ldr r1, =tx_data
    movs r2, #{(len(FRAME) + 3) // 4}
tx_loop:
    ldr r0, [r1], #4
    str r0, [r4, #0x20]
    subs r2, #1
    bne tx_loop
    @ wait for the RX status (RX_FIFO_INF.RXSUSED) of the frame the test queued
rx_wait:
    ldr r0, [r4, #0x7c]
    lsrs r0, r0, #16
    beq rx_wait
    ldr r0, [r4, #0x40]
    RESULT 0, r0
    ubfx r2, r0, #16, #14
    adds r2, #3
    lsrs r2, r2, #2
    ldr r1, =RES + 16
rx_loop:
    ldr r0, [r4]
    str r0, [r1], #4
    subs r2, #1
    bne rx_loop
    ldr r0, [r4, #0x7c]
    RESULT 1, r0
    EXIT
    .ltorg
    .align 2
tx_data:
    .byte {", ".join(str(b) for b in FRAME)}
    .align 2
"""


def run(board, native: bool) -> tuple[list[bytes], int, int, bytes, tuple[int, int, int, int]]:
    b = board(PROGRAM)
    nic = b.m.device("eth0")
    if not native:  # the model's own callbacks for every access
        b.m.cpu.uc.mem_unmap(ETH, 0x1000)
        b.m.cpu.map_mmio(ETH, 0x1000, nic.read, nic.write)
    port = nic.frame_ports["eth"]
    reply = FRAME[6:12] + FRAME[:6] + FRAME[12:]
    sent: list[bytes] = []

    def wire(frame: bytes) -> None:  # the far end answers each frame with its mirror image
        sent.append(frame)
        b.m.post(lambda: port.on_receive(reply))

    port.connect(wire)
    b.run(expect="exit")
    status, inf = b.result(0), b.result(1)
    words = (((status >> 16) & 0x3FFF) + 3) // 4
    data = b"".join(w.to_bytes(4, "little") for w in b.m.cpu.read_words(0x20000010, words))
    port = nic.fifo_port
    return sent, status, inf, data, (*port.fast_accesses, port.level_reads, port.status_reads)


@pytest.mark.parametrize("native", [True, False])
def test_a_frame_each_way_through_the_data_fifos(board, native):
    sent, status, inf, data, (fast_reads, fast_writes, level_reads, status_reads) = run(board, native)
    assert sent == [FRAME]
    length = (status >> 16) & 0x3FFF
    assert length == len(FRAME) + 4                        # the FCS follows the frame
    assert data[:len(FRAME)] == FRAME[6:12] + FRAME[:6] + FRAME[12:]
    assert inf == 0                                         # both RX FIFOs drained
    if native:
        assert fast_writes == 2 + (len(FRAME) + 3) // 4 - 1  # commands A and B, every data word but the last
        assert fast_reads == (length + 3) // 4
        assert level_reads >= 2                             # the wait loop and the final check
        assert status_reads == 1                            # the RX status pop
    else:
        assert (fast_reads, fast_writes, level_reads, status_reads) == (0, 0, 0, 0)


def test_native_and_python_paths_agree(board):
    assert run(board, True)[:4] == run(board, False)[:4]


def test_push_frame_untyped_call_queues_what_python_would():
    """``push_frame_call`` (wf_rx_push_frame without argtypes: ints passed as C ints) queues the
    same words and status as the frame laid out in Python, for FCS and status words over the
    whole 32-bit range (bit 31 set included)."""
    import random
    import zlib

    from emulator.bus.wordfifo import WordFifoPort

    rng = random.Random(12)
    port = WordFifoPort(rx_window=(0x00, 0x20), tx_window=(0x20, 0x40), rx_words=4096, tx_words=4096,
                        rx_status=(0x40, 0x44), tx_status=(0x48, 0x4C))
    for _ in range(300):
        frame = rng.randbytes(rng.choice((14, 60, 61, 63, 1000, 1514)))
        offset = rng.randrange(32)
        align = rng.choice((4, 16, 32))
        words = -(-(offset + len(frame) + 4) // align) * align // 4
        fcs = rng.choice((zlib.crc32(frame), 0xFFFF_FFFF, 0x8000_0000, rng.getrandbits(32)))
        status = rng.choice((0xFFFF_FFFF, 0x8000_0000 | rng.getrandbits(31), rng.getrandbits(32)))
        assert port.push_frame_call(offset, frame, len(frame), fcs, words, status) == words
        laid = bytes(offset) + frame + fcs.to_bytes(4, "little")
        laid += bytes(4 * words - len(laid))
        assert port.to_list() == list(memoryview(laid).cast("I"))
        assert list(port.rx_status) == [status]
        port.clear()
        port.rx_status.clear()


def test_rx_queue_lays_out_and_raises_what_python_computes():
    """``rx_queue_call`` (wf_rx_queue, bound to a register array as the LAN9118 binds it) against
    the layout, status word, packet ends, RSFL/RSFF and IRQ_INT computed in Python, under random
    RX_CFG offsets and alignments, FIFO_INT levels, FIFO sizes, INT_EN and reads; ``rx_ends``
    survives ``load_rx_ends`` and ``forward`` skips to the end of the packet being read."""
    import random
    import zlib
    from array import array
    from collections import deque

    from emulator.bus.wordfifo import WordFifoPort

    sts, en, cfg, fifo_int, rx_cfg = range(5)
    rsfl, rsff, irq_int = 1 << 3, 1 << 4, 1 << 12
    rng = random.Random(5)
    regs = array("I", bytes(4 * 5))
    port = WordFifoPort(rx_window=(0x00, 0x20), tx_window=(0x20, 0x40), rx_words=4096, tx_words=4096,
                        rx_status=(0x40, 0x44), tx_status=(0x48, 0x4C))
    port.bind_registers(regs, sts, en, cfg, fifo_int, rx_cfg)
    data: list[int] = []
    statuses: list[int] = []
    ends: deque[int] = deque()
    pushed = 0
    caps = (0, 0)
    for step in range(2000):
        if step % 200 == 0:
            caps = (rng.choice((200, 1000, 3360)), rng.choice((4, 44, 224)))
            port.set_rx_sizes(*caps)
        regs[rx_cfg] = (rng.randrange(4) << 30) | (rng.randrange(32) << 8)
        regs[fifo_int] = rng.choice((0, 1, 3, 0xFF))
        regs[en] = rng.choice((0, rsfl, rsfl | rsff))
        if rng.random() < 0.3:
            regs[sts] = 0
            regs[cfg] &= ~irq_int
        frame = rng.randbytes(rng.choice((14, 60, 61, 1000, 1514, 2044)))
        frame = frame[:12] + rng.choice((b"\x05\xdc", b"\x05\xdd", frame[12:14])) + frame[14:]  # length/type
        fcs = zlib.crc32(frame)
        extra = rng.choice((0, 1 << 30, (1 << 15) | (1 << 13)))
        offset, align = (regs[rx_cfg] >> 8) & 0x1F, (4, 16, 32, 4)[regs[rx_cfg] >> 30]
        words = -(-(offset + len(frame) + 4) // align) * align // 4
        before = regs[sts], regs[cfg]
        got = port.rx_queue_call(frame, len(frame), fcs, extra)
        if len(statuses) >= caps[1] or len(data) + words > caps[0]:
            assert got == 0 and (regs[sts], regs[cfg]) == before
        else:
            popped = pushed - len(data) - words  # the model's pruning: after the push, short of its words
            while ends and ends[0] <= popped:
                ends.popleft()
            pushed += words
            ends.append(pushed)
            laid = bytes(offset) + frame + fcs.to_bytes(4, "little")
            data += memoryview(laid + bytes(4 * words - len(laid))).cast("I").tolist()
            kind = 1 << 5 if frame[12] << 8 | frame[13] > 1500 else 0
            statuses.append(extra | (len(frame) + 4) << 16 | kind)
            bits = rsfl if len(statuses) > (regs[fifo_int] & 0xFF) else 0
            bits |= rsff if len(statuses) >= caps[1] else 0
            moved = bool((before[0] | bits) & regs[en]) != bool(before[1] & irq_int)
            assert got == 1 | (2 if moved else 0)
            assert regs[sts] == before[0] | bits
            assert bool(regs[cfg] & irq_int) == bool(regs[sts] & regs[en])
        assert port.to_list() == data and list(port.rx_status) == statuses
        assert port.rx_ends == list(ends) and port.rx_pushed == pushed
        if rng.random() < 0.3:                                    # the guest reads some words
            n = rng.randrange(len(data) + 1)
            port.skip(n)
            del data[:n]
            if statuses and rng.random() < 0.7:
                port.rx_status.popleft()
                statuses.pop(0)
        if rng.random() < 0.05:                                   # a snapshot restored
            port.load_rx_ends(pushed, port.rx_ends)
        if rng.random() < 0.05:                                   # RX_FFWD
            popped = pushed - len(data)
            while ends and ends[0] <= popped:
                ends.popleft()
            assert port.forward() == bool(ends)
            if ends:
                del data[:ends.popleft() - popped]
