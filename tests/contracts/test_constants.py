"""The constants module: the packed stress grid the contracts read equals the
documented GRID the keeper and the simulator read, and the defaults sit inside
their bounds."""
import re
from pathlib import Path

CONSTANTS = Path(__file__).resolve().parents[2] / "contracts" / "constants.vy"


def _constants():
    text = CONSTANTS.read_text()
    values = {}
    for name, expr in re.findall(r"^([A-Z_0-9]+): constant\([^)]*\) = (.+?)(?:\s+#.*)?$", text, re.M):
        if expr.startswith("["):
            continue
        values[name] = eval(expr.replace("_", ""), {}, dict(values))  # noqa: S307 (our own file: ints only)
    grid = re.search(r"^GRID: constant\(int256\[16\]\) = \[(.*?)\]", text, re.M | re.S).group(1)
    values["GRID"] = [eval(x.strip(), {}, {}) for x in grid.split(",") if x.strip()]  # noqa: S307
    return values


def test_packed_grid_equals_the_documented_grid():
    v = _constants()
    pct = [(v["GRID_PACKED"] >> (16 * k)) & 0xFFFF for k in range(16)]
    assert [(p - 100) * 10**16 for p in pct] == v["GRID"]
    assert v["GRID"][v["GRID_ZERO"]] == 0
    assert v["GRID"][0] == -(10**18), "the grid must reach spot -> 0 (puts pay their whole strike)"
    assert v["GRID"][-1] >= 2 * 10**18, "and a large rally (calls)"


def test_every_default_lies_within_its_bounds():
    v = _constants()
    checked = 0
    for name, value in v.items():
        if not name.startswith("DEFAULT_"):
            continue
        key = name.removeprefix("DEFAULT_")
        lo, hi = v.get(f"MIN_{key}"), v.get(f"MAX_{key}")
        if lo is not None:
            assert value >= lo, name
        if hi is not None:
            assert value <= hi, name
        checked += lo is not None or hi is not None
    assert checked >= 20
