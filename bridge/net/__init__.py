"""Host network backends for the virtual switch: passt, TAP, QEMU sockets, DNS, pcapng (README.md)."""

from bridge.net.attach import NetworkAttachment, NetworkError, attach_network, parse_forward
from bridge.net.backend import BackendError, HostBackend
from bridge.net.qemu_socket import parse_socket_url

__all__ = ["BackendError", "HostBackend", "NetworkAttachment", "NetworkError", "attach_network",
           "parse_forward", "parse_socket_url"]
