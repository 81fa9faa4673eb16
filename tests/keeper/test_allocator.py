"""keeper.allocator: on-chain limits always respected, monotone in costs and risk, vols bounded and
rate-limited, SVI quotes, bad input refused, rows independent.

`params` here is a SimpleNamespace of the defaults read from contracts/constants.vy (the
allocator takes any object with keeper.params.Params' attribute names).
"""
import json
import math
import re
import types
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from keeper.allocator import (
    DETAIL,
    AllocatorConfig,
    QuoteSurface,
    _allocate,
    allocate,
    decide,
    fit_quotes,
    hedge_order,
    load_quotes,
    vol_for_strike,
)
from keeper.policy import (
    BLOCKED_CAPS,
    BLOCKED_COOLDOWN,
    BLOCKED_DEVIATION,
    BLOCKED_LEVEL,
    NO_TRADE_IN_BAND,
    SETTLEMENT_CASH,
    TRADE_TO_BAND,
    TRADE_TO_TARGET,
    BookState,
)
from keeper.vol import SECONDS_PER_YEAR, fit_svi

ROOT = Path(__file__).resolve().parents[2]
QUOTES = ROOT / "tests" / "data" / "deribit_eth_quotes.json"
WAD = 10**18
NOW = 1_750_000_000.0


def constants():
    """name -> value of every integer constant in contracts/constants.vy (GRID as a list)."""
    src = (ROOT / "contracts" / "constants.vy").read_text()
    out = {}
    for name, expr in re.findall(r"^([A-Z_0-9]+): constant\([^)]*\) = (.+?)\s*(?:#.*)?$", src, re.M):
        if not expr.startswith("["):
            out[name] = eval(expr, {})  # integer arithmetic: 10**18, 5 * 10**16, 3_600, //
    grid = re.search(r"^GRID: constant\(int256\[\d+\]\) = (\[.*?\])", src, re.M | re.S).group(1)
    out["GRID"] = eval(grid, {})
    return out


C = constants()


def make_params(**overrides):
    """Stand-in for keeper.params.Params: the defaults from constants.vy in human units."""
    frac = lambda name: C[name] / WAD  # noqa: E731
    p = dict(
        max_utilisation=frac("DEFAULT_MAX_UTILISATION"), max_vega_ratio=frac("DEFAULT_MAX_VEGA_RATIO"),
        max_gamma_ratio=frac("DEFAULT_MAX_GAMMA_RATIO"), delta_band=frac("DEFAULT_DELTA_BAND"),
        budget_floor=frac("DEFAULT_BUDGET_FLOOR"), budget_rate=frac("DEFAULT_BUDGET_RATE"),
        max_slippage=frac("DEFAULT_MAX_SLIPPAGE"), max_trade=frac("DEFAULT_MAX_TRADE"),
        max_deviation=frac("DEFAULT_MAX_DEVIATION"), max_hourly_notional=frac("DEFAULT_MAX_HOURLY_NOTIONAL"),
        max_daily_notional=frac("DEFAULT_MAX_DAILY_NOTIONAL"), hedge_cooldown=C["DEFAULT_HEDGE_COOLDOWN"],
        vol_floor=frac("DEFAULT_VOL_FLOOR"), vol_cap=frac("DEFAULT_VOL_CAP"), max_vol_rate=frac("DEFAULT_MAX_VOL_RATE"),
        GRID=np.array(C["GRID"], dtype=float) / WAD,
    )
    p.update(overrides)
    return types.SimpleNamespace(**p)


P = make_params()
CFG = AllocatorConfig()

BASE = dict(
    t=NOW, spot=3000.0, oracle_fresh=1.0, pool_price=3001.0, pool_depth=500_000.0, pool_fee=0.0005, nav=1e6,
    nav_per_share=1.05, nav_per_share_hwm=1.05, cash=6e5, hedge_eth=100.0, option_delta_eth=106.0,
    gamma_eth_per_usd=0.2, vega_usd=2e4, stress_margin=1.2e5, settle_need=0.0, implied_vol=0.65, rv_short=0.6,
    rv_long=0.55, trend=0.0, trend_accel=0.0, level=0.0, budget=1.0, hedge_room_usd=1e5, cooldown_left=0.0,
    gas_price_gwei=20.0,
)


def make_state(n=None, **kw):
    """A BookState; keyword values may be scalars or sequences (rows)."""
    vals = {**BASE, **kw}
    if n is None:
        n = max((len(v) for v in vals.values() if np.ndim(v) == 1), default=1)
    return BookState(**{k: np.array(np.broadcast_to(np.asarray(v, dtype=float), (n,))) for k, v in vals.items()})


def stack(rows):
    return BookState(**{k: np.array([r[k] for r in rows], dtype=float) for k in BASE})


def detail(state, params=P, cfg=CFG):
    out, det = _allocate(state, params, cfg)
    return out, det


# ---------------------------------------------------------------- random states

finite = dict(allow_nan=False, allow_infinity=False)


def mostly(value, other):
    """`value` about three times in four, else a draw from `other`."""
    return st.one_of(st.just(value), st.just(value), st.just(value), other)


@st.composite
def rows(draw):
    """One vault, sized relative to its NAV so that trades are common, with the edges mixed in."""
    spot = draw(mostly(3000.0, st.floats(1.0, 1e5, **finite)))
    nav = draw(mostly(1e6, st.one_of(st.just(0.0), st.floats(1e3, 1e9, **finite))))
    unit = nav / spot                               # ETH worth the whole NAV
    nps = draw(st.floats(0.1, 10.0, **finite))
    opt_delta = unit * draw(st.floats(-2.0, 2.0, **finite))
    hedge = draw(st.one_of(
        st.sampled_from([-1, 1]).flatmap(lambda sgn: st.floats(0.012, 0.3, **finite).map(
            lambda f: max(opt_delta + sgn * unit * f, 0.0))),
        st.floats(-0.2, 0.2, **finite).map(lambda f: max(opt_delta + unit * f, 0.0)),
        st.just(0.0), st.floats(0.0, 1e5, **finite)))
    wide = lambda lo, hi: st.floats(lo, hi, **finite)  # noqa: E731
    # half the rows are tradeable (fresh oracle, pool on the oracle, no cooldown, level 0 or 1)
    healthy = draw(st.booleans())
    pick = lambda good, other: st.just(good) if healthy else other  # noqa: E731
    return dict(
        t=NOW,
        spot=spot,
        oracle_fresh=draw(pick(1.0, mostly(1.0, st.just(0.0)))),
        pool_price=draw(pick(0.001, mostly(0.001, st.one_of(wide(-0.02, 0.02), wide(-0.05, 0.05), st.just(-1.0)))).map(
            lambda g: spot * (1 + g))),
        pool_depth=draw(mostly(0.5, st.one_of(wide(0.0, 10.0), st.just(0.0))).map(lambda f: f * nav)
                        | wide(0.0, 1e10)),
        pool_fee=draw(mostly(0.0005, st.sampled_from([0.0, 0.0001, 0.003, 0.01, 0.05]))),
        nav=nav,
        nav_per_share=nps,
        nav_per_share_hwm=nps * draw(st.floats(1.0, 2.0, **finite)),
        cash=nav * draw(st.floats(0.0, 2.0, **finite)),
        hedge_eth=hedge,
        option_delta_eth=opt_delta,
        gamma_eth_per_usd=draw(st.one_of(wide(-20.0, 20.0).map(lambda f: f * nav / spot**2), wide(-1e3, 1e3))),
        vega_usd=nav * draw(st.floats(-1.0, 1.0, **finite)),
        stress_margin=nav * draw(st.floats(0.0, 1.0, **finite)),
        settle_need=draw(mostly(0.0, wide(0.0, 0.2).map(lambda f: f * nav))),
        implied_vol=draw(st.floats(0.05, 3.0, **finite)),
        rv_short=draw(st.floats(0.0, 5.0, **finite)),
        rv_long=draw(st.floats(0.0, 5.0, **finite)),
        trend=draw(st.floats(-20.0, 20.0, **finite)),
        trend_accel=draw(st.floats(-50.0, 50.0, **finite)),
        level=float(draw(st.integers(0, 1) if healthy else st.integers(0, 3))),
        budget=draw(mostly(1.0, wide(0.0, 1.0))),
        hedge_room_usd=draw(st.one_of(wide(0.01, 0.3).map(lambda f: f * nav), wide(0.0, 1e9))),
        cooldown_left=draw(pick(0.0, mostly(0.0, wide(0.0, 1e4)))),
        gas_price_gwei=draw(mostly(5.0, st.one_of(wide(0.0, 300.0), wide(0.0, 1e4)))),
    )


def chain_accepts(level, d, dx, band_eth):
    """Hedger's level and band rule for a delta change dx (SPEC.md, Hedging)."""
    after = d + dx
    if level >= 3:
        return False
    if level == 2:
        return dx < 0
    if level == 1:
        return abs(after) < abs(d)
    return abs(after) <= band_eth * (1 + 1e-12) or abs(after) < abs(d)


# ---------------------------------------------------------------- properties


@st.composite
def params_and_config(draw):
    """Default params and config half the time, else any values inside the hard bounds."""
    if draw(st.booleans()):
        return P, CFG
    frac = lambda lo, hi: draw(st.floats(lo, hi, **finite))  # noqa: E731
    p = make_params(
        max_deviation=frac(C["MIN_MAX_DEVIATION"] / WAD, C["MAX_MAX_DEVIATION"] / WAD),
        max_slippage=frac(C["MIN_MAX_SLIPPAGE"] / WAD, C["MAX_MAX_SLIPPAGE"] / WAD),
        max_trade=frac(1e-4, C["MAX_MAX_TRADE"] / WAD),
        delta_band=frac(0.0, C["MAX_DELTA_BAND"] / WAD),
        budget_floor=frac(C["MIN_BUDGET_FLOOR"] / WAD, 1.0),
        max_utilisation=frac(0.01, C["MAX_MAX_UTILISATION"] / WAD),
    )
    cfg = AllocatorConfig(max_lean=frac(0.0, 0.9), deviation_use=frac(0.01, 1.0), slippage_use=frac(0.01, 1.0),
                          min_band_nav=frac(0.0, 0.01), cap_margin=frac(0.5, 1.0))
    return p, cfg


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rows(), min_size=1, max_size=12), params_and_config())
def test_every_on_chain_limit_holds(rs, pc):
    P, CFG = pc  # noqa: N806 (shadows the module defaults on purpose)
    state = stack(rs)
    out, det = detail(state, P, CFG)
    slip, dev = P.max_slippage, P.max_deviation
    for i, r in enumerate(rs):
        x, S, nav, level = out.trade_eth[i], r["spot"], r["nav"], int(r["level"])
        b = out.budget_target[i]
        assert P.budget_floor <= b <= 1.0
        if level > 0:
            assert b == P.budget_floor
        assert out.band_eth[i] >= 0
        chain_band = P.delta_band * min(r["budget"], b) * nav / S
        assert abs(out.delta_target_eth[i]) <= CFG.max_lean * chain_band * (1 + 1e-12)
        assert abs(out.delta_target_eth[i]) + out.band_eth[i] <= chain_band * (1 + 1e-9) + 1e-12
        if x == 0:
            continue
        gap = r["pool_price"] / S - 1 if r["pool_price"] > 0 else math.inf
        # blocked states never trade
        assert r["cooldown_left"] == 0 and level < 3 and r["oracle_fresh"] == 1.0 and nav > 0
        assert abs(gap) <= dev
        # size caps, holdings, cash
        assert abs(x) * S <= min(r["hedge_room_usd"], P.max_trade * nav) * (1 + 1e-12)
        if x < 0:
            assert -x <= r["hedge_eth"]
        else:
            assert r["settle_need"] == 0 and x * S <= r["cash"]
        # the price impact fits in the slippage allowance
        adverse = max(gap, 0) if x > 0 else max(-gap, 0)
        assert r["pool_fee"] + adverse + abs(x) * S * 0.005 / r["pool_depth"] <= slip * (1 + 1e-12)
        # level and band rules, for every outcome a buy can have (a sell's is exact)
        d = r["hedge_eth"] - r["option_delta_eth"]
        outcomes = [x] if x < 0 else [x * (1 - slip), x / (1 - dev)]
        for dx in outcomes:
            assert chain_accepts(level, d, dx, chain_band), (level, d, dx, chain_band)
        # the order the bot would send passes Hedger's own integer checks
        order = hedge_order(x, S, max_slippage=slip, now=int(NOW), cost_fraction=det["cost"][i])
        assert order is not None and order.buy == (x > 0)
        assert order.min_out >= order.min_out_floor
        assert order.min_out <= order.expected_out
        s_wad = int(round(S * WAD))
        notional = order.amount_in * 10**12 if order.buy else order.amount_in * s_wad // WAD
        nav_wad = int(nav * 10**6) * 10**12
        assert notional * WAD <= nav_wad * math.floor(P.max_trade * WAD)


@settings(max_examples=100, deadline=None)
@given(st.lists(rows(), min_size=2, max_size=8))
def test_rows_are_independent(rs):
    """N rows at once give exactly what N one-row calls give."""
    state = stack(rs)
    together = allocate(state, P, CFG)
    for i in range(state.n):
        alone = allocate(state.row(i), P, CFG)
        for f in ("budget_target", "atm_vol", "delta_target_eth", "band_eth", "trade_eth", "reason"):
            assert np.array_equal(getattr(together, f)[i : i + 1], getattr(alone, f), equal_nan=True), f


@settings(max_examples=60, deadline=None)
@given(st.lists(rows(), min_size=1, max_size=6))
def test_deterministic_and_pure(rs):
    state = stack(rs)
    before = {k: getattr(state, k).copy() for k in BASE}
    a = allocate(state, P, CFG)
    b = allocate(state, P, CFG)
    for f in ("budget_target", "atm_vol", "delta_target_eth", "band_eth", "trade_eth", "reason"):
        assert np.array_equal(getattr(a, f), getattr(b, f))
    for k, v in before.items():
        assert np.array_equal(getattr(state, k), v), f"allocate modified state.{k}"


def test_level_rules():
    # a vault far short delta (d = -30 ETH), outside every band
    common = dict(hedge_eth=70.0, option_delta_eth=100.0, settle_need=0.0)
    out = allocate(make_state(level=[0, 1, 2, 3], **common), P, CFG)
    assert out.trade_eth[0] > 0 and out.reason[0] in (TRADE_TO_BAND, TRADE_TO_TARGET)
    assert 0 < out.trade_eth[1] <= 30 * (1 - P.max_deviation)  # reduce-only: toward zero, never across
    assert out.trade_eth[2] == 0 and out.reason[2] == BLOCKED_LEVEL  # withdraw-only: no buying
    assert out.trade_eth[3] == 0 and out.reason[3] == BLOCKED_LEVEL
    assert np.all(out.budget_target[1:] == P.budget_floor)
    assert np.all(out.delta_target_eth[1:] == 0)
    # over-hedged (d = +30 ETH): withdraw-only may sell, halted may not
    out = allocate(make_state(level=[2, 3], hedge_eth=130.0, option_delta_eth=100.0), P, CFG)
    assert -30 <= out.trade_eth[0] < 0
    assert out.trade_eth[1] == 0


def test_buy_overshoot_stays_inside_the_band():
    """A buy may fill up to 1 / (1 - max_deviation) times its oracle-priced size (pool price better than the
    oracle): sized so that even then the vault lands inside the on-chain band."""
    p = make_params(max_deviation=0.2)
    cfg = AllocatorConfig(max_lean=0.9, min_band_nav=0.0, deviation_use=1.0)
    B = p.delta_band * 1e6 / 3000
    st_ = make_state(gamma_eth_per_usd=0.0, gas_price_gwei=0.0, trend=20.0, hedge_eth=100.0,
                     option_delta_eth=100.0 + 0.9 * B, pool_price=3000.0)
    out, det = detail(st_, p, cfg)
    assert det["B"][0] == pytest.approx(B) and out.delta_target_eth[0] == pytest.approx(0.9 * B)
    x = out.trade_eth[0]
    assert x == pytest.approx(1.9 * B / 1.25) and x < 1.8 * B   # less than the distance to the target
    assert -0.9 * B + x / (1 - 0.2) <= B * (1 + 1e-12)


def test_reduce_only_settlement_never_crosses_zero():
    # slightly long (d = +2 ETH), 60,000 USD to raise: reduce-only lets the sale go to zero delta and no further
    out = allocate(make_state(level=1, hedge_eth=102.0, option_delta_eth=100.0, settle_need=60_000.0), P, CFG)
    assert out.trade_eth[0] == pytest.approx(-2.0) and out.reason[0] == SETTLEMENT_CASH
    # level 0: down to the band's lower edge
    out, det = detail(make_state(level=0, hedge_eth=102.0, option_delta_eth=100.0, settle_need=60_000.0))
    assert out.trade_eth[0] == pytest.approx(-2.0 - det["B"][0])


def test_blocked_reasons():
    far = dict(hedge_eth=70.0, option_delta_eth=100.0)
    out = allocate(make_state(cooldown_left=[120.0, 0.0, 0.0, 0.0], oracle_fresh=[1, 0, 1, 1],
                              pool_price=[3000.0, 3000.0, 3100.0, 3000.0], hedge_room_usd=[1e5, 1e5, 1e5, 0.0], **far),
                   P, CFG)
    assert list(out.reason) == [BLOCKED_COOLDOWN, BLOCKED_DEVIATION, BLOCKED_DEVIATION, BLOCKED_CAPS]
    assert np.all(out.trade_eth == 0)
    inside = allocate(make_state(hedge_eth=100.0, option_delta_eth=100.2), P, CFG)
    assert inside.trade_eth[0] == 0 and inside.reason[0] == NO_TRADE_IN_BAND


def test_settlement_cash_sells_hedge_first():
    # delta neutral, but 30,000 USD of expired payoffs are not covered by cash
    st_ = make_state(settle_need=30_000.0, cash=10_000.0, hedge_eth=100.0, option_delta_eth=100.0,
                     level=[0, 2], budget=1.0)
    out, det = detail(st_)
    need = 30_000 * (1 + CFG.settle_buffer) / 3000
    assert out.reason[1] == SETTLEMENT_CASH and out.trade_eth[1] == pytest.approx(-need)   # withdraw-only: any sale
    assert out.reason[0] == SETTLEMENT_CASH and out.trade_eth[0] < 0
    assert -out.trade_eth[0] <= det["B"][0] + 1e-12     # level 0: no further than the band allows
    full = decide(st_.row(1), P, CFG)       # the sale covers the need
    assert full.hedge is not None and not full.hedge.buy and full.raise_settlement_cash is False
    part = decide(st_.row(0), P, CFG)       # the band lets it sell ~10,000 of 30,000 USD
    assert part.hedge is not None and not part.hedge.buy and part.raise_settlement_cash is True
    # no buying while a settlement is short, even with no hedge to sell
    out = allocate(make_state(settle_need=1_000.0, hedge_eth=0.0, option_delta_eth=50.0, cash=1e6), P, CFG)
    assert out.trade_eth[0] == 0 and out.reason[0] == BLOCKED_CAPS
    blocked = decide(make_state(settle_need=30_000.0, hedge_eth=100.0, option_delta_eth=100.0, cooldown_left=60.0),
                     P, CFG)
    assert blocked.hedge is None and blocked.raise_settlement_cash
    assert "raise_settlement_cash" in blocked.reasons["settlement"]


# ---------------------------------------------------------------- monotone in costs and in risk


def _interior_band(**kw):
    """A state whose band is set by Whalley-Wilmott (neither the gas floor nor the on-chain cap)."""
    out, det = detail(make_state(**kw))
    assert det["h_ww"][0] * det["mult"][0] > det["h_min"][0]
    assert out.band_eth[0] < det["h_room"][0]
    return out.band_eth


def test_band_widens_as_costs_rise():
    fees = _interior_band(pool_fee=[0.0001, 0.0005, 0.003, 0.01])
    assert np.all(np.diff(fees) > 0)
    depths = _interior_band(pool_depth=[5e6, 1e6, 5e5, 2e5])
    assert np.all(np.diff(depths) > 0)
    gas = _interior_band(gas_price_gwei=[1.0, 10.0, 30.0, 60.0])
    assert np.all(np.diff(gas) > 0)
    # also where the floors and caps bind: never narrower
    out = allocate(make_state(pool_fee=np.linspace(0, 0.05, 30)), P, CFG)
    assert np.all(np.diff(out.band_eth) >= 0)
    out = allocate(make_state(gas_price_gwei=np.geomspace(0.1, 5_000, 30), gamma_eth_per_usd=0.0), P, CFG)
    assert np.all(np.diff(out.band_eth) >= 0)


def test_band_formula_whalley_wilmott():
    out, det = detail(make_state())
    S, G, nav = 3000.0, 0.2, 1e6
    gas = 20e-9 * CFG.gas_per_trade * S
    q = CFG.typical_trade_nav * nav
    lam = 0.0005 + q * 0.005 / 500_000 + gas / q
    h = (1.5 * lam * S * G**2 / (CFG.risk_aversion / nav)) ** (1 / 3)
    assert det["lam"][0] == pytest.approx(lam, rel=1e-12)
    assert det["h_ww"][0] == pytest.approx(h, rel=1e-12)
    assert out.band_eth[0] == pytest.approx(h, rel=1e-12)
    assert det["B"][0] == pytest.approx(P.delta_band * nav / S)


def test_band_never_wider_than_chain_nor_narrower_than_gas():
    out, det = detail(make_state(gamma_eth_per_usd=[0.0, 0.2, 50.0], gas_price_gwei=[40.0, 40.0, 40.0]))
    gas_floor = 40e-9 * CFG.gas_per_trade * 3000 / (CFG.max_gas_share * 3000)
    assert out.band_eth[0] == pytest.approx(gas_floor)           # no gamma: the gas floor
    assert out.band_eth[2] == pytest.approx(det["B"][2])          # huge gamma: the on-chain band


def test_trend_leans_and_moves_the_band():
    out, det = detail(make_state(trend=[0.0, 3.0, -3.0], rv_short=1.0, rv_long=1.0))
    assert out.delta_target_eth[0] == 0
    assert out.delta_target_eth[1] > 0 > out.delta_target_eth[2]
    assert out.delta_target_eth[1] == pytest.approx(CFG.max_lean * det["B"][1])
    # an uptrend that accelerates narrows the band; one that fades widens it
    out, det = detail(make_state(trend=1.0, trend_accel=[0.0, 0.2, -0.2]))
    assert det["mult"][1] < 1 < det["mult"][2]
    assert out.band_eth[1] < out.band_eth[0] < out.band_eth[2]


def test_budget_shrinks_as_vol_rises():
    v = np.linspace(0.3, 3.0, 25)
    out, det = detail(make_state(rv_short=v, rv_long=v))
    assert np.all(np.diff(det["b_vol"]) <= 0) and det["b_vol"][-1] < det["b_vol"][0]
    assert np.all(np.diff(out.budget_target) <= 0) and out.budget_target[-1] < out.budget_target[0]
    # a regime shift (short-term realised vol above implied and long-run) cuts the gamma budget
    out, det = detail(make_state(rv_short=[0.6, 1.2, 2.4], rv_long=0.6, implied_vol=0.65))
    assert det["b_gamma"][0] == 1.0 and 1.0 > det["b_gamma"][1] > det["b_gamma"][2]


def test_budget_shrinks_with_the_cushion():
    nps = np.linspace(1.05, 0.80, 26)
    out, det = detail(make_state(nav_per_share=nps, nav_per_share_hwm=1.05))
    assert np.all(np.diff(det["b_cppi"]) <= 0)
    assert det["b_cppi"][0] == pytest.approx(1.0) and det["b_cppi"][-1] == 0.0
    assert np.all(np.diff(out.budget_target) <= 0)
    assert out.budget_target[-1] == P.budget_floor
    # b_cppi = m (NAV - F) / NAV with F = floor_fraction x hwm x shares
    i = 10
    shares = 1e6 / nps[i]
    floor = CFG.floor_fraction * 1.05 * shares
    assert det["b_cppi"][i] == pytest.approx(min(1.0, CFG.cushion_multiplier * (1e6 - floor) / 1e6))


def test_budget_follows_jump_stress_and_liquidity():
    # a book whose jump loss (time value + vol spike) dwarfs its payoff grid
    out, det = detail(make_state(vega_usd=[0.0, 5e5, 2e6], stress_margin=1e5))
    assert det["b_stress"][0] >= det["b_stress"][1] > det["b_stress"][2]
    assert det["jump_loss"][2] > det["stress"][0]
    # thinner pool, smaller vega budget
    out, det = detail(make_state(pool_depth=[1e6, 1e5, 1e4]))
    assert det["b_vega"][0] == 1.0 and 1.0 > det["b_vega"][1] > det["b_vega"][2]
    cfg = AllocatorConfig(depth_ref_usd=2e6)
    _, det2 = detail(make_state(pool_depth=1e6), cfg=cfg)
    assert det2["b_vega"][0] == pytest.approx(0.5)


# ---------------------------------------------------------------- the trade is the constrained optimum


@settings(max_examples=150, deadline=None)
@given(st.lists(rows(), min_size=1, max_size=8))
def test_trade_matches_scipy(rs):
    """The closed form (soft threshold, projected) is what scipy finds for the same convex objective."""
    for r in rs:
        r["settle_need"] = 0.0
    out, det = detail(stack(rs))
    for i, r in enumerate(rs):
        if out.reason[i] not in (TRADE_TO_BAND, TRADE_TO_TARGET):
            continue
        S, lam, ipu, h = r["spot"], det["lam"][i], det["ipu"][i], out.band_eth[i]
        d, tgt = det["d"][i], out.delta_target_eth[i]
        lo, hi = det["lo"][i], det["hi"][i]
        x = out.trade_eth[i]
        if h == 0:  # no band (budget or delta_band 0): infinite risk weight, the nearest feasible point to the target
            assert x == np.clip(tgt - d, lo, hi)
            continue
        if not (math.isfinite(lam) and math.isfinite(ipu)):
            # no pool depth to trade against: the objective is infinite away from 0,
            # so the allocator may only move within what it can price (checked elsewhere)
            continue
        k = lam * S / h

        def cost(x):
            return lam * S * abs(x) + S * S * ipu * x * x + 0.5 * k * (d + x - tgt) ** 2

        ref = minimize_scalar(cost, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12 * max(1, hi - lo)})
        assert math.isfinite(cost(lo)) and math.isfinite(cost(hi))
        scale = max(abs(cost(x)), 1e-9)
        assert cost(x) <= ref.fun + 1e-7 * scale
        assert x == pytest.approx(ref.x, abs=1e-4 * max(1.0, abs(hi - lo)))


# ---------------------------------------------------------------- vols


def test_atm_vol_clipped_and_rate_limited():
    step = P.max_vol_rate * min(CFG.vol_post_interval_s, CFG.vol_accrual_cap_s)
    out = allocate(make_state(rv_short=[0.01, 0.6, 5.0, 5.0], rv_long=[0.01, 0.6, 5.0, 5.0],
                              implied_vol=[0.21, 0.65, 0.7, 1.99]), P, CFG)
    assert out.atm_vol[0] == P.vol_floor                        # floor reachable within a step
    assert out.atm_vol[1] == pytest.approx(0.65)                # 0.6 + premium 0.05
    assert out.atm_vol[2] == pytest.approx(0.7 + step, rel=1e-5)  # rate-limited
    assert out.atm_vol[3] == P.vol_cap
    assert np.all(np.abs(out.atm_vol - [0.21, 0.65, 0.7, 1.99]) <= step)


@settings(max_examples=150, deadline=None)
@given(st.lists(rows(), min_size=1, max_size=10))
def test_atm_vol_bounds_property(rs):
    out = allocate(stack(rs), P, CFG)
    step = P.max_vol_rate * min(CFG.vol_post_interval_s, CFG.vol_accrual_cap_s)
    for i, r in enumerate(rs):
        iv, v = r["implied_vol"], out.atm_vol[i]
        assert abs(v - iv) <= step
        if P.vol_floor <= iv <= P.vol_cap:
            assert P.vol_floor <= v <= P.vol_cap


def test_vol_accrual_cap_mirrors_constants():
    assert CFG.vol_accrual_cap_s == C["VOL_ACCRUAL_CAP"]


def test_vol_for_strike_skew():
    v = vol_for_strike(0.6, np.array([2000.0, 3000.0, 4000.0]), 3000.0, 30 / 365, CFG)
    assert v[1] == pytest.approx(0.6)
    assert v[0] > v[1] and v[2] > v[1] * (1 - 0.05) and v[0] > v[2]      # put wing dearer, a smile
    assert vol_for_strike(0.6, 2000.0, 3000.0, 0.0, CFG) == 0.6           # expired: ATM
    with pytest.raises(ValueError, match="strike"):
        vol_for_strike(0.6, -1.0, 3000.0, 0.1, CFG)


def test_series_vols_rate_limited_per_series():
    st_ = make_state(rv_short=1.5, rv_long=1.5)
    series = [(1, 3000.0, NOW + 7 * 86400, True, 0.6, NOW - 600),  # posted 10 minutes ago
              (2, 3000.0, NOW + 7 * 86400, True, 0.6, NOW - 7200),  # 2 h ago: the accrual cap binds
              (3, 2500.0, NOW + 30 * 86400, False, 0.6),            # unknown: cfg.vol_post_interval_s
              (4, 2500.0, NOW - 10, False, 0.6)]                   # expired: nothing to post
    d = decide(st_, P, CFG, series=series)
    got = {v.series_id: v for v in d.vols}
    assert set(got) == {1, 2, 3}
    rate = P.max_vol_rate
    assert got[1].vol == pytest.approx(0.6 + rate * 600, rel=1e-5) and got[1].vol <= 0.6 + rate * 600
    assert got[2].vol == pytest.approx(0.6 + rate * CFG.vol_accrual_cap_s, rel=1e-5)
    assert got[3].vol == pytest.approx(0.6 + rate * min(CFG.vol_post_interval_s, CFG.vol_accrual_cap_s), rel=1e-5)
    for v in got.values():
        assert P.vol_floor <= v.vol <= P.vol_cap and v.vol_wad == round(v.vol * WAD)
        assert "from 0.6000" in v.reason


# ---------------------------------------------------------------- SVI quotes


def test_quotes_file_loads_and_fits():
    raw = json.loads(QUOTES.read_text())
    quotes = load_quotes(QUOTES)
    assert len(quotes) == len(raw["result"]) == 78
    surf = fit_quotes(QUOTES, NOW)
    assert len(surf.fits) == 3 and all(f.butterfly_ok for f in surf.fits)
    assert max(f.rmse_iv for f in surf.fits) < 1e-3
    # the surface returns each expiry's quotes
    for q in quotes[::7]:
        assert surf.vol(q["strike"], q["expiry"], NOW)[0] == pytest.approx(q["mark_iv"] / 100, abs=2e-3)
    # between two expiries: between their vols (total variance interpolated in time)
    e1, e2 = surf.expiries[0], surf.expiries[1]
    mid = surf.vol(3000.0, (e1 + e2) / 2, NOW)[0]
    lo, hi = sorted([surf.vol(3000.0, e1, NOW)[0], surf.vol(3000.0, e2, NOW)[0]])
    assert lo - 1e-3 <= mid <= hi + 1e-3


def test_decide_reads_vols_from_the_svi_fit():
    quotes = load_quotes(QUOTES)
    expiry = quotes[40]["expiry"]
    same = [q for q in quotes if q["expiry"] == expiry and q["strike"] in (2400, 3000, 3600)]
    by_hand = fit_svi(np.log(np.array([q["strike"] for q in quotes if q["expiry"] == expiry]) / same[0]["underlying_price"]),
                      np.array([q["mark_iv"] / 100 for q in quotes if q["expiry"] == expiry]), (expiry - NOW) / SECONDS_PER_YEAR)
    want = {q["strike"]: float(by_hand.iv(math.log(q["strike"] / q["underlying_price"]))) for q in same}
    # posted vols already near the fit, so the rate limit does not bind
    series = [(k, float(k), expiry, True, round(v, 2), NOW - 3600) for k, v in want.items()]
    for source in (QUOTES, fit_quotes(QUOTES, NOW)):
        d = decide(make_state(), P, CFG, series=series, quotes=source)
        for post in d.vols:
            assert post.vol == pytest.approx(want[post.series_id], abs=1e-6)
            assert post.reason.startswith("SVI")
    # far from the fit: clipped and rate-limited all the same
    d = decide(make_state(), P, CFG, series=[(9, 3000.0, expiry, True, 0.2, NOW - 60)], quotes=QUOTES)
    assert d.vols[0].vol == pytest.approx(0.2 + P.max_vol_rate * 60, rel=1e-5)


def test_unusable_quotes_fall_back_to_the_model():
    bad = [{"strike": 3000, "expiry": NOW + 86400, "mark_iv": 60, "underlying_price": 3000}]
    d = decide(make_state(), P, CFG, series=[(1, 3000.0, NOW + 86400, True, 0.6)], quotes=bad)
    assert d.vols[0].reason.startswith("model")
    assert "quotes unusable" in d.reasons["vol"]
    with pytest.raises(ValueError, match="quotes"):
        fit_quotes(bad, NOW)
    with pytest.raises(ValueError, match="quotes"):
        load_quotes({"no": "list"})
    assert isinstance(fit_quotes(json.loads(QUOTES.read_text()), NOW), QuoteSurface)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("field,value", [
    ("spot", math.nan), ("spot", math.inf), ("spot", 0.0), ("spot", -3000.0), ("nav", math.nan), ("nav", -1.0),
    ("pool_depth", math.nan), ("hedge_eth", -1.0), ("implied_vol", 0.0), ("level", 4.0), ("level", 1.5),
    ("budget", 1.5), ("gamma_eth_per_usd", math.inf), ("cash", math.nan), ("oracle_fresh", 0.5),
    ("nav_per_share", 0.0), ("cooldown_left", math.nan), ("settle_need", -5.0),
])
def test_bad_input_names_the_field(field, value):
    rows_ = [dict(BASE), dict(BASE)]
    rows_[1][field] = value
    with pytest.raises(ValueError, match=rf"state\.{field}\b.*row 1"):
        allocate(stack(rows_), P, CFG)
    with pytest.raises(ValueError, match=rf"state\.{field}\b"):
        decide(stack(rows_).row(1), P, CFG)


def test_bad_shapes_params_and_config():
    st_ = make_state()
    st_.spot = np.array([3000.0, 3000.0])
    with pytest.raises(ValueError, match="state.spot has 2 rows"):
        allocate(st_, P, CFG)
    with pytest.raises(ValueError, match="params.max_slippage"):
        allocate(make_state(), make_params(max_slippage=math.nan), CFG)
    p = make_params()
    del p.delta_band
    with pytest.raises(ValueError, match="params.delta_band"):
        allocate(make_state(), p, CFG)
    with pytest.raises(ValueError, match="AllocatorConfig.target_vol"):
        AllocatorConfig(target_vol=0.0)
    with pytest.raises(ValueError, match="AllocatorConfig.risk_aversion"):
        AllocatorConfig(risk_aversion=math.nan)
    with pytest.raises(ValueError, match="AllocatorConfig.trend_z_full"):
        AllocatorConfig(trend_z_min=3.0, trend_z_full=2.0)
    with pytest.raises(ValueError, match="AllocatorConfig.deadline_s"):
        AllocatorConfig(deadline_s="300")
    with pytest.raises(ValueError, match="one row"):
        decide(make_state(n=2), P, CFG)


def test_config_documents_every_field():
    doc = AllocatorConfig.__doc__
    for name in AllocatorConfig.__dataclass_fields__:
        assert re.search(rf"^\s+{name}\s", doc, re.M), f"{name} is not documented"
        assert name in AllocatorConfig._BOUNDS


# ---------------------------------------------------------------- the hedge order and decide


def test_hedge_order_buy_and_sell():
    buy = hedge_order(2.0, 3000.0, max_slippage=0.01, now=1000, deadline_s=300, cost_fraction=0.001,
                      slippage_buffer=0.001)
    assert buy.buy and buy.amount_in == 6_000 * 10**6 and buy.deadline == 1300
    assert buy.expected_out == 2 * WAD
    assert buy.min_out_floor == 2 * WAD * 99 // 100
    assert buy.min_out == 2 * WAD * (WAD - 2 * 10**15) // WAD                  # 20 bp allowance
    sell = hedge_order(-1.5, 3000.0, max_slippage=0.01, now=1000, cost_fraction=0.5)  # cost above the floor
    assert not sell.buy and sell.amount_in == 15 * 10**17
    assert sell.expected_out == 4_500 * 10**6
    assert sell.min_out == sell.min_out_floor == 4_455 * 10**6                 # never below the on-chain floor
    assert hedge_order(0.0, 3000.0, max_slippage=0.01, now=0) is None
    assert hedge_order(1e-12, 3000.0, max_slippage=0.01, now=0) is None        # rounds to zero units
    with pytest.raises(ValueError, match="spot"):
        hedge_order(1.0, math.nan, max_slippage=0.01, now=0)
    # spot given as the feed's wad answer: bit-exact with the contract
    o = hedge_order(-1.0, 3000.123456, max_slippage=0.01, now=0, spot_wad=3000123456 * 10**10)
    assert o.expected_out == (WAD * 3000123456 * 10**10 // WAD) // 10**12


def test_decide_equals_allocate_and_explains():
    st_ = make_state(hedge_eth=90.0, option_delta_eth=100.0)
    d = decide(st_, P, CFG)
    out = allocate(st_, P, CFG)
    assert d.trade_eth == out.trade_eth[0] and d.budget_target == out.budget_target[0]
    assert d.band_eth == out.band_eth[0] and d.reason_code == out.reason[0]
    assert d.hedge is not None and d.hedge.buy and d.hedge.deadline == int(NOW) + CFG.deadline_s
    assert d.hedge.amount_in == math.floor(d.trade_eth * 3000.0 * 10**6)
    assert d.budget_wad == math.floor(d.budget_target * WAD)
    assert set(d.reasons) >= {"budget", "vol", "band", "hedge"}
    assert re.search(r"band [\d.]+ ETH from gamma 0.2 .*fee 5.0 bp, impact [\d.]+ bp per 10k USD, gas [\d.]+ USD",
                     d.reasons["band"])
    assert "buy" in d.reasons["hedge"] and "binding" in d.reasons["budget"]
    assert set(d.numbers) >= set(DETAIL)
    # the budget post stays inside [floor, 1] in wad
    low = decide(make_state(level=1), P, CFG)
    assert low.budget_wad == C["DEFAULT_BUDGET_FLOOR"]
