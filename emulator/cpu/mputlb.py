"""Enforce the MPU (``emulator.cpu.mpu``) on the Unicorn core through Unicorn's virtual TLB.

Why not Unicorn's own MPU: the QEMU inside Unicorn 2.1.4 has the PMSAv7
lookup, but its MPU registers are written only by QEMU's NVIC device, which
Unicorn leaves out, and M-profile cores have no coprocessor registers the
API could reach; the state would have to be poked into the CPU structure.
Unicorn's page permissions (``mem_protect``) are no alternative either:
they are the same for privileged and unprivileged code (every privilege
change would re-protect), and each change splits memory regions.

While MPU_CTRL.ENABLE is clear nothing here is active: Unicorn translates
addresses with its own TLB fill, so a firmware that never enables the MPU
runs exactly as before. Enabling it switches Unicorn to ``UC_TLB_VIRTUAL``
with a ``UC_HOOK_TLB_FILL`` hook, called once per page (1 KiB on ARM) and
privilege level when a TLB entry is filled:

* the page gets the permissions the MPU gives it in the core's current
  state; QEMU keeps separate TLBs for privileged and unprivileged code, so
  privilege changes need no flush. Unicorn never requests negative-priority
  TLBs, so the core flushes on HardFault/NMI entry and return
  (``on_negative_priority``). Every MPU register write flushes the TLB;
* a denied access maps the page to ``TRAP``, a physical page with nothing
  behind it: the access then arrives at the core's unmapped-access hook with
  the precise PC and the exact offset in the page, before it has any effect,
  and ``take_denied`` turns it into the faulting virtual address and kind.

Pages that a region or subregion boundary splits (regions and subregions
below 1 KiB: an RTOS's MPU port gives its tasks 32-byte regions, and
FreeRTOS's MPU demo for this board faults on one on purpose) are decided
per access: for an access kind (read or write) whose permission differs
within the page, the page maps to one of the ``SLOTS`` pages of an MMIO
window. Its callbacks see the exact address and size: an allowed access is
done on the RAM behind the page; a denied one stops the core (the
instruction is aborted and runs again) and the next fill of that page for
that access routes it to ``TRAP``, so it faults with the exact address.
Kinds the whole page allows or denies keep the fast path.

Direct jumps between pages: vboard's Unicorn (``scripts/build_unicorn``, change
cross-page-chaining) may chain a direct branch straight to the block on
another 1 KiB page, past that page's TLB lookup and execute check (QEMU chains
only within a page). While the MPU is off no page's permissions change, so
``cross_page_chaining`` turns it on; enabling the MPU turns it off before the
TLB switches, which unlinks every chained jump at once and drops every block
before the next lookup, so each jump to another page is checked again;
disabling the MPU turns it back on. With a library without it, jumps chain
within a page only.

Limits: FAULTMASK (the third way to a negative priority) does not flush,
so with HFNMIENA clear a page used under FAULTMASK may keep the default
map's permissions until the next flush. Split pages are decided per access
only in RAM (elsewhere, and for instruction fetches, the page gets the most
permissive of its parts); an instruction that makes several accesses to a
split page (LDM/STM, LDRD/STRD) and is denied on a later one reports the
first one's address in MMFAR.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

from unicorn import (
    UC_CTL_IO_WRITE,
    UC_CTL_TLB_FLUSH,
    UC_HOOK_TLB_FILL,
    UC_MEM_FETCH,
    UC_MEM_READ,
    UC_MEM_WRITE,
    UC_PROT_ALL,
    UC_QUERY_PAGE_SIZE,
    UC_TLB_CPU,
    UC_TLB_VIRTUAL,
    Uc,
    UcError,
)
from unicorn.arm_const import UC_ARM_REG_LR, UC_ARM_REG_PC, UC_ARM_REG_R0, UC_ARM_REG_R8, UC_ARM_REG_SP

from emulator.cpu.accesspc import accesses
from emulator.cpu.mpu import Mpu, R, W, X

# A physical page no board maps (the top of the vendor-specific system space, below
# the core's "until" address 0xFFFFFF00).
TRAP = 0xFFFFE000
# The MMIO window for pages decided per access: one page per split page (at most two edges
# per region and seven more per subregion set, 8 regions), also in the vendor system space.
SLOTS = 160
SLOT_BASE = 0xFFF00000
HOOKED_END = 0xFFFFFBFF  # the last byte below the 1 KiB page of 0xFFFFFF00 (cortexm.UNTIL)
_NEEDED = {UC_MEM_READ: R, UC_MEM_WRITE: W, UC_MEM_FETCH: X}
READ, WRITE, FETCH = UC_MEM_READ, UC_MEM_WRITE, UC_MEM_FETCH
_GENERAL = [UC_ARM_REG_R0 + n for n in range(8)] + [UC_ARM_REG_R8 + n for n in range(5)] + [UC_ARM_REG_SP,
                                                                                            UC_ARM_REG_LR]


def cross_page_chaining(uc: Uc) -> Callable[[bool], None] | None:
    """``uc_vb_chain_pages`` of vboard's Unicorn for ``uc`` (on: direct jumps may chain to
    another page; off: every chain goes and blocks chain within a page), or None for a library
    without it."""
    from unicorn.unicorn_py3.unicorn import uclib

    try:
        chain_pages = uclib.uc_vb_chain_pages
    except AttributeError:
        return None
    chain_pages.restype, chain_pages.argtypes = ctypes.c_int, [ctypes.c_void_p, ctypes.c_int]
    handle = uc._uch

    def turn(on: bool) -> None:
        if chain_pages(handle, int(on)):
            raise RuntimeError("uc_vb_chain_pages failed")

    return turn


class MpuTlb:
    """Switches Unicorn's TLB to the MPU's decisions while the MPU is enabled."""

    def __init__(self, uc: Uc, mpu: Mpu, core_state: Callable[[], tuple[bool, bool]],
                 ram: Callable[[], list[tuple[int, int]]] = list) -> None:
        """``core_state()``: (privileged, at negative execution priority) of the running core;
        ``ram()``: the [begin, end) ranges exception frames can be in."""
        self.uc = uc
        self.mpu = mpu
        self.core_state = core_state
        self.page = uc.query(UC_QUERY_PAGE_SIZE)
        self.ram = ram
        self.active = False
        # Exception entry and return ask frame_allowed only while some RAM could refuse a frame.
        self.check_frames = False
        self._hook: int | None = None
        self._denied: tuple[int, int] | None = None  # (page, UC_MEM_* access) mapped to TRAP
        self.flush_pending = False
        # (page, R/W needed, privileged, negative priority) -> allowed: exception frames
        self._frames: dict[tuple[int, int, bool, bool], bool] = {}
        self._slot_of: dict[int, int] = {}      # split page -> slot, until the next flush
        self._slot_pages: list[int] = []        # slot -> split page
        self._deny_next: tuple[int, int] | None = None  # (page, access) the next fill routes to TRAP
        self.resume_pc: int | None = None  # where the core resumes after a slot stopped it
        uc.mmio_map(SLOT_BASE, SLOTS * self.page, self._slot_read, None, self._slot_write, None)
        mpu.on_change = self.sync
        # Turns chaining of direct jumps across pages on or off (None: the library cannot chain them)
        self.chain_pages = cross_page_chaining(uc)
        if self.chain_pages is not None:
            self.chain_pages(True)

    def sync(self) -> None:
        """Follow MPU_CTRL.ENABLE, and drop every TLB entry made under the old settings."""
        uc = self.uc
        if self.mpu.enabled and not self.active:
            if self.chain_pages is not None:
                self.chain_pages(False)
            # Not above HOOKED_END: Unicorn fills the page of the core's "until" address at the
            # end of every slice; unhooked pages map to themselves with the access asked for.
            self._hook = uc.hook_add(UC_HOOK_TLB_FILL, self._fill, None, 0, HOOKED_END)
            uc.ctl_set_tlb_mode(UC_TLB_VIRTUAL)
            self.active = True
        elif not self.mpu.enabled and self.active:
            uc.ctl_set_tlb_mode(UC_TLB_CPU)
            if self._hook is not None:
                uc.hook_del(self._hook)
            self._hook = None
            self.active = False
            if self.chain_pages is not None:
                self.chain_pages(True)
        self.check_frames = self.active and not self._ram_always_read_write()
        self.flush()

    def _ram_always_read_write(self) -> bool:
        """Is every byte of RAM readable and writable at every privilege and priority? The
        decision only changes at region and subregion edges, so one address per piece."""
        mpu = self.mpu
        for begin, end in self.ram():
            points = [begin] + [e for e in mpu.edges if begin < e < end]
            for a in points:
                for privileged in (True, False):
                    for negative in (False, True):
                        if mpu.permissions(a, privileged, negative) & 3 != 3:
                            return False
        return True

    def flush(self) -> None:
        self.flush_pending = False
        self._denied = None
        self._frames.clear()
        self._slot_of.clear()
        self._slot_pages.clear()
        self.uc.ctl(UC_CTL_TLB_FLUSH, UC_CTL_IO_WRITE)

    def on_negative_priority(self) -> None:
        """HardFault/NMI entered or left: the MPU may apply differently (HFNMIENA)."""
        if self.active and not self.mpu.ctrl & 2:
            self.flush()

    def frame_allowed(self, frame: int, need: int, privileged: bool, negative: bool) -> bool:
        """May the core stack (``need`` W) or unstack (R) 32 bytes at ``frame``? Decided per
        page like every access here, and remembered until the next flush."""
        ok = True
        for page in {frame & ~(self.page - 1), (frame + 28) & ~(self.page - 1) & 0xFFFFFFFF}:
            key = (page, need, privileged, negative)
            allowed = self._frames.get(key)
            if allowed is None:
                allowed = bool(self.mpu.page_permissions(page, self.page, privileged, negative) & need)
                self._frames[key] = allowed
            ok = ok and allowed
        return ok

    def _fill(self, _uc: Uc, vaddr: int, access: int, entry: object, _ud: object) -> bool:
        privileged, negative = self.core_state()
        need = _NEEDED.get(access, R)
        union, common = self.mpu.split(vaddr, self.page, privileged, negative)
        if self._deny_next == (vaddr, access):
            self._deny_next = None
            union = 0
        split = (union & ~common) & (R | W)
        if split & need and self._in_ram(vaddr) and self._slot(vaddr) is not None:
            entry.paddr = SLOT_BASE + self._slot_of[vaddr] * self.page  # type: ignore[attr-defined]
            entry.perms = R | W  # type: ignore[attr-defined]  # the slot decides each access
        elif union & need:
            entry.paddr = vaddr  # type: ignore[attr-defined]
            # R/W/X bits are UC_PROT_*; a split kind is left out so that it fills again
            entry.perms = union & ~split if self._in_ram(vaddr) else union  # type: ignore[attr-defined]
        else:
            entry.paddr = TRAP  # type: ignore[attr-defined]
            entry.perms = UC_PROT_ALL  # type: ignore[attr-defined]
            self._denied = (vaddr, access)
        return True

    def _in_ram(self, page: int) -> bool:
        return any(begin <= page and page + self.page <= end for begin, end in self.ram())

    def _slot(self, page: int) -> int | None:
        slot = self._slot_of.get(page)
        if slot is None and len(self._slot_pages) < SLOTS:
            slot = self._slot_of[page] = len(self._slot_pages)
            self._slot_pages.append(page)
        return slot

    def _slot_address(self, offset: int, size: int, need: int) -> int | None:
        """The address an access to the slot window is for, if the MPU allows it exactly."""
        slot, within = divmod(offset, self.page)
        if slot >= len(self._slot_pages):
            return None
        address = self._slot_pages[slot] + within
        privileged, negative = self.core_state()
        if self.mpu.split(address, size, privileged, negative)[1] & need:
            return address
        self._deny_next = (self._slot_pages[slot], READ if need == R else WRITE)
        self.flush_pending = True
        # Stopping aborts the access, but the core resumes at the start of the translation
        # block: it must resume at the access itself, which then goes to TRAP.
        self.resume_pc = self._access_pc(address)
        self.uc.emu_stop()
        return None

    def _access_pc(self, address: int) -> int:
        """The load or store of the current translation block that accesses ``address``."""
        uc = self.uc
        start = uc.reg_read(UC_ARM_REG_PC) & ~1
        regs = [uc.reg_read(r) for r in _GENERAL]
        for length in (128, 16):
            try:
                code = bytes(uc.mem_read(start, length))
                break
            except UcError:
                continue
        else:
            return start
        for at, first, size in accesses(code, start, regs.__getitem__):
            if first <= address < first + size:
                return at
        return start

    def _slot_read(self, uc: Uc, offset: int, size: int, _ud: object) -> int:
        address = self._slot_address(offset, size, R)
        if address is None:
            return 0
        return int.from_bytes(uc.mem_read(address, size), "little")

    def _slot_write(self, uc: Uc, offset: int, size: int, value: int, _ud: object) -> None:
        address = self._slot_address(offset, size, W)
        if address is not None:
            uc.mem_write(address, (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little"))

    def take_denied(self, address: int) -> tuple[int, int] | None:
        """For an unmapped access at ``address``: (faulting virtual address, READ/WRITE/FETCH)
        if it is a denied access routed to ``TRAP``, else None. The TLB is flushed before the
        core runs again (``flush_pending``)."""
        denied = self._denied
        if denied is None or not TRAP <= address < TRAP + self.page:
            return None
        self._denied = None
        self.flush_pending = True
        page, access = denied
        return page | (address - TRAP), access
