"""Board descriptions: the shipped platform loads; every mistake is a PlatformError naming file and key."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from emulator.board.machine import Machine
from emulator.board.platform import PlatformError, load_platform

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "platforms" / "mps2-an385.yaml"


@pytest.fixture(scope="module")
def base() -> dict:
    return yaml.safe_load(SHIPPED.read_text())


def test_shipped_platform(base):
    plat = load_platform("mps2-an385")
    assert plat.name == "mps2-an385"
    assert plat.clock_hz == 25_000_000 and plat.num_irq == 32
    assert [r.base for r in plat.memory][:1] == [0]
    assert {d.name for d in plat.devices} >= {"uart0", "timer0", "scc", "fpgaio"}
    assert load_platform(SHIPPED).name == "mps2-an385"


def test_unknown_platform_name():
    with pytest.raises(PlatformError, match="unknown platform 'nope'.*mps2-an385"):
        load_platform("nope")


def write(tmp_path: Path, data: dict | str, name: str = "board.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def mutate(base: dict, change) -> dict:
    data = copy.deepcopy(base)
    change(data)
    return data


def _set(path, value):
    def change(d):
        for k in path[:-1]:
            d = d[k]
        d[path[-1]] = value
    return change


def _del(path):
    def change(d):
        for k in path[:-1]:
            d = d[k]
        del d[path[-1]]
    return change


def _append_memory(region):
    def change(d):
        d["memory"].append(region)
    return change


CASES = {
    "unknown top-level key": (_set(["bogus"], 1), "bogus", "unknown key"),
    "unknown cpu key": (_set(["cpu", "speed"], 1), "cpu.speed", "unknown key"),
    "unknown device key": (_set(["devices", 0, "colour"], "red"), "devices[0].colour", "unknown key"),
    "missing name": (_del(["name"]), "top level", "missing required key 'name'"),
    "missing clock": (_del(["cpu", "clock_hz"]), "cpu", "missing required key 'clock_hz'"),
    "missing device model": (_del(["devices", 3, "model"]), "devices[3]", "missing required key 'model'"),
    "wrong type base": (_set(["memory", 0, "base"], "oops"), "memory[0].base",
                        "expected an integer, got 'oops'"),
    "wrong type clock": (_set(["cpu", "clock_hz"], "fast"), "cpu.clock_hz", "expected an integer"),
    "wrong type devices": (_set(["devices"], {"a": 1}), "devices", "expected a list"),
    "bool is not an int": (_set(["cpu", "num_irq"], True), "cpu.num_irq", "expected an integer, got True"),
    "unaligned region": (_set(["memory", 1, "size"], 0x1234), "memory[1]", "4 KiB-aligned"),
    "overlapping memory": (_append_memory({"name": "x", "base": 0x00100000, "size": 0x1000}), "memory[",
                           "overlaps"),
    "irq out of range": (_set(["devices", 0, "irqs"], {"timer": 32}), "devices[0].irqs.timer",
                         "below 32"),
    "too many irqs": (_set(["cpu", "num_irq"], 497), "cpu.num_irq", "expected a value <= 496"),
    "other core": (_set(["cpu", "model"], "cortex-m4"), "cpu.model", "cortex-m3"),
    "duplicate device": (_set(["devices", 1, "name"], "timer0"), "devices[1].name", "duplicate"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_platform_errors_name_file_and_key(base, tmp_path, case):
    change, key, words = CASES[case]
    path = write(tmp_path, mutate(base, change))
    with pytest.raises(PlatformError) as e:
        load_platform(path)
    text = str(e.value)
    assert text.startswith(str(path)), text
    assert key in text, text
    assert words in text, text


def test_invalid_yaml(tmp_path):
    path = write(tmp_path, "name: [unclosed\n")
    with pytest.raises(PlatformError, match=r"board\.yaml:\d+: not valid YAML"):
        load_platform(path)


def test_not_a_mapping(tmp_path):
    with pytest.raises(PlatformError, match="top level: expected a mapping"):
        load_platform(write(tmp_path, "- 1\n- 2\n"))


def test_missing_platform_file(tmp_path):
    with pytest.raises(PlatformError, match="no such platform file"):
        load_platform(tmp_path / "absent.yaml")


@pytest.mark.parametrize("model, words", [
    ("peripherals.no_such_module:Thing", "cannot import"),
    ("peripherals.cmsdk_uart:NoSuchClass", "no class 'NoSuchClass'"),
    ("./models/missing.py:Widget", "no such file"),
    ("no_colon_here", "expected 'module:Class'"),
])
def test_bad_model_path(base, tmp_path, model, words):
    path = write(tmp_path, mutate(base, _set(["devices", 0, "model"], model)))
    plat = load_platform(path)
    with pytest.raises(PlatformError) as e:
        Machine(plat)
    text = str(e.value)
    assert str(path) in text and "timer0" in text and words in text, text


def test_bad_device_setting(base, tmp_path):
    path = write(tmp_path, mutate(base, _set(["devices", 0, "settings"], {"bogus": 1})))
    with pytest.raises(PlatformError) as e:
        Machine(load_platform(path))
    assert str(path) in str(e.value) and "timer0" in str(e.value) and "bogus" in str(e.value)


def test_unknown_irq_output(base, tmp_path):
    path = write(tmp_path, mutate(base, _set(["devices", 0, "irqs"], {"nope": 3})))
    with pytest.raises(PlatformError) as e:
        Machine(load_platform(path))
    assert str(path) in str(e.value) and "irqs.nope" in str(e.value)


def test_device_over_another_is_a_platform_error(base, tmp_path):
    data = mutate(base, lambda d: d["devices"].append(
        {"name": "widget", "model": "peripherals.cmsdk_timer:CmsdkApbTimer", "base": 0x40010000}))
    with pytest.raises(PlatformError, match=r"device 'widget' at 0x40010000 \(0x1000 bytes\) overlaps "
                                            r"device 'gpio0' at 0x40010000-0x40010FFF"):
        Machine(load_platform(write(tmp_path, data)))


def test_user_model_from_a_file(base, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "widget.py").write_text(
        "from emulator.bus.device import Device\n"
        "from emulator.bus.regs import RegMap, Reg, RW\n"
        "class Widget(Device):\n"
        "    REGS = RegMap(Reg(0x0, 'VALUE', access=RW, reset=0x1234))\n")
    data = mutate(base, lambda d: d["devices"].append(
        {"name": "widget", "model": "./models/widget.py:Widget", "base": 0x40300000}))
    m = Machine(load_platform(write(tmp_path, data)))
    m.device("widget").reset()
    assert m.device("widget").read(0, 4) == 0x1234


# ------------------------------------------------------------------ what used to slip through
def _one_line(text: str, path: Path, line: int | None, key: str, words: str) -> None:
    assert "\n" not in text and "Traceback" not in text, text
    assert text.startswith(f"{path}:"), text
    if line is not None:
        assert text.startswith(f"{path}:{line}: "), text
    assert f": {key}: " in text and words in text, text



@pytest.mark.parametrize("edit, line, key, words", [
    # exec: 'no' is a string, not a boolean (it used to be read as true)
    (lambda t: t.replace("size: 0x00400000, aliases: [0x00400000]}",
                         "size: 0x00400000, aliases: [0x00400000], exec: 'no'}"), 18, "memory[0].exec",
     "expected true or false, got 'no'"),
    (lambda t: t.replace("clock_hz: 25000000", "clock_hz: 50"), 14, "cpu.clock_hz",
     "expected a value >= 1000"),
    (lambda t: t.replace("clock_hz: 25000000", "clock_hz: .nan"), 14, "cpu.clock_hz", "expected an integer"),
    (lambda t: t.replace("num_irq: 32", "num_irq: 32\n  num_irq: 64"), 16, "cpu.num_irq",
     "given twice (first on line 15)"),
    (lambda t: t.replace("size: 0x00004000, aliases", "size: 0x00004100, aliases"), 19, "memory[1].base",
     "4 KiB-aligned"),
    (lambda t: t.replace("{name: blockram, base: 0x01000000", "{name: blockram, base: 0x00200000"), 19,
     "memory[1].base", "overlaps memory[0]"),
    (lambda t: t.replace("{name: blockram, base: 0x01000000", "{name: blockram, base: 0xE0000000"), 19,
     "memory[1].base", "the CPU's system region"),
    (lambda t: t.replace("{name: blockram, base: 0x01000000", "{name: blockram, base: 0xFFFFF000"), 19,
     "memory[1].base", "past the 4 GiB address space"),
])
def test_shipped_platform_mistakes_are_one_line(tmp_path, edit, line, key, words):
    text = SHIPPED.read_text()
    changed = edit(text)
    assert changed != text
    path = write(tmp_path, changed)
    with pytest.raises(PlatformError) as e:
        load_platform(path)
    _one_line(str(e.value), path, line, key, words)


def test_binary_and_huge_files_are_refused(tmp_path):
    path = tmp_path / "board.yaml"
    path.write_bytes(b"\x7fELF\x01\x01\x01\0" + bytes(range(256)) * 4)
    with pytest.raises(PlatformError, match="a binary file, not a platform file"):
        load_platform(path)
    path.write_bytes(b"\xff\xfename: x\n")
    with pytest.raises(PlatformError, match=r"board\.yaml:1: not UTF-8 text"):
        load_platform(path)
    path.write_text("name: x\n" + "# padding\n" * 200_000)
    with pytest.raises(PlatformError, match="larger than 1024 KiB"):
        load_platform(path)
    path.write_text("a: &x [1, 2]\nb: *x\n")
    with pytest.raises(PlatformError, match="anchors and aliases"):
        load_platform(path)


def test_long_values_are_cut_and_secrets_not_quoted(tmp_path):
    path = write(tmp_path, SHIPPED.read_text().replace("name: mps2-an385", "name: [" + "A" * 2_000_000 + "]",
                                                       1))
    with pytest.raises(PlatformError) as e:
        load_platform(path)
    assert len(str(e.value)) < len(str(path)) + 200, str(e.value)[:300]
    secret = "root:$6$s3cr3tSALT$notarealhash:19000:0:99999:7:::"
    path = write(tmp_path, secret + "\n")
    with pytest.raises(PlatformError) as e:
        load_platform(path)
    assert "s3cr3t" not in str(e.value), e.value


class DictCache(dict):
    """An in-memory ``SpecCache`` counting its puts."""

    puts = 0

    def put(self, key: str, text: str) -> None:
        self.puts += 1
        self[key] = text


def test_a_cached_platform_equals_the_validated_one_and_an_edit_misses(tmp_path):
    cache = DictCache()
    board = tmp_path / "board.yaml"
    board.write_text(SHIPPED.read_text())
    first = load_platform(board, cache=cache)
    assert first == load_platform(board) and cache.puts == 1
    again = load_platform(board, cache=cache)
    assert again == first and again is not first and cache.puts == 1, "a hit is not validated again"
    board.write_text(SHIPPED.read_text().replace("clock_hz: 25000000", "clock_hz: 50000000"))
    assert load_platform(board, cache=cache).clock_hz == 50_000_000 and cache.puts == 2
    board.write_text(SHIPPED.read_text().replace("clock_hz: 25000000", "clock_hz: fast"))
    with pytest.raises(PlatformError) as e:
        load_platform(board, cache=cache)
    assert str(e.value).endswith("cpu.clock_hz: expected an integer, got 'fast'") and cache.puts == 2


def test_a_cached_platform_keeps_the_path_it_was_found_by(tmp_path):
    cache = DictCache()
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(SHIPPED.read_text())
    b.write_text(SHIPPED.read_text())
    assert load_platform(a, cache=cache).path == a
    assert load_platform(b, cache=cache).path == b and cache.puts == 1  # same bytes, one entry


def test_a_corrupt_entry_is_validated_again_and_a_policy_with_a_root_never_uses_the_cache(tmp_path):
    from emulator.board.platform import LoadPolicy

    cache = DictCache()
    load_platform("mps2-an385", cache=cache)
    (key,) = cache
    cache[key] = '{"name": "forged"}'
    assert load_platform("mps2-an385", cache=cache) == load_platform("mps2-an385")
    confined = DictCache()
    policy = LoadPolicy(root=SHIPPED.parent)
    assert load_platform("mps2-an385.yaml", policy, cache=confined).name == "mps2-an385" and not confined


@pytest.mark.parametrize("setting, value", [("when", "2024-01-02"), ("blob", "!!binary aGk="),
                                            ("table", "{1: one}"), ("level", ".nan")])
def test_a_setting_json_cannot_hold_exactly_is_not_cached(tmp_path, setting, value):
    cache = DictCache()
    board = tmp_path / "board.yaml"
    shipped = SHIPPED.read_text()
    old = 'label: "i2s"}'
    assert old in shipped
    board.write_text(shipped.replace(old, f'label: "i2s", {setting}: {value}}}', 1))
    plat = load_platform(board, cache=cache)
    assert setting in next(d for d in plat.devices if d.settings.get("label") == "i2s").settings
    assert not cache
