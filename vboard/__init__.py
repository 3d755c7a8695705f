"""vboard: a virtual Cortex-M board for network firmware (CLI, Robot library, RPC client)."""

__version__ = "0.1.0"
