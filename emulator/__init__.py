"""The machine core, no host I/O, in floors: board, cpu, bus, net; clock and boardlog; native."""
