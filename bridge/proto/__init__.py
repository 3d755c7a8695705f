"""The control API: ``vboard.proto`` and its generated stubs (``python -m bridge.proto.generate``)."""
