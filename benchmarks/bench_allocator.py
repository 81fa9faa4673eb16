"""keeper.allocator speed: one live decision, and the backtest's batch call.

- `decide` for one vault with 64 live series (model vols with skew), 1000 calls: p50 / p99.
  Goal: p99 <= 5 ms.
- the same with an SVI quote surface fitted beforehand (`fit_quotes` once, reused).
- `allocate` over 10,000 rows (the backtest's paths), 200 calls: p50 / p99. Goal: well under 10 ms.
- one-off costs, reported apart: the numba kernel's first call (compile or on-disk cache load)
  and one `fit_quotes` of the example quotes file.

Single core: OMP/MKL/OPENBLAS/NUMBA threads pinned to 1 before numpy loads. Wall-clock and
thread CPU time are both printed: on a loaded machine the wall-clock p99 shows the scheduler's
time slices (a few ms), the CPU time what the code itself costs. Prints only.

    .venv/bin/python benchmarks/bench_allocator.py
"""
import os

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = "1"

import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from keeper.allocator import AllocatorConfig, allocate, decide, fit_quotes  # noqa: E402
from keeper.policy import BookState  # noqa: E402

WAD = 10**18
NOW = 1_750_000_000.0


def params_from_constants():
    """The defaults of contracts/constants.vy in human units (a stand-in for keeper.params.Params)."""
    src = (ROOT / "contracts" / "constants.vy").read_text()
    c = {n: eval(e, {}) for n, e in re.findall(r"^([A-Z_0-9]+): constant\([^)]*\) = ([^\[#\n]+?)\s*(?:#.*)?$", src, re.M)}
    grid = eval(re.search(r"^GRID: constant\(int256\[\d+\]\) = (\[.*?\])", src, re.M | re.S).group(1), {})
    f = lambda n: c["DEFAULT_" + n] / WAD  # noqa: E731
    return types.SimpleNamespace(
        max_utilisation=f("MAX_UTILISATION"), max_vega_ratio=f("MAX_VEGA_RATIO"), max_gamma_ratio=f("MAX_GAMMA_RATIO"),
        delta_band=f("DELTA_BAND"), budget_floor=f("BUDGET_FLOOR"), budget_rate=f("BUDGET_RATE"),
        max_slippage=f("MAX_SLIPPAGE"), max_trade=f("MAX_TRADE"), max_deviation=f("MAX_DEVIATION"),
        max_hourly_notional=f("MAX_HOURLY_NOTIONAL"), max_daily_notional=f("MAX_DAILY_NOTIONAL"),
        hedge_cooldown=c["DEFAULT_HEDGE_COOLDOWN"], vol_floor=f("VOL_FLOOR"), vol_cap=f("VOL_CAP"),
        max_vol_rate=f("MAX_VOL_RATE"), GRID=np.array(grid, dtype=float) / WAD,
    )


def states(n, seed=7):
    rng = np.random.default_rng(seed)
    u = lambda lo, hi: rng.uniform(lo, hi, n)  # noqa: E731
    spot = u(1500, 4500)
    nav = u(1e5, 1e7)
    opt = nav / spot * u(-1, 1)
    return BookState(
        t=np.full(n, NOW), spot=spot, oracle_fresh=(rng.random(n) < 0.95).astype(float),
        pool_price=spot * (1 + u(-0.01, 0.01)), pool_depth=nav * u(0.05, 5), pool_fee=np.full(n, 0.0005),
        nav=nav, nav_per_share=u(0.9, 1.1), nav_per_share_hwm=u(1.1, 1.2), cash=nav * u(0.3, 1),
        hedge_eth=np.maximum(opt + nav / spot * u(-0.05, 0.05), 0), option_delta_eth=opt,
        gamma_eth_per_usd=nav / spot**2 * u(0, 5), vega_usd=nav * u(0, 0.3), stress_margin=nav * u(0, 0.5),
        settle_need=np.where(rng.random(n) < 0.02, nav * 0.01, 0.0), implied_vol=u(0.4, 1.0),
        rv_short=u(0.3, 1.5), rv_long=u(0.4, 0.9), trend=u(-2, 2), trend_accel=u(-0.5, 0.5),
        level=rng.choice([0, 0, 0, 0, 1, 2, 3], n).astype(float), budget=u(0.1, 1), hedge_room_usd=nav * u(0, 0.15),
        cooldown_left=np.where(rng.random(n) < 0.2, 120.0, 0.0), gas_price_gwei=u(1, 50),
    )


def pct(ts):
    wall, cpu = (np.asarray(x) * 1e3 for x in zip(*ts))
    return (f"wall p50 {np.percentile(wall, 50):.3f} ms, p99 {np.percentile(wall, 99):.3f} ms; "
            f"thread CPU p50 {np.percentile(cpu, 50):.3f} ms, p99 {np.percentile(cpu, 99):.3f} ms")


def timed(fn, reps):
    """(wall, thread CPU) seconds per call. On a shared machine the wall-clock tail includes time
    the scheduler gave to other processes; the thread CPU time does not."""
    ts = []
    for _ in range(reps):
        c0, t0 = time.thread_time(), time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0, time.thread_time() - c0))
    return ts


def main():
    params, cfg = params_from_constants(), AllocatorConfig()
    one = states(1).row(0)
    t0 = time.perf_counter()
    allocate(one, params, cfg)
    first = time.perf_counter() - t0
    series = [(i + 1, 1800.0 + 60 * i, NOW + (1 + i % 8) * 7 * 86_400, i % 2 == 0, 0.55 + 0.003 * i, NOW - 1_800)
              for i in range(64)]
    quotes = ROOT / "tests" / "data" / "deribit_eth_quotes.json"
    t0 = time.perf_counter()
    surface = fit_quotes(quotes, NOW)
    fit = time.perf_counter() - t0
    for _ in range(50):  # warm up
        decide(one, params, cfg, series=series)
        decide(one, params, cfg, series=series, quotes=surface)
    print(f"allocate first call (numba compile or cache load): {first * 1e3:.0f} ms")
    print(f"fit_quotes, {len(surface.fits)} expiries, once: {fit * 1e3:.1f} ms")
    print(f"decide, 64 series, model vols, 1000 calls:       {pct(timed(lambda: decide(one, params, cfg, series=series), 1000))}")
    print(f"decide, 64 series, SVI surface, 1000 calls:      "
          f"{pct(timed(lambda: decide(one, params, cfg, series=series, quotes=surface), 1000))}")
    big = states(10_000)
    allocate(big, params, cfg)
    print(f"allocate, 10,000 rows, 200 calls:                {pct(timed(lambda: allocate(big, params, cfg), 200))}")


if __name__ == "__main__":
    main()
