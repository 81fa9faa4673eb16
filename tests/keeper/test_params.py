"""keeper.params: contracts/constants.vy parsed (never eval'd) into Params in human units."""
import numpy as np
import pytest

from keeper.params import DEFAULT_CONSTANTS, Params, parse_constants


@pytest.fixture(scope="module")
def params():
    return Params.from_constants()


def test_real_file_in_human_units(params):
    assert params.max_utilisation == 0.5
    assert params.GRID.shape == (16,)
    assert params.GRID[0] == -1.0 and params.GRID[-1] == 2.0
    assert np.all(np.diff(params.GRID) > 0)
    assert params.GRID[params.grid_zero] == 0.0
    assert params.max_vol_rate == pytest.approx(1 / 86_400, rel=1e-12)  # per second
    assert params.spread == 0.02 and params.delta_band == 0.01 and params.max_slippage == 0.01
    assert params.oracle_heartbeat == 3_600 and isinstance(params.oracle_heartbeat, int)
    assert params.hedge_cooldown == 300 and params.cooldown == 3_600
    assert params.max_hourly_notional == 0.15 and params.max_daily_notional == 0.4
    assert (params.reduce_only, params.withdraw_only, params.halted) == (1, 2, 3)
    assert params.grid_unit_usd == 1e-6
    assert params.bounds["max_trade"] == (None, 0.25)
    assert params.bounds["max_mark_age"] == (300, 86_400)
    assert params.bounds["vol_floor"] == (0.05, 3.0)


def test_default_path_is_the_repo_file(params):
    assert DEFAULT_CONSTANTS.name == "constants.vy" and DEFAULT_CONSTANTS.exists()
    assert Params.from_constants(DEFAULT_CONSTANTS) == params


def test_frozen_and_grid_read_only(params):
    with pytest.raises(Exception):
        params.max_trade = 0.2
    with pytest.raises(ValueError):
        params.GRID[0] = 5.0


def test_replace(params):
    p = params.replace(max_trade=0.05, cooldown=600)
    assert p.max_trade == 0.05 and p.cooldown == 600 and params.max_trade == 0.1
    assert p != params and params.replace() == params
    with pytest.raises(ValueError, match="unknown parameter"):
        params.replace(no_such_thing=1)
    with pytest.raises(ValueError, match="max_trade = 0.5 is above its hard maximum 0.25"):
        params.replace(max_trade=0.5)
    with pytest.raises(ValueError, match="below its hard minimum"):
        params.replace(max_mark_age=10)


MINIMAL = DEFAULT_CONSTANTS.read_text()


def test_missing_default_is_a_clear_error():
    text = MINIMAL.replace("DEFAULT_MAX_UTILISATION", "RENAMED_MAX_UTILISATION")
    with pytest.raises(ValueError, match="constant DEFAULT_MAX_UTILISATION is missing"):
        Params.from_text(text)


def test_unknown_names_ignored_and_multiline_lists():
    text = MINIMAL + "\nSOMETHING_NEW: constant(uint256) = 7  # ignored\nODD: constant(uint256) = max_value(uint256)\n"
    p = Params.from_text(text)
    assert p == Params.from_constants()
    values, errors = parse_constants(text)
    assert values["SOMETHING_NEW"] == 7 and "ODD" in errors
    assert values["GRID"][0] == -(10**18) and len(values["GRID"]) == 16


@pytest.mark.parametrize(
    "expr",
    [
        "__import__('os').system('echo pwned')", "open('/etc/passwd')", "1 if True else 2", "2 ** 100000",
        "1 // 0", "1.5",
    ],
)
def test_never_eval(expr):
    old = "DEFAULT_SPREAD: constant(uint256) = 2 * 10**16"
    text = MINIMAL.replace(old, f"DEFAULT_SPREAD: constant(uint256) = {expr}")
    with pytest.raises(ValueError, match="DEFAULT_SPREAD"):
        Params.from_text(text)


def test_arithmetic():
    values, _ = parse_constants("A: constant(uint256) = 10**18 // 86_400\nB: constant(int256) = -(3 - 5) * 2\n")
    assert values == {"A": 10**18 // 86_400, "B": 4}


def test_unreadable_file(tmp_path):
    with pytest.raises(ValueError, match="cannot read"):
        Params.from_constants(tmp_path / "nope.vy")
