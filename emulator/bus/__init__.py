"""The bus side of a device: the ``Device`` base, declared register tables, word FIFO ports."""
