"""The core's C helpers (``*.c``) and ``native_lib``, which builds and loads them."""
