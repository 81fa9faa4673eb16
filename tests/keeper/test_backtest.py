"""keeper.backtest: determinism, every on-chain limit respected, settlement accounting, models, CSV and CLI."""
import importlib.util
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import keeper.backtest as bt
from keeper.backtest import (
    MarketConfig,
    SimConfig,
    Simulator,
    StaticConfig,
    StrategyUnavailable,
    make_market,
    market_from_prices,
    read_price_csv,
    resolve_strategy,
    run_backtest,
)
from keeper.cli import main
from keeper.params import Params
from keeper.policy import PolicyOutput

P = Params.from_constants()
ROOT = Path(__file__).resolve().parents[2]
HAS_ALLOCATOR = importlib.util.find_spec("keeper.allocator") is not None


def static_cfg(market):
    return StaticConfig(vol=market.nominal_vol, step_seconds=market.step_seconds)


def random_policy(seed, record=None):
    """An adversarial keeper: random budgets, vols and hedge trades, many beyond every cap.
    `record[(t, path)] = level` keeps the level each step's sales and trades met."""
    rng = np.random.default_rng(seed)

    def policy(state, params, cfg):
        n = state.n
        if record is not None:
            for i in range(n):
                record[(float(state.t[i]), i)] = int(state.level[i])
        delta = state.hedge_eth - state.option_delta_eth
        toward = -delta * rng.uniform(0.0, 2.5, n)  # toward zero delta, often overshooting
        wild = rng.normal(0.0, 1.0, n) * np.exp(rng.uniform(-7, -1, n)) * state.nav / state.spot
        trade = np.where(rng.random(n) < 0.5, toward, wild)
        trade[rng.random(n) < 0.2] = 0.0
        return PolicyOutput(
            budget_target=rng.uniform(-0.1, 1.2, n), atm_vol=rng.uniform(0.05, 3.5, n),
            delta_target_eth=np.zeros(n), band_eth=np.zeros(n), trade_eth=trade, reason=np.zeros(n, dtype=np.int64),
        )

    return policy


def stress_reference(row, n_slots, grid):
    """SPEC stress loss from a logged sale (the book after it), computed from scratch."""
    s0, hedge = row[bt.L_S0], row[bt.L_HEDGE]
    base = bt.N_SALE_LOG
    worst = 0.0
    for g in grid:
        x = s0 * (1.0 + g)
        loss = -hedge * s0 * g
        for s in range(n_slots):
            q, K, call = row[base + 3 * s], row[base + 3 * s + 1], row[base + 3 * s + 2]
            pay = max(x - K, 0.0) if call > 0.5 else max(K - x, 0.0)
            loss += math.ceil(q * pay * 1e6) / 1e6
        worst = max(worst, loss)
    return worst


def nav_reference(res, market):
    """NAV from the final state, recomputed: cash + hedge S - max(0, L + D dS + G dS^2 / 2)."""
    S = market.oracle[:, -1]
    f, ser = res.final, res.final_series
    live = ser[:, :, bt.LIVE] > 0.5
    q = np.where(live, ser[:, :, bt.Q], 0.0)
    dS = S - f[:, bt.S0]
    L = (q * ser[:, :, bt.MP]).sum(1) + (q * ser[:, :, bt.MD]).sum(1) * dS + 0.5 * (q * ser[:, :, bt.MG]).sum(1) * dS**2
    return np.maximum(0.0, f[:, bt.CASH] + f[:, bt.HEDGE] * S - np.maximum(L, 0.0))


# ---------------------------------------------------------------- determinism


def test_same_seed_same_numbers_other_seed_other_numbers():
    args = dict(model="merton", strategies=["no_hedge", "hedge_every:2", "fixed_band:0.01"], n_paths=6, days=4,
                step_minutes=60)
    a = run_backtest(seed=5, **args)
    b = run_backtest(seed=5, **args)
    c = run_backtest(seed=6, **args)
    for name in a:
        assert np.array_equal(a[name].acc, b[name].acc)
        assert np.array_equal(a[name].day_nav, b[name].day_nav)
        assert np.array_equal(a[name].final_series, b[name].final_series)
        assert not np.array_equal(a[name].day_nav, c[name].day_nav)
        sa, sb = a[name].summary(), b[name].summary()
        sa.pop("path_steps_per_s"), sb.pop("path_steps_per_s")
        assert sa == sb


def test_batches_cover_every_path_once():
    # a small batch size splits the run; every path is simulated and the strategies share the paths
    cfg = SimConfig(max_batch_elements=5 * 97)
    r = run_backtest("gbm", ["no_hedge", "fixed_band:0.02"], 12, 4, 60, 3, sim_cfg=cfg)
    assert all(x.n_paths == 12 and x.day_nav.shape == (12, 5) for x in r.values())
    assert np.all(r["no_hedge"].column("buy_attempts") == r["fixed_band:0.02"].column("buy_attempts"))


# ---------------------------------------------------------------- every limit respected


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_no_sale_or_trade_ever_breaks_a_limit(data):
    d = data.draw
    hourly = d(st.floats(0.02, 0.5))
    params = P.replace(
        max_utilisation=d(st.floats(0.05, 0.9)),
        max_vega_ratio=d(st.floats(0.01, 1.0)),
        max_gamma_ratio=d(st.floats(0.002, 0.2)),
        max_trade=d(st.floats(0.01, 0.25)),
        max_hourly_notional=hourly,
        max_daily_notional=d(st.floats(hourly, 3.0)),
        hedge_cooldown=d(st.integers(0, 7_200)),
        delta_band=d(st.floats(0.0, 0.2)),
        max_slippage=d(st.floats(0.001, 0.03)),
        budget_rate=d(st.floats(0.01, 1.0)),
        cooldown=d(st.integers(300, 20_000)),
        max_spot_move=d(st.floats(0.01, 0.5)),
    )
    model = d(st.sampled_from(["gbm", "merton", "crash"]))
    step = d(st.sampled_from([10, 30, 60]))
    mcfg = MarketConfig(sigma=d(st.floats(0.2, 1.5)), pool_depth_usd=d(st.sampled_from([3e4, 3e5, 3e6])))
    cfg = SimConfig(
        buy_rate_per_day=d(st.floats(1.0, 60.0)), buy_size_eth=d(st.floats(0.5, 40.0)),
        keeper_miss_prob=d(st.sampled_from([0.0, 0.3])), gas_gwei=d(st.floats(0.0, 50.0)),
        strikes=d(st.sampled_from([((1.1, True), (0.9, False)), ((1.02, True),), ((0.95, False), (1.0, True))])),
        tenor_days=d(st.sampled_from([1.0, 2.0])), series_period_days=1.0,
    )
    seed = d(st.integers(0, 2**16))
    market = make_market(model, 5, 3, step, seed, mcfg, params)
    sim = Simulator(market, params, cfg, seed + 1)
    levels = {}
    runs = [
        sim.run("random", random_policy(seed, levels), None, audit=True),
        sim.run("hedge_every:1", bt.hedge_every(1.0), static_cfg(market), audit=True),
    ]
    for res in runs:
        check_limits(res, params, sim, levels if res.name == "random" else None)
        check_ledgers(res, market, cfg)


def check_limits(res, params, sim, levels=None):
    """Every accepted sale and landed trade of an audited run within SPEC's limits (recomputed)."""
    market = sim.market
    tol = 1e-9
    for row in res.sale_log:
        b, nav = row[bt.L_B], row[bt.L_NAV]
        m_ref = stress_reference(row, sim.n_slots, params.GRID)
        assert m_ref == pytest.approx(row[bt.L_M], rel=1e-9, abs=1e-6)
        assert m_ref <= nav * params.max_utilisation * b * (1 + tol) + 1e-6
        assert row[bt.L_V] <= nav * params.max_vega_ratio * b * (1 + tol)
        assert row[bt.L_G] * row[bt.L_S] ** 2 / 100 <= nav * params.max_gamma_ratio * b * (1 + tol)
        assert params.budget_floor - tol <= b <= 1 + tol
        assert abs(row[bt.L_S] - row[bt.L_S0]) <= params.max_spot_drift * row[bt.L_S0] * (1 + tol)
        if levels is not None:
            assert levels[(row[bt.L_T], int(row[bt.L_PATH]))] == 0  # sales only at level 0
    trades = res.trade_log[res.trade_log[:, bt.R_KIND] == 0]
    for row in trades:
        lv, nav = row[bt.R_LEVEL], row[bt.R_NAV]
        assert row[bt.R_NOTIONAL] <= nav * params.max_trade * (1 + tol)
        assert row[bt.R_HOURLY] <= row[bt.R_HCAP] * (1 + tol)
        assert row[bt.R_DAILY] <= row[bt.R_DCAP] * (1 + tol)
        assert row[bt.R_T] - row[bt.R_PREV] >= params.hedge_cooldown
        before, after = abs(row[bt.R_BEFORE]), abs(row[bt.R_AFTER])
        assert lv < params.halted
        if lv == params.withdraw_only:
            assert row[bt.R_ETH] < 0
        elif lv == params.reduce_only:
            assert after < before  # reduce-only never grows |delta|
        else:
            assert after <= row[bt.R_BAND] * (1 + tol) or after < before
    # the leaky buckets, replayed from scratch per path
    for i in range(market.n_paths):
        used_h = used_d = 0.0
        last = -1e18
        for row in trades[trades[:, bt.R_PATH] == i]:
            el = row[bt.R_T] - last
            hcap, dcap = row[bt.R_HCAP], row[bt.R_DCAP]
            used_h = max(0.0, used_h - hcap * min(el, 3600) / 3600) + row[bt.R_NOTIONAL]
            used_d = max(0.0, used_d - dcap * min(el, 86400) / 86400) + row[bt.R_NOTIONAL]
            assert used_h == pytest.approx(row[bt.R_HOURLY], rel=1e-9, abs=1e-6)
            assert used_d == pytest.approx(row[bt.R_DAILY], rel=1e-9, abs=1e-6)
            assert used_h <= hcap * (1 + tol) and used_d <= dcap * (1 + tol)
            last = row[bt.R_T]
    assert np.all(res.final[:, bt.HEDGE] >= 0)  # the hedge never goes short


def check_ledgers(res, market, cfg):
    acc = lambda c: res.column(c)  # noqa: E731
    cash = cfg.nav0 + acc("premium_usd") - acc("payoff_usd") - acc("gas_usd") - acc("hedge_spent_usd") + acc(
        "hedge_received_usd"
    )
    np.testing.assert_allclose(res.final[:, bt.CASH], cash, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(res.final[:, bt.HEDGE], acc("hedge_bought_eth") - acc("hedge_sold_eth"), rtol=1e-9,
                               atol=1e-9)
    np.testing.assert_allclose(res.final[:, bt.NAV], nav_reference(res, market), rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(res.day_nav[:, -1], res.final[:, bt.NAV], rtol=1e-12)


# ---------------------------------------------------------------- accounting


def test_settlement_pays_intrinsic_at_the_first_round_after_expiry():
    # flat at 3,000 for three days, then +20 % to 3,600 and flat: the 3,300 calls expire worth 300 each
    step = 3600
    t = np.arange(8 * 24 + 1)
    price = np.where(t < 3 * 24, 3000.0, 3600.0)[None, :].repeat(3, axis=0)
    market = market_from_prices("test", price, step, 0.6)
    cfg = SimConfig(strikes=((1.1, True),), buy_rate_per_day=20.0, buy_size_eth=3.0, gas_gwei=0.0)
    sim = Simulator(market, P, cfg, seed=1)
    res = sim.run("no_hedge", bt.no_hedge, static_cfg(market), audit=True)
    first = res.sale_log[res.sale_log[:, bt.L_T] < 7 * 86400]
    for i in range(3):
        sold = first[first[:, bt.L_PATH] == i, bt.L_Q].sum()
        assert sold > 0
        assert res.column("payoff_usd")[i] == pytest.approx(sold * 300.0, rel=1e-12)
    assert np.all(res.column("settled") == 1) and np.all(res.column("shortfall_usd") == 0)
    assert np.all(res.trips[:, bt.SPOT_MOVE] == 1)  # +20 % in an hour
    check_ledgers(res, market, cfg)


@pytest.mark.parametrize("model", ["gbm", "crash"])
def test_ledgers_balance_for_every_static_strategy(model):
    market = make_market(model, 8, 9, 30, 11)
    cfg = SimConfig(buy_rate_per_day=30.0, strikes=((1.05, True), (0.95, False)), series_period_days=2.0,
                    tenor_days=3.0)
    sim = Simulator(market, P, cfg, seed=12)
    for name in ("no_hedge", "hedge_every:2", "fixed_band:0.005"):
        _, policy, _ = resolve_strategy(name)
        res = sim.run(name, policy, static_cfg(market))
        check_ledgers(res, market, cfg)
        assert res.column("settled").sum() > 0 and res.column("sales").sum() > 0
        # daily P&L sums to the change of NAV; the hedge error is what the explained part leaves
        he = res.hedge_errors()
        assert he.size == 8 * 9 and np.all(np.isfinite(he))
        if name != "no_hedge":
            assert res.column("hedge_trades").sum() > 0


# ---------------------------------------------------------------- keeper rules


def test_vol_posts_are_rate_limited_and_bounded():
    market = make_market("gbm", 4, 3, 30, 2)
    seen = []

    def policy(state, params, cfg):
        seen.append(state.implied_vol.copy())
        n = state.n
        k = len(seen)
        vol = np.full(n, 3.0 if (k // 10) % 2 else 0.01)  # far outside [vol_floor, vol_cap]
        return PolicyOutput(np.ones(n), vol, np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.int64))

    Simulator(market, P, SimConfig(), 1).run("vols", policy)
    v = np.array(seen)[1:]  # from step 1 on: the one series of the run, opened at t = 0
    dt = market.step_seconds
    last_post = np.zeros(v.shape[1])  # the series' vol was posted at t = 0
    for k in range(1, len(v)):
        t = (k + 1) * dt
        move = np.abs(v[k] - v[k - 1])
        allowed = P.max_vol_rate * np.minimum(t - dt - last_post, P.vol_accrual_cap)  # posted at the previous step
        assert np.all(move <= allowed * (1 + 1e-9) + 1e-15)
        last_post = np.where(move > 0, t - dt, last_post)
    assert v.min() >= P.vol_floor - 1e-12 and v.max() <= P.vol_cap + 1e-12
    assert np.abs(np.diff(v, axis=0)).max() >= P.max_vol_rate * P.vol_accrual_cap * (1 - 1e-9)  # it does move


def test_budget_down_at_once_up_at_the_rate():
    market = make_market("gbm", 2, 2, 60, 2)
    seen = []

    def policy(state, params, cfg):
        seen.append((state.t[0], state.budget.copy()))
        n = state.n
        target = 0.0 if state.t[0] < 6 * 3600 else 1.0  # 0 is clipped to the floor
        return PolicyOutput(np.full(n, target), np.full(n, 0.6), np.zeros(n), np.zeros(n), np.zeros(n),
                            np.zeros(n, dtype=np.int64))

    Simulator(market, P, SimConfig(), 1).run("budget", policy)
    for t, b in seen:
        if 0 < t <= 6 * 3600:
            assert np.allclose(b, P.budget_floor)
        elif t > 6 * 3600:
            expect = min(1.0, P.budget_floor + P.budget_rate * (t - 6 * 3600) / 3600)
            assert np.allclose(b, expect)


def test_crash_trips_breakers_and_levels_recover_one_step_per_cooldown():
    mcfg = MarketConfig(pool_depth_usd=3e4)
    market = make_market("crash", 6, 6, 15, 4, mcfg)
    levels = []

    def policy(state, params, cfg):
        levels.append((state.t[0], state.level.copy()))
        return bt.no_hedge(state, params, cfg)

    res = Simulator(market, P, SimConfig(), 5).run("no_hedge", policy, static_cfg(market))
    trips = dict(zip(bt.BREAKERS, res.trips.sum(0)))
    for b in ("oracle_stale", "oracle_dex_deviation", "spot_move", "thin_liquidity"):
        assert trips[b] >= market.n_paths, b
    assert res.column("refused_level").sum() > 0
    last_change = np.full(market.n_paths, -1e18)
    prev = np.zeros(market.n_paths, dtype=int)
    steps_up = 0
    for t, lv in levels:
        for i in range(market.n_paths):
            if lv[i] < prev[i]:  # recovery: one level at a time, a cooldown after the last change
                assert prev[i] - lv[i] == 1 and t - last_change[i] >= P.cooldown
                steps_up += 1
            if lv[i] != prev[i]:
                last_change[i] = t
        prev = lv
    assert max(int(lv.max()) for _, lv in levels) == P.withdraw_only
    assert steps_up >= market.n_paths  # every path came back from withdraw-only, at least to reduce-only


def test_keeper_silence_makes_marks_stale():
    market = make_market("gbm", 4, 3, 30, 9)
    res = Simulator(market, P, SimConfig(keeper_miss_prob=0.97), 3).run("no_hedge", bt.no_hedge, static_cfg(market))
    assert res.trips[:, bt.MARKS_STALE].sum() > 0 and res.column("keeper_missed").sum() > 0


# ---------------------------------------------------------------- models


@pytest.mark.parametrize("model", ["gbm", "merton", "garch", "crash"])
def test_models_shapes_and_determinism(model):
    a = make_market(model, 5, 3, 60, 1)
    b = make_market(model, 5, 3, 60, 1)
    assert a.price.shape == (5, 73) and a.t[-1] == 3 * 86400
    for f in ("price", "oracle", "oracle_t", "twap", "depth"):
        arr = getattr(a, f)
        assert np.array_equal(arr, getattr(b, f)) and np.all(np.isfinite(arr))
    assert np.all(a.price > 0) and np.all(a.depth > 0) and np.all(a.oracle_t <= a.t)
    assert a.nominal_vol > 0


def test_merton_and_garch_vols():
    m = make_market("merton", 200, 30, 60, 3)
    r = np.diff(np.log(m.price), axis=1)
    realised = r.std() * math.sqrt(365 * 24)
    assert realised == pytest.approx(bt.merton_nominal_vol(MarketConfig()), rel=0.1)
    fit = bt.fit_garch(bt.garch_history(MarketConfig(), 3600, np.random.default_rng(1)), 3600)
    assert {"omega", "alpha[1]", "beta[1]", "nu"} <= set(fit.result.params.index)
    g = make_market("garch", 200, 30, 60, 3, garch_fit=fit)
    rg = np.diff(np.log(g.price), axis=1).std() * math.sqrt(365 * 24)
    assert rg == pytest.approx(fit.nominal_vol, rel=0.25)


def test_crash_shape():
    cfg = MarketConfig()
    m = make_market("crash", 50, 9, 60, 2, cfg)
    day = 3  # days // 3
    before, after = m.price[:, day * 24], m.price[:, (day + 1) * 24]
    assert np.median(after / before) == pytest.approx(1 - cfg.crash_drop, abs=0.05)
    # the feed is frozen for the outage, the pool squeezed
    k = day * 24
    assert np.all(m.oracle[:, k + 1] == m.oracle[:, k]) and np.all(m.oracle_t[:, k + 2] <= k * 3600)
    assert np.median(m.depth[:, k + 1] / m.depth[:, k - 1]) < 0.3


# ---------------------------------------------------------------- CSV


def write(tmp_path, text, name="prices.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    "text,message",
    [
        ("t,p\n0,1\n", "prices.csv line 1: header must be 'timestamp,price'"),
        ("timestamp,price\n0,100\n3600,100,3\n", "prices.csv line 3: expected 2 fields"),
        ("timestamp,price\n0,100\nabc,100\n", "prices.csv line 3: timestamp 'abc' is not a number"),
        ("timestamp,price\n0,100\n3600,x\n", "prices.csv line 3: price 'x' is not a number"),
        ("timestamp,price\n0,100\n3600,nan\n", "prices.csv line 3: price must be finite"),
        ("timestamp,price\n0,100\n3600,inf\n", "prices.csv line 3: price must be finite"),
        ("timestamp,price\n0,100\n\n3600,-5\n", "prices.csv line 4: price must be > 0"),
        ("timestamp,price\n0,100\n3600,0\n", "prices.csv line 3: price must be > 0"),
        ("timestamp,price\n0,100\n0,101\n", "prices.csv line 3: timestamp must be greater than the previous one"),
        ("timestamp,price\n0,100\n", "prices.csv: needs at least 2 prices"),
        ("", "prices.csv line 1: header"),
    ],
)
def test_csv_errors_name_the_line(tmp_path, text, message):
    with pytest.raises(ValueError) as err:
        read_price_csv(write(tmp_path, text))
    assert message in str(err.value)


def test_csv_line_17(tmp_path):
    rows = "".join(f"{k * 3600},{3000 + k}\n" for k in range(15)) + "54000,-1\n"
    with pytest.raises(ValueError, match="prices.csv line 17: price must be > 0"):
        read_price_csv(write(tmp_path, "timestamp,price\n" + rows))


def csv_history(tmp_path, days=10, step=600):
    rng = np.random.default_rng(0)
    n = days * 86400 // step + 1
    p = 3000 * np.exp(np.cumsum(rng.normal(0, 0.004, n)))
    t = 1_700_000_000 + np.arange(n) * step + rng.integers(0, 60, n)
    return write(tmp_path, "timestamp,price\n" + "".join(f"{a},{b:.4f}\n" for a, b in zip(t, p)))


def test_csv_model_windows_and_garch_on_csv(tmp_path):
    f = csv_history(tmp_path)
    m = make_market("csv", 4, 3, 60, 0, csv=f)
    ts, ps = read_price_csv(f)
    assert m.price.shape == (4, 73)
    assert m.price[0, 0] == ps[0]  # the first window starts at the file's start
    assert not np.array_equal(m.price[0], m.price[-1])  # windows start at different points
    with pytest.raises(ValueError, match="covers .* days, the backtest needs 30"):
        make_market("csv", 2, 30, 60, 0, csv=f)
    r = run_backtest("garch", ["no_hedge"], 3, 2, 60, 1, csv=f)
    assert r["no_hedge"].n_paths == 3


# ---------------------------------------------------------------- strategies


def test_strategy_names():
    assert resolve_strategy("no_hedge")[1] is bt.no_hedge
    assert resolve_strategy("hedge_every:4")[0] == "hedge_every:4"
    for bad in ("hedge_every", "hedge_every:-1", "fixed_band:abc", "fixed_band:nan", "yolo", "no_hedge:3"):
        with pytest.raises(ValueError):
            resolve_strategy(bad)


def test_dynamic_unavailable_without_the_allocator(monkeypatch):
    monkeypatch.setitem(sys.modules, "keeper.allocator", None)  # as if the module were absent
    with pytest.raises(StrategyUnavailable, match="keeper.allocator is not in this tree"):
        resolve_strategy("dynamic")


@pytest.mark.skipif(not HAS_ALLOCATOR, reason="keeper.allocator is not in this tree")
def test_dynamic_runs_within_every_limit():
    from keeper.allocator import AllocatorConfig

    name, policy, cfg = resolve_strategy("dynamic")
    assert isinstance(cfg, AllocatorConfig)
    cfg = bt._fit_policy_cfg(cfg, 1800, P, SimConfig())
    assert cfg.vol_post_interval_s == 1800 and cfg.vol_accrual_cap_s == P.vol_accrual_cap
    for model in ("merton", "crash"):
        market = make_market(model, 6, 6, 30, 3)
        sim_cfg = SimConfig(buy_rate_per_day=20.0)
        sim = Simulator(market, P, sim_cfg, 4)
        res = sim.run(name, policy, cfg, audit=True)
        check_limits(res, P, sim)
        check_ledgers(res, market, sim_cfg)
        assert res.column("sales").sum() > 0
        assert np.all(np.isfinite(list(v for v in res.summary().values() if isinstance(v, float))))


# ---------------------------------------------------------------- CLI


def cli(argv):
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


def test_cli_small_run_writes_the_files(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["backtest", "--model", "merton", "--paths", "4", "--days", "2", "--step-minutes", "60", "--seed", "1",
            "--strategies", "no_hedge,hedge_every:4,fixed_band:0.01", "--out", str(out), "--quiet"]
    assert cli(argv) == 0
    for f in ("results.md", "results.csv", "nav_fan.png", "drawdown.png", "daily_pnl.png"):
        assert (out / f).stat().st_size > 0, f
    md = (out / "results.md").read_text()
    assert "keeper backtest --model merton" in md and "| hedge_every:4 |" in md
    rows = (out / "results.csv").read_text().splitlines()
    assert len(rows) == 4 and rows[0].startswith("strategy,model,paths")
    assert "| fixed_band:0.01 |" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args,message",
    [
        (["--model", "heston"], "unknown model 'heston'"),
        (["--model", "gbm", "--strategies", "no_hedge,yolo"], "unknown strategy 'yolo'"),
        (["--model", "gbm", "--paths", "0"], "--paths must be > 0"),
        (["--model", "gbm", "--days", "-1"], "--days must be > 0"),
        (["--model", "gbm", "--paths", "abc"], "invalid int value"),
        (["--model", "gbm", "--gas-gwei", "nan"], "--gas-gwei must be a finite number"),
        (["--model", "gbm", "--step-minutes", "7"], "step_minutes must divide a day"),
        (["--model", "csv"], "model csv needs --csv FILE"),
        (["--model", "csv", "--csv", "/nonexistent/prices.csv"], "cannot read /nonexistent/prices.csv"),
        (["--paths", "3"], "the following arguments are required: --model"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(tmp_path, capsys, args, message):
    assert cli(["backtest", *args, "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("keeper: error: ") and message in err, err


def test_cli_bad_csv_names_the_line(tmp_path, capsys):
    f = write(tmp_path, "timestamp,price\n0,100\n3600,-2\n")
    assert cli(["backtest", "--model", "csv", "--csv", str(f), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert capsys.readouterr().err == "keeper: error: prices.csv line 3: price must be > 0\n"


def test_cli_dynamic_unavailable(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "keeper.allocator", None)
    assert cli(["backtest", "--model", "gbm", "--strategies", "dynamic", "--out", str(tmp_path), "--quiet"]) == 2
    assert "strategy dynamic is unavailable" in capsys.readouterr().err


def test_cli_subprocess_no_traceback(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "keeper.cli", "backtest", "--model", "gbm", "--paths", "-3", "--out", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert run.returncode == 2
    assert run.stderr == "keeper: error: --paths must be > 0\n"


def test_config_errors_are_clear():
    with pytest.raises(ValueError, match="sigma must be a finite number"):
        make_market("gbm", 2, 1, 60, 0, MarketConfig(sigma=float("nan")))
    with pytest.raises(ValueError, match="crash_drop must be in"):
        make_market("crash", 2, 3, 60, 0, MarketConfig(crash_drop=1.2))
    with pytest.raises(ValueError, match="strike 1.8 x spot is outside the strike band"):
        Simulator(make_market("gbm", 2, 1, 60, 0), P, SimConfig(strikes=((1.8, True),)))
    with pytest.raises(ValueError, match="whole days"):
        Simulator(market_from_prices("x", np.full((2, 30), 3000.0), 3600, 0.6), P)
    with pytest.raises(ValueError, match="seed must be an integer"):
        run_backtest("gbm", ["no_hedge"], 2, 1, 60, -1)
