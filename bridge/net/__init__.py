"""Host network backends for the virtual switch: libslirp, passt, TAP, QEMU sockets, DNS, pcapng (README.md).

Import the modules themselves (``bridge.net.attach``, ``bridge.net.dns``, ...): this package imports
none of them, so a run without a network, which needs only ``bridge.net.dns``, loads no backend.
"""
