"""keeper.snapshot: the pure data model (validation, status text, history helpers), with no chain library."""
import dataclasses
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from keeper.snapshot import (
    LN_TICK,
    Limits,
    MarketHistory,
    SeriesMark,
    Snapshot,
    bucket_room,
    format_status,
    pool_twaps_from_observations,
    price_points,
    realised_vol,
    trend,
)
from keeper.vol import SECONDS_PER_YEAR

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_700_000_000


def addr(n: int) -> str:
    return "0x" + f"{n:040x}"


def limits(**over) -> Limits:
    base = dict(
        max_trade=0.1, cooldown=300, rebalance_wait=0, max_hourly_notional=0.3, max_daily_notional=1.0,
        hourly_room=150_000.0, daily_room=500_000.0, delta_band=0.01, max_slippage=0.01, max_deviation=0.015,
        twap_window=600, max_utilisation=0.5, max_vega_ratio=0.25, max_gamma_ratio=0.05, risk_budget=None,
    )
    return Limits(**{**base, **over})


def mark(**over) -> SeriesMark:
    base = dict(
        series_id=1, strike=3_000.0, expiry=T0 + 7 * 86_400, is_call=True, open_interest=20.0, vol=0.6,
        price=95.3, delta=0.52, gamma=0.00063, vega=172.4, spot=3_000.0, mark_age=12,
    )
    return SeriesMark(**{**base, **over})


def snapshot(**over) -> Snapshot:
    base = dict(
        block=42, timestamp=T0, vault=addr(1), book=addr(2), hedger=addr(3), guard=addr(4), feed=addr(5),
        pool=addr(6), underlying=addr(7), asset_decimals=6, nav=500_000.0, nav_error=None, total_supply=500_000.0,
        free_collateral=400_000.0, idle=501_900.0, reserved=0.0, hedge_eth=0.0, net_delta_eth=-10.4,
        oracle_price=3_000.0, oracle_age=30, oracle_round=7, pool_twap=3_001.2, pool_spot=3_000.9, pool_depth=1.2e6,
        level=0, latched=(), live=(), keeper_silent_for=60, keeper_timeout=21_600, paused=False, shutdown=False,
        limits=limits(), series=(mark(),),
    )
    return Snapshot(**{**base, **over})


# ---------------------------------------------------------------- validation

def test_a_sound_snapshot_validates_and_returns_itself():
    s = snapshot()
    assert s.validate() is s
    unreadable = snapshot(nav=None, nav_error="book: marks stale", free_collateral=None,
                          limits=limits(hourly_room=None, daily_room=None), pool_twap=None, pool_spot=None, pool_depth=None)
    assert unreadable.validate() is unreadable


@pytest.mark.parametrize("field,value,message", [
    ("oracle_price", math.nan, "oracle_price must be finite"),
    ("oracle_price", math.inf, "oracle_price must be finite"),
    ("oracle_price", 0.0, "oracle_price must be > 0"),
    ("oracle_price", -3_000.0, "oracle_price must be > 0"),
    ("nav", math.nan, "nav must be finite"),
    ("nav", -1.0, "nav must be >= 0"),
    ("total_supply", -1.0, "total_supply must be >= 0"),
    ("hedge_eth", -0.5, "hedge_eth must be >= 0"),
    ("free_collateral", -math.inf, "free_collateral must be finite"),
    ("net_delta_eth", math.nan, "net_delta_eth must be finite"),
    ("pool_twap", 0.0, "pool_twap must be > 0"),
    ("oracle_age", -5, "oracle_age must be >= 0"),
    ("oracle_age", 1.5, "oracle_age must be an integer"),
    ("level", 4, "level must be <= 3"),
    ("paused", 0, "paused must be a bool"),
    ("vault", "0x1234", "vault must be a 0x-prefixed 20-byte hex address"),
])
def test_validation_names_the_bad_field(field, value, message):
    with pytest.raises(ValueError, match="invalid snapshot: " + message):
        snapshot(**{field: value}).validate()


def test_nav_may_be_missing_only_with_its_reason():
    with pytest.raises(ValueError, match="nav is None without a nav_error"):
        snapshot(nav=None, nav_error=None).validate()


@pytest.mark.parametrize("field,value,message", [
    ("open_interest", -1.0, "series\\[1\\].open_interest must be >= 0"),
    ("vol", math.nan, "series\\[1\\].vol must be finite"),
    ("vol", 0.0, "series\\[1\\].vol must be > 0"),
    ("strike", -3_000.0, "series\\[1\\].strike must be > 0"),
    ("delta", 1.5, "series\\[1\\].delta must be <= 1"),
    ("gamma", -1e-4, "series\\[1\\].gamma must be >= 0"),
    ("vega", math.inf, "series\\[1\\].vega must be finite"),
    ("spot", 0.0, "series\\[1\\].spot must be > 0"),
])
def test_validation_names_the_bad_series_field(field, value, message):
    s = snapshot(series=(mark(), mark(series_id=2, **{field: value})))
    with pytest.raises(ValueError, match=message):
        s.validate()


def test_a_series_listed_twice_is_refused():
    with pytest.raises(ValueError, match="series\\[1\\].series_id is listed twice"):
        snapshot(series=(mark(), mark())).validate()


@pytest.mark.parametrize("field,value,message", [
    ("max_trade", math.inf, "limits.max_trade must be finite"),
    ("max_trade", 0.0, "limits.max_trade must be > 0"),
    ("rebalance_wait", -1, "limits.rebalance_wait must be >= 0"),
    ("hourly_room", -1.0, "limits.hourly_room must be >= 0"),
    ("daily_room", math.nan, "limits.daily_room must be finite"),
    ("max_slippage", 1.0, "limits.max_slippage must be < 1"),
    ("risk_budget", 1.5, "limits.risk_budget must be <= 1"),
    ("risk_budget", -0.1, "limits.risk_budget must be >= 0"),
])
def test_validation_names_the_bad_limit(field, value, message):
    with pytest.raises(ValueError, match=message):
        snapshot(limits=limits(**{field: value})).validate()


# ---------------------------------------------------------------- limits and status text

def test_bucket_room_drains_like_the_hedger():
    assert bucket_room(cap=150_000, used=0, window=3_600, elapsed=0) == 150_000
    assert bucket_room(cap=150_000, used=60_000, window=3_600, elapsed=0) == 90_000
    assert bucket_room(cap=150_000, used=60_000, window=3_600, elapsed=720) == pytest.approx(120_000)  # 30k drained
    assert bucket_room(cap=150_000, used=60_000, window=3_600, elapsed=10**6) == 150_000
    assert bucket_room(cap=100_000, used=180_000, window=3_600, elapsed=0) == 0  # NAV fell: no room, never negative


def test_hedge_room_is_the_tightest_of_trade_and_buckets():
    assert snapshot().hedge_room == pytest.approx(50_000)  # 10 % of 500k
    assert snapshot(limits=limits(hourly_room=20_000.0)).hedge_room == 20_000
    assert snapshot(nav=None, nav_error="book: marks stale").hedge_room is None


def test_format_status_renders_limits_and_budget():
    text = format_status(snapshot())
    assert "risk level   normal" in text and "1 live" in text and f"vault {addr(1)} at block 42" in text
    assert "trade <= 10.00% of NAV (room now 50,000.00 USD)" in text
    assert "cooldown 300 s (ready)" in text and "band +-1.00% of NAV" in text
    assert "hourly 30.00% of NAV, room 150,000.00 USD; daily 100.00% of NAV, room 500,000.00 USD" in text
    assert "stress margin <= 50.00% of NAV" in text
    assert "risk budget  none on chain (limits apply in full)" in text
    assert "gamma 0.000630/USD, vega 172.40 USD/vol" in text
    assert "INVALID" not in text

    text = format_status(snapshot(limits=limits(risk_budget=0.75, rebalance_wait=120, hourly_room=None, daily_room=None),
                                  nav=None, nav_error="book: marks stale"))
    assert "risk budget  0.7500 (75.00% of the owner's limits)" in text
    assert "cooldown 300 s (next in 120 s)" in text and "room now unreadable" in text
    assert "NAV          unreadable (book: marks stale)" in text


def test_format_status_flags_an_invalid_snapshot_and_still_shows_it():
    text = format_status(snapshot(oracle_price=-1.0))
    assert "INVALID      invalid snapshot: oracle_price must be > 0" in text
    assert "oracle       -1.00 USD/ETH" in text


def test_snapshot_is_json_ready():
    doc = json.loads(json.dumps(dataclasses.asdict(snapshot())))
    assert doc["limits"]["max_trade"] == 0.1 and doc["limits"]["risk_budget"] is None
    assert doc["series"][0]["gamma"] == 0.00063


# ---------------------------------------------------------------- history

def test_pool_twaps_from_observations_both_token_orders():
    # WETH token0 (18 dec), USDC token1 (6 dec): raw price 3e-9 = 1.0001**tick
    tick = math.log(3_000 * 10**6 / 10**18) / LN_TICK
    agos = [600, 300, 0]
    cums = [0, round(tick * 300), round(tick * 600)]
    (a, b) = pool_twaps_from_observations(T0, agos, cums, underlying_is_token0=True, asset_decimals=6)
    assert (a[0], a[1], b[0], b[1]) == (T0 - 600, T0 - 300, T0 - 300, T0)
    assert a[2] == pytest.approx(3_000, rel=1e-4) and b[2] == pytest.approx(3_000, rel=1e-4)
    # USDC token0: raw price is WETH per USDC, the inverse
    cums = [0, round(-tick * 300), round(-tick * 600)]
    (a, _) = pool_twaps_from_observations(T0, agos, cums, underlying_is_token0=False, asset_decimals=6)
    assert a[2] == pytest.approx(3_000, rel=1e-4)
    with pytest.raises(ValueError, match="strictly decreasing"):
        pool_twaps_from_observations(T0, [0, 300], [0, 0], underlying_is_token0=True, asset_decimals=6)


def _gbm(sigma, drift, seconds, step, seed):
    rng = np.random.default_rng(seed)
    n = seconds // step
    dt = step / SECONDS_PER_YEAR
    logp = np.log(3_000) + np.cumsum(np.r_[0, (drift - sigma**2 / 2) * dt + sigma * math.sqrt(dt) * rng.standard_normal(n)])
    return T0 - seconds + step * np.arange(n + 1), logp


def _history_from_path(times, logp, interval, oracle_every):
    """Pool intervals of `interval` s (geometric means of the fine path) and oracle rounds every `oracle_every` s."""
    k = interval // int(times[1] - times[0])
    twaps = tuple(
        (int(times[i]), int(times[i + k]), float(np.exp(logp[i + 1 : i + k + 1].mean())))
        for i in range(0, len(times) - k, k)
    )
    j = oracle_every // int(times[1] - times[0])
    rounds = tuple((n + 1, float(np.exp(logp[i])), int(times[i])) for n, i in enumerate(range(0, len(times), j)))
    return MarketHistory(block=1, timestamp=int(times[-1]), oracle_rounds=rounds, pool_twaps=twaps).validate()


def test_realised_vol_recovers_the_path_vol_from_pool_means_and_oracle_rounds():
    vols_pool, vols_oracle = [], []
    for seed in range(20):
        times, logp = _gbm(0.8, 0.0, 30 * 86_400, 60, seed)
        h = _history_from_path(times, logp, interval=3_600, oracle_every=3_600)
        vols_pool.append(realised_vol(h, half_life=math.inf, source="pool"))
        vols_oracle.append(realised_vol(h, half_life=math.inf, source="oracle"))
    # interval means alone would give 0.8 * sqrt(2/3) = 0.65; the correction restores 0.8
    assert np.mean(vols_pool) == pytest.approx(0.8, rel=0.03)
    assert np.mean(vols_oracle) == pytest.approx(0.8, rel=0.03)
    assert realised_vol(h, half_life=86_400) > 0  # the EWMA weights run


def test_trend_sees_a_drift_and_not_a_random_walk():
    for source in ("oracle", "pool"):
        zs = [trend(_history_from_path(*_gbm(0.6, 0.0, 2 * 86_400, 300, seed), 3_600, 900), source).z for seed in range(200)]
        assert 0.8 < np.std(zs) < 1.25 and abs(np.mean(zs)) < 0.25, source  # about N(0, 1) without a drift
    times, logp = _gbm(0.6, 0.0, 2 * 86_400, 300, 1)
    logp = logp + 0.002 * np.arange(logp.size)  # +0.2 % per 5 minutes
    t = trend(_history_from_path(times, logp, 3_600, 900), source="pool")
    assert t.drift == pytest.approx(0.002 * SECONDS_PER_YEAR / 300, rel=0.15) and t.z > 10
    assert t.span == pytest.approx(2 * 86_400 - 3_600)


def test_history_helpers_need_enough_points_and_merge_equal_times():
    h = MarketHistory(block=1, timestamp=T0, oracle_rounds=((1, 3_000.0, T0 - 60), (2, 3_010.0, T0 - 60), (3, 3_020.0, T0)))
    t, p = price_points(h, "oracle")
    assert t.tolist() == [T0 - 60, T0] and p.tolist() == [3_010.0, 3_020.0]  # the later round at a shared time
    assert realised_vol(h, 3_600, "oracle") > 0 and trend(h, "oracle") is None
    empty = MarketHistory(block=1, timestamp=T0)
    assert realised_vol(empty, 3_600) is None and trend(empty) is None
    with pytest.raises(ValueError, match="source must be 'pool' or 'oracle'"):
        price_points(h, "dex")


@pytest.mark.parametrize("history,message", [
    (MarketHistory(block=1, timestamp=T0, oracle_rounds=((1, -3.0, T0),)), "oracle_rounds\\[0\\].answer must be > 0"),
    (MarketHistory(block=1, timestamp=T0, oracle_rounds=((2, 3.0, T0 - 9), (1, 3.0, T0))), "oracle_rounds\\[1\\].round_id must increase"),
    (MarketHistory(block=1, timestamp=T0, oracle_rounds=((1, 3.0, T0 + 1),)), "oracle_rounds\\[0\\].updated_at must be <="),
    (MarketHistory(block=1, timestamp=T0, pool_twaps=((T0 - 9, T0, math.nan),)), "pool_twaps\\[0\\].price must be finite"),
    (MarketHistory(block=1, timestamp=T0, pool_twaps=((T0 - 9, T0 - 5, 3.0), (T0 - 4, T0, 3.0))), "pool_twaps\\[1\\].start must be the previous end"),
])
def test_history_validation_names_the_bad_field(history, message):
    with pytest.raises(ValueError, match=message):
        history.validate()


# ---------------------------------------------------------------- no chain library

def test_pure_core_imports_without_any_chain_library():
    code = (
        "import sys\n"
        "import keeper.snapshot, keeper.vol, keeper.greeks, keeper.abi\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('ape', 'web3', 'eth_abi', 'ethpm_types')"
        " or m.startswith('eth_') or m.startswith('ape_'))\n"
        "print(keeper.snapshot.__file__)\n"
        "print(','.join(bad))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    where, bad = run.stdout.splitlines()
    assert Path(where).resolve() == ROOT / "keeper" / "snapshot.py"
    assert bad == ""
