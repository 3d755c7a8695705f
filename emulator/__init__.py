"""The machine core: CPU, exceptions, clock, bus, loader, platforms. No host I/O."""
