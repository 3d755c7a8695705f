# Convenience targets; the scripts are the source of truth.
.PHONY: all setup test demo firmware lint clean

all: setup

setup:
	scripts/setup

test:
	scripts/test

demo: setup
	.venv/bin/vboard run firmware/build/demo.elf

firmware:
	$(MAKE) -C firmware

lint:
	.venv/bin/ruff check .

clean:
	$(MAKE) -C firmware clean
