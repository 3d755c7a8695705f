"""The ARMv7-M Protected Memory System Architecture (PMSAv7) MPU of a Cortex-M3: 8 regions.

ARMv7-M ARM (DDI0403E) B3.5: registers TYPE, CTRL, RNR, RBAR, RASR and the
RBAR/RASR aliases A1..A3 (on v7-M plain aliases of RBAR/RASR through RNR),
and the access decision: the highest-numbered enabled region that holds
the address (and whose subregion is not disabled) gives the access
permissions (AP) and XN; with no region, privileged accesses use the
default memory map when CTRL.PRIVDEFENA is set, and everything else
faults. The PPB (0xE0000000..0xE00FFFFF) is always accessible through the
default map; the system region (0xE0000000 up) never executes. With
CTRL.ENABLE clear, or at a negative execution priority (HardFault, NMI,
FAULTMASK) without CTRL.HFNMIENA, the default map applies.

Choices where the manual leaves it UNPREDICTABLE, as QEMU 7.2 does: a
region smaller than 32 bytes or whose base is not aligned to its size
matches nothing; an RBAR write with VALID and a region number >= 8 is
ignored; RNR writes >= 8 are ignored; AP 0b100 gives no access.

This module is the state and the decision only; ``emulator.cpu.mputlb``
enforces it on the running core.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable

REGIONS = 8
R, W, X = 1, 2, 4
ALL = R | W | X

CTRL_ENABLE, CTRL_HFNMIENA, CTRL_PRIVDEFENA = 1, 2, 4
RBAR_VALID = 1 << 4
RASR_MASK = 0x173FFF3F          # XN, AP, TEX/S/C/B, SRD, SIZE, ENABLE
TYPE_VALUE = REGIONS << 8       # DREGION = 8, IREGION = 0, SEPARATE = 0

# Access permissions by RASR.AP: (privileged, unprivileged).
_AP = {0: (0, 0), 1: (R | W, 0), 2: (R | W, R), 3: (R | W, R | W), 4: (0, 0),
       5: (R, 0), 6: (R, R), 7: (R, R)}

# Register offsets in the SCS.
TYPE, CTRL, RNR, RBAR, RASR = 0xD90, 0xD94, 0xD98, 0xD9C, 0xDA0
FIRST, LAST = 0xD90, 0xDBB      # the MPU's bytes in the SCS (TYPE .. RASR_A3)
PPB_BEGIN, PPB_END = 0xE0000000, 0xE0100000
SYSTEM = 0xE0000000


def default_permissions(address: int) -> int:
    """The default memory map (B3.1.1): peripheral, device and system regions are XN."""
    if address >= 0xA0000000 or 0x40000000 <= address < 0x60000000:
        return R | W
    return ALL


class Mpu:
    """MPU registers and the access decision for one address."""

    def __init__(self) -> None:
        self.on_change: Callable[[], None] = lambda: None
        self.guest_error: Callable[[str], None] = lambda message: None
        self.reset()

    def reset(self) -> None:
        self.ctrl = 0
        self.rnr = 0
        self.rbar = [0] * REGIONS
        self.rasr = [0] * REGIONS
        self._update()
        self.on_change()

    # ------------------------------------------------------------ registers
    def read(self, offset: int) -> int:
        word = offset & ~3
        if word == TYPE:
            value = TYPE_VALUE
        elif word == CTRL:
            value = self.ctrl
        elif word == RNR:
            value = self.rnr
        elif word in (RBAR, RBAR + 8, RBAR + 16, RBAR + 24):
            value = self.rbar[self.rnr] | self.rnr
        elif word in (RASR, RASR + 8, RASR + 16, RASR + 24):
            value = self.rasr[self.rnr]
        else:
            value = 0
        return value

    def write(self, offset: int, value: int) -> None:
        word = offset & ~3
        if word == CTRL:
            if value & (CTRL_ENABLE | CTRL_HFNMIENA) == CTRL_HFNMIENA:
                self.guest_error("MPU_CTRL: HFNMIENA without ENABLE is UNPREDICTABLE (treated as disabled)")
            self.ctrl = value & 7
        elif word == RNR:
            if value & 0xFF >= REGIONS:
                self.guest_error(f"MPU_RNR: region {value & 0xFF} does not exist (8 regions)")
                return
            self.rnr = value & 0xFF
        elif word in (RBAR, RBAR + 8, RBAR + 16, RBAR + 24):
            if value & RBAR_VALID:
                region = value & 0xF
                if region >= REGIONS:
                    self.guest_error(f"MPU_RBAR: VALID write for region {region} ignored (8 regions)")
                    return
                self.rnr = region
            self.rbar[self.rnr] = value & 0xFFFFFFE0
        elif word in (RASR, RASR + 8, RASR + 16, RASR + 24):
            self.rasr[self.rnr] = value & RASR_MASK
        else:
            return  # TYPE is read-only
        self._update()
        self.on_change()

    # ------------------------------------------------------------- decision
    @property
    def enabled(self) -> bool:
        return bool(self.ctrl & CTRL_ENABLE)

    def _update(self) -> None:
        """Cache the usable regions (highest number first) and their boundaries."""
        regions = []
        edges = set()
        for n in reversed(range(REGIONS)):
            rasr = self.rasr[n]
            size_field = (rasr >> 1) & 0x1F
            if not rasr & 1 or size_field < 4:
                continue
            size = 1 << (size_field + 1)
            base = self.rbar[n]
            if base & (size - 1):
                continue
            srd = (rasr >> 8) & 0xFF if size_field >= 7 else 0
            ap = (rasr >> 24) & 7
            xn = bool(rasr >> 28 & 1)
            regions.append((base, base + size, size >> 3, srd, _AP[ap], xn))
            step = size >> 3 if srd else size
            edges.update(range(base, base + size + 1, step))
        self.regions = regions
        self.edges = sorted(e for e in edges if e <= 0xFFFFFFFF)

    def permissions(self, address: int, privileged: bool, negative_priority: bool = False) -> int:
        """R/W/X bits an access to ``address`` is allowed in the given state."""
        ctrl = self.ctrl
        if not ctrl & CTRL_ENABLE or (negative_priority and not ctrl & CTRL_HFNMIENA):
            return default_permissions(address)
        if PPB_BEGIN <= address < PPB_END:
            return R | W
        for base, end, sub, srd, ap, xn in self.regions:
            if base <= address < end:
                if srd and srd >> ((address - base) // sub) & 1:
                    continue
                perms = ap[0] if privileged else ap[1]
                if perms and not xn and address < SYSTEM:
                    perms |= X
                return perms
        if privileged and ctrl & CTRL_PRIVDEFENA:
            return default_permissions(address)
        return 0

    def split(self, begin: int, size: int, privileged: bool, negative_priority: bool) -> tuple[int, int]:
        """(union, intersection) of the permissions over ``[begin, begin + size)``: the bits
        some byte there allows, and the bits every byte allows."""
        union = common = self.permissions(begin, privileged, negative_priority)
        edges = self.edges
        i = bisect.bisect_right(edges, begin)
        while i < len(edges) and edges[i] < begin + size:
            perms = self.permissions(edges[i], privileged, negative_priority)
            union |= perms
            common &= perms
            i += 1
        return union, common

    def page_permissions(self, page: int, size: int, privileged: bool, negative_priority: bool) -> int:
        """The union of the permissions over ``[page, page + size)``: a page that a region
        boundary splits gets what any part of it allows (see ``emulator.cpu.mputlb``)."""
        perms = self.permissions(page, privileged, negative_priority)
        edges = self.edges
        i = bisect.bisect_right(edges, page)
        while i < len(edges) and edges[i] < page + size and perms != ALL:
            perms |= self.permissions(edges[i], privileged, negative_priority)
            i += 1
        return perms

    # ------------------------------------------------------------- snapshot
    def get_state(self) -> dict:
        return {"ctrl": self.ctrl, "rnr": self.rnr, "rbar": list(self.rbar), "rasr": list(self.rasr)}

    def set_state(self, state: dict) -> None:
        self.ctrl, self.rnr = state["ctrl"], state["rnr"]
        self.rbar, self.rasr = list(state["rbar"]), list(state["rasr"])
        self._update()
        self.on_change()
