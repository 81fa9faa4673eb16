"""Backtest: the Ballast vault simulated over many price paths, vectorised over paths.

    results = run_backtest("merton", ["no_hedge", "hedge_every:4", "fixed_band:0.01"],
                           n_paths=500, days=90, step_minutes=60, seed=1)
    results["hedge_every:4"].summary()            # metrics below; per-path arrays on the result

    market = make_market("crash", n_paths=200, days=30, step_minutes=60, seed=1)
    Simulator(market, seed=2).run("mine", my_policy, my_cfg, audit=True)   # any keeper.policy PolicyFn

Everything the chain decides is mirrored from `contracts/SPEC.md`, with every
number read from `contracts/constants.vy` through `keeper.params.Params`
(nothing is copied here). Units: USD, ETH (the underlying), seconds; vols and
fractions as floats (0.6 = 60 %); time 0 is the start of the path.

Price path models (`make_market`; each path array has shape (n_paths, n_steps + 1)):
- `gbm`: geometric Brownian motion, dS/S = mu dt + sigma dW.
- `merton`: GBM plus compound-Poisson jumps in log price (rate `jump_rate` per
  year, jump ~ N(jump_mu, jump_sigma)), drift compensated so E[S_t] = S_0 e^(mu t).
- `garch`: a GARCH(1,1) with Student-t innovations fitted by the `arch` package
  to a history (a Merton history of `garch_history_days` at the step size, or
  the returns of `--csv`), then simulated forward per path with arch's
  simulation forecast (zero-mean log returns).
- `csv`: `timestamp,price` history (unix seconds), sampled on the step grid
  (last price at or before each step); path k is the window starting at the
  k-th of `n_paths` evenly spaced start points.
- `crash`: calm (`crash_calm_vol`), then on `crash_day` a one-day fall of
  `crash_drop` (two thirds of it in a `crash_cascade_hours` cascade), vol
  spiking to `crash_spike_vol` and decaying back, pool depth falling by
  `crash_squeeze` and recovering, the oracle frozen for
  `crash_oracle_outage_hours`, then a partial recovery of the fall.
Every model shares the market plumbing: the pool trades at the path price
(arbitraged back to it every step); its depth follows the path's liquidity
regime, depth = `pool_depth_usd` x (nominal vol / 1-day realised vol) ^
`depth_elasticity` x an OU noise factor; the oracle is Chainlink-like (a new
round when the price moved by more than `oracle_deviation` or the feed's
heartbeat passed); the TWAP is the geometric mean of the pool price over
`Params.twap_window`.

The vault (one per path; see `Simulator`): cash, a WETH hedge (>= 0: the
vault cannot short), and option series opened on a fixed schedule. Each step
(at time t, in this order; docs/backtest.md has the rules in full): settle
expired series; the keeper refreshes the marks (if its step lands and the
oracle is fresh); poke the guard (the six breakers, latches and levels); the
policy sees a `keeper.policy.BookState`; the keeper posts the budget and the
vols, opens scheduled series and sends its hedge trade (refused unless every
Hedger rule holds); buyers arrive (Poisson) and buy (refused unless every sale
limit holds). Records: NAV per share, daily NAV and the daily "explained" P&L.

Metrics (`StrategyResult.summary`), over all paths:
- total return: NAV per share at the end over the start, minus 1;
- max drawdown: per path, max over steps of 1 - NAV/share over its running
  peak; mean and 95th percentile over paths;
- CVaR 99 % of daily P&L: the mean of the worst 1 % of daily NAV returns,
  pooled over all path-days, as a positive loss fraction of NAV;
- hedge error: per path-day, (NAV change - sale edge - theta carry + costs) /
  NAV at the day's start, where sale edge = premium - liability added by the
  sale, theta carry = -sum q theta dt (the decay the short book earns, from the
  step's Black-Scholes theta) and costs = pool fees + price impact + gas; what
  is left is the P&L of delta, gamma and vega not hedged away; its standard
  deviation pooled over path-days;
- turnover: hedge notional traded (USD at the oracle) over the initial NAV;
- gas (USD), breaker trips (latch events), sales refused (count and share).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Callable

import numpy as np
from numba import njit

from keeper.greeks import _greeks_kernel
from keeper.params import Params
from keeper.policy import (
    BLOCKED_COOLDOWN,
    BLOCKED_DEVIATION,
    BLOCKED_LEVEL,
    NO_TRADE_IN_BAND,
    TOO_SMALL,
    TRADE_TO_BAND,
    TRADE_TO_TARGET,
    BookState,
    PolicyOutput,
)

__all__ = [
    "GAS", "MarketConfig", "SimConfig", "StaticConfig", "MarketPaths", "make_market", "market_from_prices",
    "read_price_csv",
    "Simulator", "StrategyResult", "run_backtest", "resolve_strategy", "no_hedge", "hedge_every", "fixed_band",
    "StrategyUnavailable", "MODELS",
]

SECONDS_PER_YEAR = 365 * 86_400
DAY = 86_400
HOUR = 3_600
MODELS = ("gbm", "merton", "garch", "crash", "csv")

# Gas per action, whole transaction (21,000 base included), as measured in
# benchmarks/RESULTS.md, "Ballast gas by book size (gas_ballast.py)", the
# 1-live-series column (the simulated book holds 2-4 live series); the issue's
# goals (rebalance <= 220k, update_marks <= 35k per series, poke <= 60k) are not
# met yet, so the measured numbers are used. The marks refresh is a line
# through update_marks with 1 live series (127,848) and 16 (702,638).
# create_series and posting the budget are not in the table yet (0 until they are).
GAS = {
    "rebalance": 277_233,        # Hedger.rebalance, warm (a later trade)
    "marks_base": 89_529,        # update_marks / post_vols: fixed part ...
    "marks_per_series": 38_319,  # ... plus this per live series
    "poke": 99_934,              # RiskGuard.poke, nothing changes
    "settle": 196_217,           # OptionMarket.settle, in the money
    "create_series": 0,          # not measured yet
    "post_budget": 0,            # not measured yet
}


# ====================================================================== configuration


@dataclass(frozen=True)
class MarketConfig:
    """Price path and market-structure knobs (units in each comment)."""

    s0: float = 3_000.0                # USD per ETH at t = 0
    mu: float = 0.0                    # drift, per year
    sigma: float = 0.60                # diffusion vol, per sqrt(year)
    jump_rate: float = 10.0            # Merton jumps per year
    jump_mu: float = -0.03             # mean log jump
    jump_sigma: float = 0.07           # std of the log jump
    garch_history_days: int = 365      # length of the Merton history GARCH is fitted to
    pool_depth_usd: float = 2e6        # USD that moves the pool 1 %, in the normal regime
    depth_elasticity: float = 1.0      # depth ~ (nominal vol / realised vol) ^ this
    depth_noise: float = 0.25          # std of the log-depth OU noise
    depth_half_life_days: float = 2.0  # mean reversion of that noise
    oracle_deviation: float = 0.005    # the feed posts a round when price moved more than this ...
    oracle_feed_heartbeat: int = 3_600  # ... or this many seconds passed
    crash_day: int | None = None       # day the crash starts (default days // 3, at least 1)
    crash_drop: float = 0.30           # fall over the crash day
    crash_cascade_hours: float = 2.0   # two thirds of the fall happen in this first window
    crash_calm_vol: float = 0.40       # vol before the crash
    crash_spike_vol: float = 1.50      # vol right after the crash start ...
    crash_vol_half_life_days: float = 2.0  # ... decaying back to calm
    crash_squeeze: float = 0.80        # pool depth falls by this fraction ...
    crash_depth_half_life_days: float = 2.0  # ... and recovers
    crash_oracle_outage_hours: float = 3.0   # the feed posts nothing for this long from the crash start
    crash_recovery: float = 0.5        # share of the fall regained ...
    crash_recovery_days: float = 3.0   # ... over this many days after the crash day


def check_market_config(cfg: MarketConfig) -> None:
    """ValueError naming the first MarketConfig field outside its domain."""
    for f in fields(cfg):
        v = getattr(cfg, f.name)
        if v is not None and not (isinstance(v, (int, float)) and math.isfinite(v)):
            raise ValueError(f"{f.name} must be a finite number, got {v!r}")
    positive = ("s0", "pool_depth_usd", "oracle_feed_heartbeat", "garch_history_days", "depth_half_life_days",
                "crash_cascade_hours", "crash_calm_vol", "crash_vol_half_life_days", "crash_depth_half_life_days",
                "crash_recovery_days")
    for name in positive:
        if not getattr(cfg, name) > 0:
            raise ValueError(f"{name} must be > 0, got {getattr(cfg, name)!r}")
    for name in ("sigma", "jump_rate", "jump_sigma", "depth_noise", "oracle_deviation", "crash_spike_vol",
                 "crash_oracle_outage_hours", "crash_recovery", "depth_elasticity"):
        if getattr(cfg, name) < 0:
            raise ValueError(f"{name} must be >= 0, got {getattr(cfg, name)!r}")
    for name in ("crash_drop", "crash_squeeze"):
        if not 0 <= getattr(cfg, name) < 1:
            raise ValueError(f"{name} must be in [0, 1), got {getattr(cfg, name)!r}")


@dataclass(frozen=True)
class SimConfig:
    """The vault, its flow and its costs (everything that is not a contract parameter)."""

    nav0: float = 1_000_000.0          # USD deposited at t = 0 (NAV per share starts at 1)
    series_period_days: float = 7.0    # a new set of series every ...
    tenor_days: float = 7.0            # ... expiring this many days later
    strikes: tuple = ((1.10, True), (0.90, False))  # (strike / spot, is_call) per series of a set
    rate: float = 0.0                  # Black-Scholes rate, per year
    buy_rate_per_day: float = 8.0      # Poisson rate of buyers, per path
    buy_size_eth: float = 5.0          # mean size of a buy, ETH (lognormal)
    buy_size_sigma: float = 0.75       # log-std of the size
    pool_fee: float = 0.0005           # the pool's fee tier (0.05 %)
    gas_gwei: float = 3.0              # gas price; ETH price = the path's oracle spot
    gas: dict = field(default_factory=lambda: dict(GAS))
    keeper_miss_prob: float = 0.0      # chance per step that no keeper transaction lands
    rv_short_half_life_days: float = 1.0
    rv_long_half_life_days: float = 30.0
    trend_half_life_days: float = 7.0
    max_batch_elements: int = 1 << 24  # paths x steps simulated at once (memory bound)


@dataclass(frozen=True)
class StaticConfig:
    """Config of the static strategies: the vol they post and their smallest trade."""

    vol: float | None = None           # fixed realised-vol estimate (run_backtest: the model's vol; None: rv_long)
    vol_premium: float = 0.05          # added to it: atm_vol = vol + vol_premium
    step_seconds: int = 3_600          # the simulation step (set by the runner)
    min_trade_usd: float = 100.0       # skip smaller hedge trades (gas and fees)


# ====================================================================== price paths


@dataclass(frozen=True)
class MarketPaths:
    """Market observations on the step grid; arrays (n_paths, n_steps + 1) unless noted."""

    model: str
    t: np.ndarray          # (n_steps + 1,) seconds since the start
    price: np.ndarray      # the pool's price (= the market price), USD per ETH
    oracle: np.ndarray     # the feed's latest answer, USD per ETH
    oracle_t: np.ndarray   # its updatedAt, seconds
    twap: np.ndarray       # pool TWAP over Params.twap_window, USD per ETH
    depth: np.ndarray      # USD of quote that moves the pool 1 %
    nominal_vol: float     # the model's long-run vol (the static strategies' fixed estimate)
    step_seconds: int

    @property
    def n_paths(self) -> int:
        return self.price.shape[0]

    @property
    def n_steps(self) -> int:
        return self.price.shape[1] - 1

    def slice(self, lo: int, hi: int) -> "MarketPaths":
        """Paths lo..hi-1."""
        cut = {f.name: getattr(self, f.name)[lo:hi] for f in fields(self) if f.name in _PATH_FIELDS}
        return replace(self, **cut)


_PATH_FIELDS = ("price", "oracle", "oracle_t", "twap", "depth")


def _check_positive_int(name, v):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
        raise ValueError(f"{name} must be a positive integer, got {v!r}")


def _grid(days: int, step_minutes: int) -> tuple[int, int, int]:
    """(step seconds, steps per day, total steps); the step must divide a day."""
    _check_positive_int("days", days)
    _check_positive_int("step_minutes", step_minutes)
    if 1440 % step_minutes:
        raise ValueError(f"step_minutes must divide a day (1440 minutes), got {step_minutes}")
    spd = 1440 // step_minutes
    return step_minutes * 60, spd, days * spd


def _prices(s0: float, log_returns: np.ndarray) -> np.ndarray:
    """Prices (n, T+1) from a start price and log returns (n, T)."""
    out = np.empty((log_returns.shape[0], log_returns.shape[1] + 1))
    out[:, 0] = 0.0
    np.cumsum(log_returns, axis=1, out=out[:, 1:])
    np.exp(out, out=out)
    out *= s0
    return out


def gbm_returns(rng: np.random.Generator, n: int, steps: int, dt: float, mu: float, sigma: float) -> np.ndarray:
    """GBM log returns (n, steps); dt in years."""
    z = rng.standard_normal((n, steps))
    return (mu - 0.5 * sigma * sigma) * dt + sigma * math.sqrt(dt) * z


def merton_returns(rng, n, steps, dt, mu, sigma, lam, jmu, jsig) -> np.ndarray:
    """Merton jump-diffusion log returns (n, steps); compensated so E[S_t] = S_0 exp(mu t)."""
    k = math.exp(jmu + 0.5 * jsig * jsig) - 1.0
    z = rng.standard_normal((n, steps))
    nj = rng.poisson(lam * dt, (n, steps))
    jumps = nj * jmu + np.sqrt(nj) * jsig * rng.standard_normal((n, steps))
    return (mu - lam * k - 0.5 * sigma * sigma) * dt + sigma * math.sqrt(dt) * z + jumps


def merton_nominal_vol(cfg: MarketConfig) -> float:
    """Total annualised vol of the Merton model: diffusion plus jump variance."""
    return math.sqrt(cfg.sigma**2 + cfg.jump_rate * (cfg.jump_mu**2 + cfg.jump_sigma**2))


@dataclass(frozen=True)
class GarchFit:
    """A GARCH(1,1)-t fitted by `arch` to returns scaled by `scale` (unit variance)."""

    result: object
    scale: float
    nu: float
    nominal_vol: float  # annualised unconditional vol (sample vol if the fit is not stationary)


def fit_garch(history: np.ndarray, step_seconds: int) -> GarchFit:
    """Fit GARCH(1,1) with Student-t innovations to log returns `history` (one step each)."""
    from arch import arch_model

    h = np.asarray(history, dtype=float)
    h = h[np.isfinite(h)]
    if h.size < 100:
        raise ValueError(f"GARCH needs at least 100 returns to fit, got {h.size}")
    sd = float(np.std(h))
    if not sd > 0:
        raise ValueError("GARCH history has zero variance")
    scale = 1.0 / sd
    model = arch_model(h * scale, mean="Zero", vol="GARCH", p=1, q=1, dist="t", rescale=False)
    res = model.fit(disp="off", show_warning=False)
    omega, alpha, beta, nu = (float(res.params[k]) for k in ("omega", "alpha[1]", "beta[1]", "nu"))
    per_year = SECONDS_PER_YEAR / step_seconds
    persistence = alpha + beta
    var = omega / (1.0 - persistence) if persistence < 0.999 else 1.0
    return GarchFit(res, scale, nu, math.sqrt(var * per_year) / scale)


def garch_returns(fit: GarchFit, rng: np.random.Generator, n: int, steps: int) -> np.ndarray:
    """Simulate n paths of `steps` log returns from the fit (arch's simulation forecast)."""
    nu = fit.nu
    t_scale = math.sqrt((nu - 2.0) / nu)

    def draws(size):  # standardised Student-t (unit variance), from our seeded generator
        return rng.standard_t(nu, size) * t_scale

    out = np.empty((n, steps))
    chunk = max(1, (1 << 22) // max(steps, 1))
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        fc = fit.result.forecast(horizon=steps, method="simulation", simulations=hi - lo, reindex=False, rng=draws)
        out[lo:hi] = fc.simulations.values[-1] / fit.scale
    return out


def read_price_csv(path) -> tuple[np.ndarray, np.ndarray]:
    """(timestamps, prices) from a `timestamp,price` CSV with a header line.

    Timestamps: unix seconds (int or float), strictly increasing. Prices:
    positive and finite. Blank lines are skipped. Errors name the file and
    the line: ValueError("prices.csv line 17: price must be > 0")."""
    p = Path(path)
    name = p.name
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"cannot read {path}: {getattr(err, 'strerror', None) or err}") from None
    lines = text.splitlines()
    if not lines or [c.strip().lower() for c in lines[0].split(",")] != ["timestamp", "price"]:
        raise ValueError(f"{name} line 1: header must be 'timestamp,price'")
    ts, ps = [], []
    for no, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != 2:
            raise ValueError(f"{name} line {no}: expected 2 fields (timestamp,price), got {len(cells)}")
        try:
            t = float(cells[0])
        except ValueError:
            raise ValueError(f"{name} line {no}: timestamp {cells[0]!r} is not a number") from None
        try:
            price = float(cells[1])
        except ValueError:
            raise ValueError(f"{name} line {no}: price {cells[1]!r} is not a number") from None
        if not math.isfinite(t):
            raise ValueError(f"{name} line {no}: timestamp must be finite")
        if not math.isfinite(price):
            raise ValueError(f"{name} line {no}: price must be finite")
        if price <= 0:
            raise ValueError(f"{name} line {no}: price must be > 0")
        if ts and t <= ts[-1]:
            raise ValueError(f"{name} line {no}: timestamp must be greater than the previous one ({ts[-1]:g})")
        ts.append(t)
        ps.append(price)
    if len(ts) < 2:
        raise ValueError(f"{name}: needs at least 2 prices, got {len(ts)}")
    return np.array(ts), np.array(ps)


def _resample(ts: np.ndarray, ps: np.ndarray, step_seconds: int) -> np.ndarray:
    """Prices on the grid ts[0] + k step (the last observation at or before each point)."""
    n = int((ts[-1] - ts[0]) // step_seconds) + 1
    grid = ts[0] + step_seconds * np.arange(n)
    return ps[np.searchsorted(ts, grid, side="right") - 1]


def crash_returns(rng, n, steps, step_seconds, days, cfg: MarketConfig):
    """Crash family: (log returns (n, steps), depth multiplier (steps + 1,), oracle outage mask (steps + 1,))."""
    spd = DAY // step_seconds
    crash_day = cfg.crash_day if cfg.crash_day is not None else max(1, days // 3)
    if not 0 < crash_day < days:
        raise ValueError(f"crash_day must be inside the run (1 .. {days - 1}), got {crash_day}")
    dt = step_seconds / SECONDS_PER_YEAR
    t_end = (np.arange(1, steps + 1)) * step_seconds  # end time of each step
    start = crash_day * DAY
    since = (t_end - start) / DAY  # days since the crash start (end of step)
    decay = np.exp2(-np.maximum(since, 0) / cfg.crash_vol_half_life_days)
    calm, spike = cfg.crash_calm_vol, cfg.crash_spike_vol
    vol = np.where(since > 0, calm + (spike - calm) * decay, calm)
    drift = np.zeros(steps)
    fall = math.log(1.0 - cfg.crash_drop)  # < 0
    k0 = crash_day * spd  # first step of the crash day
    cascade = max(1, int(round(cfg.crash_cascade_hours * HOUR / step_seconds)))
    cascade = min(cascade, spd)
    drift[k0 : k0 + cascade] += (2.0 / 3.0) * fall / cascade
    rest = spd - cascade
    if rest > 0:
        drift[k0 + cascade : k0 + spd] += (1.0 / 3.0) * fall / rest
    else:
        drift[k0 : k0 + cascade] += (1.0 / 3.0) * fall / cascade
    rec_steps = max(1, int(round(cfg.crash_recovery_days * spd)))
    lo, hi = k0 + spd, min(steps, k0 + spd + rec_steps)
    if hi > lo:
        drift[lo:hi] += -cfg.crash_recovery * fall / rec_steps
    z = rng.standard_normal((n, steps))
    r = drift - 0.5 * vol * vol * dt + vol * math.sqrt(dt) * z
    tt = np.arange(steps + 1) * step_seconds
    since0 = (tt - start) / DAY
    depth_mult = np.where(
        since0 >= 0, 1.0 - cfg.crash_squeeze * np.exp2(-np.maximum(since0, 0) / cfg.crash_depth_half_life_days), 1.0
    )
    outage = (tt >= start) & (tt < start + cfg.crash_oracle_outage_hours * HOUR)
    return r, depth_mult, outage


@njit(cache=True)
def _oracle_and_depth(price, step_seconds, dev, feed_hb, outage, nominal, hl_steps, elasticity,
                      noise_sd, noise_hl_steps, noise, depth0, depth_mult, oracle, oracle_t, depth):
    """Chainlink-like feed, and depth from the path's 1-day realised vol plus OU noise (in place)."""
    n, m = price.shape
    a = 2.0 ** (-1.0 / hl_steps)
    b = 2.0 ** (-1.0 / noise_hl_steps)
    dt_y = step_seconds / (365.0 * 86400.0)
    shock = noise_sd * math.sqrt(1.0 - b * b)
    for i in range(n):
        last, last_t = price[i, 0], 0.0
        var = nominal * nominal
        x = noise_sd * noise[i, 0]
        for j in range(m):
            t = j * step_seconds
            p = price[i, j]
            if j > 0:
                r = math.log(p / price[i, j - 1])
                var = a * var + (1.0 - a) * r * r / dt_y
                x = b * x + shock * noise[i, j]
                if not outage[j] and (abs(p - last) > dev * last or t - last_t >= feed_hb):
                    last, last_t = p, t
            oracle[i, j] = last
            oracle_t[i, j] = last_t
            f = (nominal / max(math.sqrt(var), 1e-6)) ** elasticity * math.exp(x)
            f = min(max(f, 0.02), 5.0)
            depth[i, j] = depth0 * f * depth_mult[j]


def _twap(price: np.ndarray, window_steps: int) -> np.ndarray:
    """Geometric mean of the pool price over the last `window_steps` points (fewer at the start)."""
    if window_steps <= 1:
        return price.copy()
    lp = np.log(price)
    c = np.cumsum(lp, axis=1)
    out = np.empty_like(lp)
    k = window_steps
    out[:, :k] = c[:, :k] / np.arange(1, min(k, lp.shape[1]) + 1)
    if lp.shape[1] > k:
        out[:, k:] = (c[:, k:] - c[:, :-k]) / k
    return np.exp(out)


def make_market(
    model: str,
    n_paths: int,
    days: int,
    step_minutes: int,
    seed: int | np.random.SeedSequence,
    cfg: MarketConfig | None = None,
    params: Params | None = None,
    csv: str | Path | None = None,
    garch_fit: GarchFit | None = None,
) -> MarketPaths:
    """Simulate (or load) `n_paths` market paths of `days` days on a `step_minutes` grid.

    `seed`: an int or a SeedSequence; the same seed gives the same paths.
    `csv`: the history for `csv` (required) and `garch` (optional: fit on it).
    `garch_fit`: a fit to reuse (batches of one run share one fit)."""
    cfg = cfg or MarketConfig()
    check_market_config(cfg)
    params = params or Params.from_constants()
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r} (choose from {', '.join(MODELS)})")
    _check_positive_int("n_paths", n_paths)
    step_s, spd, steps = _grid(days, step_minutes)
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    rng_fit, rng_path, rng_depth = (np.random.default_rng(s) for s in ss.spawn(3))
    dt = step_s / SECONDS_PER_YEAR
    depth_mult = outage = None
    if model == "csv" and csv is None:
        raise ValueError("model csv needs --csv FILE")
    if model == "gbm":
        price = _prices(cfg.s0, gbm_returns(rng_path, n_paths, steps, dt, cfg.mu, cfg.sigma))
        nominal = cfg.sigma
    elif model == "merton":
        r = merton_returns(rng_path, n_paths, steps, dt, cfg.mu, cfg.sigma, cfg.jump_rate, cfg.jump_mu, cfg.jump_sigma)
        price = _prices(cfg.s0, r)
        nominal = merton_nominal_vol(cfg)
    elif model == "garch":
        if garch_fit is None:
            garch_fit = fit_garch(garch_history(cfg, step_s, rng_fit, csv), step_s)
        price = _prices(cfg.s0, garch_returns(garch_fit, rng_path, n_paths, steps))
        nominal = garch_fit.nominal_vol
    elif model == "crash":
        r, depth_mult, outage = crash_returns(rng_path, n_paths, steps, step_s, days, cfg)
        price = _prices(cfg.s0, r)
        nominal = cfg.crash_calm_vol
    else:  # csv
        ts, ps = read_price_csv(csv)
        grid = _resample(ts, ps, step_s)
        if grid.size < steps + 1:
            have = (grid.size - 1) * step_s / DAY
            raise ValueError(f"{Path(csv).name}: covers {have:.2f} days, the backtest needs {days}")
        starts = np.round(np.linspace(0, grid.size - steps - 1, n_paths)).astype(np.int64)
        price = np.stack([grid[s : s + steps + 1] for s in starts])
        lr = np.diff(np.log(grid))
        nominal = float(np.std(lr) * math.sqrt(SECONDS_PER_YEAR / step_s))
    return market_from_prices(model, price, step_s, nominal, cfg, params, rng_depth, depth_mult, outage)


def market_from_prices(model: str, price: np.ndarray, step_seconds: int, nominal_vol: float,
                       cfg: MarketConfig | None = None, params: Params | None = None, rng=None,
                       depth_mult: np.ndarray | None = None, outage: np.ndarray | None = None) -> MarketPaths:
    """The market plumbing over given prices (n, T+1): the Chainlink-like oracle, the pool depth
    regime and the TWAP (module doc). `depth_mult` (T+1,) scales the depth; `outage` (T+1,) marks
    steps at which the feed posts nothing."""
    cfg = cfg or MarketConfig()
    params = params or Params.from_constants()
    price = np.ascontiguousarray(price, dtype=np.float64)
    if price.ndim != 2 or price.shape[1] < 2:
        raise ValueError("prices must have shape (n_paths, n_steps + 1) with at least one step")
    if not np.all(np.isfinite(price)) or np.any(price <= 0):
        raise ValueError(f"model {model} produced a non-finite or non-positive price")
    m = price.shape[1]
    depth_mult = np.ones(m) if depth_mult is None else np.ascontiguousarray(depth_mult, dtype=np.float64)
    outage = np.zeros(m, dtype=np.bool_) if outage is None else np.ascontiguousarray(outage, dtype=np.bool_)
    rng = rng if rng is not None else np.random.default_rng(0)
    oracle = np.empty_like(price)
    oracle_t = np.empty_like(price)
    depth = np.empty_like(price)
    noise = rng.standard_normal(price.shape)
    _oracle_and_depth(
        price, float(step_seconds), cfg.oracle_deviation, float(cfg.oracle_feed_heartbeat), outage,
        max(nominal_vol, 1e-6), DAY / step_seconds, cfg.depth_elasticity, cfg.depth_noise,
        cfg.depth_half_life_days * DAY / step_seconds, noise, cfg.pool_depth_usd, depth_mult, oracle, oracle_t, depth,
    )
    twap = _twap(price, max(1, int(round(params.twap_window / step_seconds))))
    return MarketPaths(model, np.arange(m, dtype=np.int64) * step_seconds, price, oracle, oracle_t, twap, depth,
                       float(nominal_vol), int(step_seconds))


def garch_history(cfg: MarketConfig, step_s: int, rng, csv=None) -> np.ndarray:
    """Log returns GARCH is fitted to: the CSV's (on the step grid) or a Merton history."""
    if csv is not None:
        ts, ps = read_price_csv(csv)
        return np.diff(np.log(_resample(ts, ps, step_s)))
    steps = cfg.garch_history_days * (DAY // step_s)
    dt = step_s / SECONDS_PER_YEAR
    return merton_returns(rng, 1, steps, dt, cfg.mu, cfg.sigma, cfg.jump_rate, cfg.jump_mu, cfg.jump_sigma)[0]


# ====================================================================== simulator layout
#
# The per-path state lives in float64 matrices with named columns, so the
# numba kernels take a handful of arrays. Integers (levels, bit sets, counts)
# are stored exactly as floats.

# st[i, :]: the vault, the guard, the hedger and the keeper's estimators of path i
(CASH, HEDGE, SHARES, VOL, B_TGT, B_POST, B_T, S0, T0, LEVEL, LEVEL_SINCE, LATCHED,
 ANCHOR, PREV_ANCHOR, ANCHOR_T, PEAK, PREV_PEAK, PEAK_T, LAST_REBAL, HOURLY, DAILY, CAPS_T,
 RVS_NUM, RVS_DEN, RVL_NUM, RVL_DEN, TR_NUM, TR_DEN, TREND_PREV, ACCEL, LAST_LOGP, NEXT_OPEN,
 HWM, DD_PEAK, MAX_DD, NAV, NPS, N_ST) = range(38)

# ser[i, s, :]: series slot s of path i. Cached marks (at the cache point S0, T0)
# and the current Black-Scholes values at this step's spot.
(K_, EXP, CALL, Q, LIVE, SVOL, SVOL_T, SPX,
 MP, MD, MG, MV, CP, CD, CG, CV, CTH, N_SER) = range(18)

# acc[i, :]: accumulators (USD, ETH or counts), reported per strategy
ACC_NAMES = (
    "premium_usd", "edge_usd", "payoff_usd", "shortfall_usd", "gas_usd", "trade_cost_usd",
    "hedge_spent_usd", "hedge_received_usd", "hedge_bought_eth", "hedge_sold_eth", "hedge_notional_usd",
    "hedge_trades", "settlement_sales", "settlement_sales_failed", "carry_usd",
    "buy_attempts", "sales", "options_sold", "refused_level", "refused_oracle", "refused_stale", "refused_margin",
    "refused_vega", "refused_gamma", "refused_no_series",
    "trade_refused_level", "trade_refused_cooldown", "trade_refused_deviation", "trade_refused_caps",
    "trade_refused_slippage", "trade_refused_band", "trade_refused_funds",
    "trips", "settled", "settled_pro_rata", "mark_txs", "pokes", "keeper_missed",
    "series_opened", "series_skipped", "policy_nan",
)
(A_PREMIUM, A_EDGE, A_PAYOFF, A_SHORTFALL, A_GAS, A_COST,
 A_SPENT, A_RECEIVED, A_BOUGHT, A_SOLD, A_NOTIONAL,
 A_TRADES, A_RAISES, A_RAISE_FAILED, A_CARRY,
 A_ATTEMPTS, A_SALES, A_SOLD_QTY, A_R_LEVEL, A_R_ORACLE, A_R_STALE, A_R_MARGIN,
 A_R_VEGA, A_R_GAMMA, A_R_NOSERIES,
 A_T_LEVEL, A_T_COOLDOWN, A_T_DEVIATION, A_T_CAPS,
 A_T_SLIPPAGE, A_T_BAND, A_T_FUNDS,
 A_TRIPS, A_SETTLED, A_PRORATA, A_MARK_TX, A_POKES, A_MISSED,
 A_OPENED, A_OPEN_SKIPPED, A_POLICY_NAN, N_ACC) = range(42)

# The six breakers, in RiskGuard's order, and the level each sends the vault
# to (SPEC.md, "Breakers and levels"), as Params' level names.
BREAKERS = ("oracle_stale", "oracle_dex_deviation", "spot_move", "nav_drawdown", "marks_stale", "thin_liquidity")
BREAKER_LEVEL_NAMES = ("withdraw_only", "reduce_only", "reduce_only", "withdraw_only", "reduce_only", "reduce_only")
ORACLE_STALE, DEX_DEVIATION, SPOT_MOVE, NAV_DRAWDOWN, MARKS_STALE, THIN_LIQUIDITY = range(6)

# pv[:]: the contract parameters (from Params) and the simulation constants the kernels read
(P_SPREAD, P_HEARTBEAT, P_MAX_DEV, P_SPOT_MOVE, P_SPOT_WIN, P_MAX_DD, P_DD_WIN, P_MIN_DEPTH, P_COOLDOWN,
 P_UTIL, P_VEGA, P_GAMMA, P_BAND, P_B_FLOOR, P_B_RATE, P_SLIP, P_MAX_TRADE, P_H_COOLDOWN, P_HOURLY, P_DAILY,
 P_MARK_AGE, P_DRIFT, P_VOL_RATE, P_VOL_FLOOR, P_VOL_CAP, P_MIN_VOL, P_MAX_VOL, P_ACCRUAL, P_MIN_TTE,
 P_GRID_UNIT, P_REDUCE, P_WITHDRAW, P_HALTED,
 P_FEE, P_RATE, P_GWEI, P_GAS_REBAL, P_GAS_MARK_BASE, P_GAS_MARK_SERIES, P_GAS_POKE, P_GAS_SETTLE,
 P_GAS_CREATE, P_GAS_BUDGET, P_DT, P_PERIOD, P_TENOR, P_RVS_HL, P_RVL_HL, P_TR_HL, P_STEPS, P_SPD,
 P_USE_ALIVE, P_AUDIT, N_PV) = range(54)

# BookState fields, in the order of the rows of the matrix the kernel fills
BS_NAMES = (
    "t", "spot", "oracle_fresh", "pool_price", "pool_depth", "pool_fee", "nav", "nav_per_share",
    "nav_per_share_hwm", "cash", "hedge_eth", "option_delta_eth", "gamma_eth_per_usd", "vega_usd",
    "stress_margin", "settle_need", "implied_vol", "rv_short", "rv_long", "trend", "trend_accel", "level",
    "budget", "hedge_room_usd", "cooldown_left", "gas_price_gwei",
)
(B_T_, B_SPOT, B_FRESH, B_POOL, B_DEPTH, B_FEE, B_NAV, B_NPS, B_HWM, B_CASH, B_HEDGE, B_DELTA, B_GAMMA,
 B_VEGA, B_MARGIN, B_NEED, B_IV, B_RVS, B_RVL, B_TREND, B_ACCEL, B_LEVEL, B_BUDGET, B_ROOM, B_COOL,
 B_GWEI, N_BS) = range(27)

# wk[:, i]: per-path values handed from one phase of a step to the next
W_OK, W_NAV, W_L, W_D, W_G, W_V, W_IV, N_WK = range(8)

# Audit logs (tests): one row per accepted sale / landed hedge trade.
(L_PATH, L_T, L_S, L_S0, L_HEDGE, L_NAV, L_B, L_M, L_V, L_G, L_CASH, L_Q, L_SLOT, N_SALE_LOG) = range(14)
(R_PATH, R_T, R_LEVEL, R_ETH, R_NOTIONAL, R_NAV, R_HOURLY, R_HCAP, R_DAILY, R_DCAP, R_PREV, R_BEFORE, R_AFTER,
 R_BAND, R_KIND, N_TRADE_LOG) = range(16)

_YEAR = float(SECONDS_PER_YEAR)
_DUST = 1e-12  # ETH: a hedge below this is none


# ====================================================================== kernels: helpers


@njit(cache=True, inline="always")
def _payoff(S, K, call):
    return max(S - K, 0.0) if call > 0.5 else max(K - S, 0.0)


@njit(cache=True, inline="always")
def _book(ser, i, S, s0):
    """(Taylor liability sum L + D dS + G dS^2 / 2 (not yet floored at 0), D, G, V, open interest)
    from path i's cached marks; SPEC's L(S) is max(0, first)."""
    L = 0.0
    D = 0.0
    G = 0.0
    V = 0.0
    oi = 0.0
    for s in range(ser.shape[1]):
        if ser[i, s, LIVE] > 0.5:
            q = ser[i, s, Q]
            L += q * ser[i, s, MP]
            D += q * ser[i, s, MD]
            G += q * ser[i, s, MG]
            V += q * ser[i, s, MV]
            oi += q
    dS = S - s0
    return L + D * dS + 0.5 * G * dS * dS, D, G, V, oi


@njit(cache=True, inline="always")
def _grid_recompute(ser, i, s0, grid, unit, gridc):
    """The cached grid payoffs of path i at cache spot s0:
    gridc[i, k] = sum_s ceil_unit(q_s payoff_s(s0 (1 + GRID[k])))."""
    inv = 1.0 / unit
    for k in range(grid.shape[0]):
        gridc[i, k] = 0.0
    for s in range(ser.shape[1]):
        q = ser[i, s, Q]
        if q > 0.0 and ser[i, s, LIVE] > 0.5:
            K = ser[i, s, K_]
            sign = 1.0 if ser[i, s, CALL] > 0.5 else -1.0
            for k in range(grid.shape[0]):  # branch-free: vectorises
                pay = max(sign * (s0 * (1.0 + grid[k]) - K), 0.0)
                gridc[i, k] += math.ceil(q * pay * inv) * unit


@njit(cache=True, inline="always")
def _grid_term_change(ser, i, s, q_old, q_new, s0, grid, unit, k):
    """term(q_new) - term(q_old) of slot s at shock k (SPEC: a sale adds exactly this, settlement subtracts term(q))."""
    K = ser[i, s, K_]
    sign = 1.0 if ser[i, s, CALL] > 0.5 else -1.0
    pay = max(sign * (s0 * (1.0 + grid[k]) - K), 0.0)
    inv = 1.0 / unit
    return (math.ceil(q_new * pay * inv) - math.ceil(q_old * pay * inv)) * unit


@njit(cache=True, inline="always")
def _stress(gridc, i, s0, hedge, grid):
    """SPEC stress loss M = max(0, max_k(grid_k - hedge S0 GRID[k])) from the cached grid payoffs."""
    worst = 0.0
    for k in range(grid.shape[0]):
        loss = gridc[i, k] - hedge * s0 * grid[k]
        if loss > worst:
            worst = loss
    return worst


@njit(cache=True, inline="always")
def _settle_need(ser, i, t, s0):
    """Intrinsic value at S0 of the expired, unsettled series."""
    c = 0.0
    for s in range(ser.shape[1]):
        if ser[i, s, LIVE] > 0.5 and ser[i, s, EXP] <= t:
            c += ser[i, s, Q] * _payoff(s0, ser[i, s, K_], ser[i, s, CALL])
    return c


@njit(cache=True, inline="always")
def _budget(st, i, t, rate):
    """Effective risk budget now: a lower target applies at once, a higher one at `rate` per hour."""
    tgt = st[i, B_TGT]
    base = st[i, B_POST]
    if tgt <= base:
        return tgt
    return min(tgt, base + rate * (t - st[i, B_T]) / 3600.0)


@njit(cache=True, inline="always")
def _bucket(used, cap, window, elapsed):
    """Leaky bucket: `used` drains `cap` per `window` (empty after a full window)."""
    drained = cap * min(elapsed, window) / window
    return 0.0 if drained >= used else used - drained


@njit(cache=True, inline="always")
def _nav(st, ser, i, S):
    L, D, G, V, oi = _book(ser, i, S, st[i, S0])
    return max(0.0, st[i, CASH] + st[i, HEDGE] * S - max(0.0, L))


@njit(cache=True, inline="always")
def _gas(st, acc, i, gas, S, pv, day_expl, dj):
    """Pay `gas` units at the configured gwei and ETH at S, out of cash."""
    usd = gas * pv[P_GWEI] * 1e-9 * S
    st[i, CASH] -= usd
    acc[i, A_GAS] += usd
    if dj >= 0:
        day_expl[i, dj] -= usd


@njit(cache=True, inline="always")
def _sell_to_pool(y, P, depth, fee):
    """USD out for selling y ETH: fee on the input, average price P (1 - f/2), f = notional / (100 depth)."""
    f = min(y * P / (100.0 * depth), 1.0)
    return y * (1.0 - fee) * P * (1.0 - 0.5 * f)


@njit(cache=True, inline="always")
def _buy_from_pool(usd, P, depth, fee):
    """ETH out for `usd` in: fee on the input, average price P (1 + f/2), f = usd / (100 depth)."""
    f = usd / (100.0 * depth)
    return usd * (1.0 - fee) / (P * (1.0 + 0.5 * f))


@njit(cache=True, inline="always")
def _raise_settlement_cash(st, acc, i, need, S, P, depth, pv, day_expl, dj, tlog, tcount, t):
    """Hedger.raise_settlement_cash: sell hedge toward `need` USD at the oracle floor (no band, caps or cooldown)."""
    hedge = st[i, HEDGE]
    if hedge <= _DUST or need <= 0.0:
        return
    fee = pv[P_FEE]
    slip = pv[P_SLIP]
    y = min(hedge, need / (P * (1.0 - fee)))
    f = min(y * P / (100.0 * depth), 1.0)
    y = min(hedge, need / (P * (1.0 - fee) * (1.0 - 0.5 * f)))
    # the largest sale whose output stays >= y S (1 - max_slippage)
    f_max = 2.0 * (1.0 - S * (1.0 - slip) / ((1.0 - fee) * P))
    if f_max <= 0.0:
        acc[i, A_RAISE_FAILED] += 1.0
        return
    y = min(y, f_max * 100.0 * depth / P)
    usd = _sell_to_pool(y, P, depth, fee)
    st[i, HEDGE] -= y
    if st[i, HEDGE] < _DUST:
        st[i, HEDGE] = 0.0
    st[i, CASH] += usd
    cost = y * S - usd
    acc[i, A_RECEIVED] += usd
    acc[i, A_SOLD] += y
    acc[i, A_NOTIONAL] += y * S
    acc[i, A_COST] += cost
    acc[i, A_RAISES] += 1.0
    if dj >= 0:
        day_expl[i, dj] -= cost
    _gas(st, acc, i, pv[P_GAS_REBAL], S, pv, day_expl, dj)
    if pv[P_AUDIT] > 0.5 and tcount[1] < tlog.shape[0]:
        r = tcount[1]
        tlog[r, R_PATH] = i
        tlog[r, R_T] = t
        tlog[r, R_LEVEL] = st[i, LEVEL]
        tlog[r, R_ETH] = -y
        tlog[r, R_NOTIONAL] = y * S
        tlog[r, R_KIND] = 1.0
        tcount[1] += 1


@njit(cache=True)
def _poke_all(t, oracle, oracle_t, twap, depth, nav_known, navs, st, last_seen, trips, acc, pv, blv):
    """RiskGuard.poke on every path: measure the six breakers, latch / clear, roll the anchors,
    move the level. `nav_known[i]`: the marks are fresh (else NAV is unreadable: marks_stale).
    One call per step (a phase over all paths, so the arrays are referenced once, not per path)."""
    for i in range(st.shape[0]):
        S = oracle[i]
        nav = navs[i]
        # (relative tests written as |x - a| > f a: the same as |x - a| / a > f for a > 0, without a division)
        bits = 0
        if t - oracle_t[i] > pv[P_HEARTBEAT]:
            bits |= 1 << ORACLE_STALE
        if abs(twap[i] - S) > pv[P_MAX_DEV] * S:
            bits |= 1 << DEX_DEVIATION
        w = pv[P_SPOT_WIN]
        f = pv[P_SPOT_MOVE]
        a = st[i, ANCHOR]
        start = st[i, ANCHOR_T]
        if a != 0.0 and t < start + 2.0 * w and abs(S - a) > f * a:
            bits |= 1 << SPOT_MOVE
        a = st[i, PREV_ANCHOR]
        if a != 0.0 and t < start + w and abs(S - a) > f * a:
            bits |= 1 << SPOT_MOVE
        pps = 0.0
        if not nav_known[i]:
            bits |= 1 << MARKS_STALE
        else:
            pps = nav / st[i, SHARES]
            w = pv[P_DD_WIN]
            peak = 0.0
            start = st[i, PEAK_T]
            if t < start + 2.0 * w:
                peak = st[i, PEAK]
            if t < start + w:
                peak = max(peak, st[i, PREV_PEAK])
            if peak > pps and peak - pps > pv[P_MAX_DD] * peak:
                bits |= 1 << NAV_DRAWDOWN
            if nav != 0.0 and depth[i] < pv[P_MIN_DEPTH] * nav:
                bits |= 1 << THIN_LIQUIDITY
        latched = int(st[i, LATCHED])
        cd = pv[P_COOLDOWN]
        if bits != 0 or latched != 0:
            for b in range(6):
                bit = 1 << b
                if bits & bit:
                    last_seen[i, b] = t
                    if not latched & bit:
                        latched |= bit
                        trips[i, b] += 1.0
                        acc[i, A_TRIPS] += 1.0
                elif latched & bit and t >= last_seen[i, b] + cd:
                    latched &= ~bit
            st[i, LATCHED] = latched
        # roll the anchors (after measuring against the old ones)
        w = pv[P_SPOT_WIN]
        if st[i, ANCHOR] == 0.0 or t >= st[i, ANCHOR_T] + w:
            if st[i, ANCHOR] != 0.0 and t < st[i, ANCHOR_T] + 2.0 * w:
                st[i, PREV_ANCHOR] = st[i, ANCHOR]
            else:
                st[i, PREV_ANCHOR] = S
            st[i, ANCHOR] = S
            st[i, ANCHOR_T] = t
        if nav_known[i]:
            w = pv[P_DD_WIN]
            if st[i, PEAK] == 0.0 or t >= st[i, PEAK_T] + w:
                if st[i, PEAK] != 0.0 and t < st[i, PEAK_T] + 2.0 * w:
                    st[i, PREV_PEAK] = st[i, PEAK]
                else:
                    st[i, PREV_PEAK] = pps
                st[i, PEAK] = pps
                st[i, PEAK_T] = t
            elif pps > st[i, PEAK]:
                st[i, PEAK] = pps
        target = 0.0
        if latched != 0:
            for b in range(6):
                if latched & (1 << b):
                    target = max(target, blv[b])
        level = st[i, LEVEL]
        if target > level:
            st[i, LEVEL] = target
            st[i, LEVEL_SINCE] = t
        elif target < level and t >= st[i, LEVEL_SINCE] + cd:
            st[i, LEVEL] = level - 1.0
            st[i, LEVEL_SINCE] = t


@njit(cache=True, inline="always")
def _fill_inputs(ser, i, s, S, t, rate, gS, gK, gT, gR, gV, gC, gidx, m):
    """Queue series (i, s) for the Greeks kernel at spot S and time t; returns the new count."""
    gS[m] = S
    gK[m] = ser[i, s, K_]
    gT[m] = (ser[i, s, EXP] - t) / _YEAR
    gR[m] = rate
    gV[m] = ser[i, s, SVOL]
    gC[m] = ser[i, s, CALL] > 0.5
    gidx[0, m] = i
    gidx[1, m] = s
    return m + 1


@njit(cache=True, inline="always")
def _take_greeks(ser, gidx, m, gS, oP, oD, oG, oV, oTh, to_cache):
    """Store kernel outputs as current values (and as cached marks if `to_cache`); a mark is
    max(BS price, intrinsic) (SPEC: P_i)."""
    for k in range(m):
        i = gidx[0, k]
        s = gidx[1, k]
        ser[i, s, CP] = max(oP[k], _payoff(gS[k], ser[i, s, K_], ser[i, s, CALL]))
        ser[i, s, CD] = oD[k]
        ser[i, s, CG] = oG[k]
        ser[i, s, CV] = oV[k]
        ser[i, s, CTH] = oTh[k]
        if to_cache[i]:
            ser[i, s, MP] = ser[i, s, CP]
            ser[i, s, MD] = oD[k]
            ser[i, s, MG] = oG[k]
            ser[i, s, MV] = oV[k]


_ASSET_UNIT = 1e-6  # USD: premiums are rounded up to whole units of the 6-decimal stablecoin

# The helpers are inlined (numba IR) into the two step kernels: a call that passes arrays costs
# atomic reference counting per array, which took ~15 % of the run time before.


@njit(cache=True, inline="always")
def _rebalance(st, ser, acc, i, x, t, S, P, tw, dep, fresh, pv, day_expl, dj, tlog, tcount):
    """Hedger.rebalance of x ETH (+ buy, - sell) with every on-chain check; a refused trade changes nothing."""
    level = st[i, LEVEL]
    if level >= pv[P_HALTED] or (level >= pv[P_WITHDRAW] and x > 0.0):
        acc[i, A_T_LEVEL] += 1.0
        return
    if t < st[i, LAST_REBAL] + pv[P_H_COOLDOWN]:
        acc[i, A_T_COOLDOWN] += 1.0
        return
    dev = pv[P_MAX_DEV]
    if not fresh or abs(tw - S) > dev * S or abs(P - S) > dev * S:
        acc[i, A_T_DEVIATION] += 1.0
        return
    fee = pv[P_FEE]
    slip = pv[P_SLIP]
    hedge = st[i, HEDGE]
    cash = st[i, CASH]
    y = 0.0
    usd = 0.0
    if x < 0.0:
        y = min(-x, hedge)  # the vault cannot sell WETH it does not hold
        if y <= 0.0:
            acc[i, A_T_FUNDS] += 1.0
            return
        notional = y * S
    else:
        usd = min(x * S, cash)  # nor spend cash it does not have
        if usd <= 0.0:
            acc[i, A_T_FUNDS] += 1.0
            return
        notional = usd
    L, D, G, V, oi = _book(ser, i, S, st[i, S0])
    nav = max(0.0, cash + hedge * S - max(0.0, L))
    if notional > nav * pv[P_MAX_TRADE]:
        acc[i, A_T_CAPS] += 1.0
        return
    elapsed = t - st[i, CAPS_T]
    hcap = nav * pv[P_HOURLY]
    dcap = nav * pv[P_DAILY]
    hourly = _bucket(st[i, HOURLY], hcap, 3600.0, elapsed) + notional
    daily = _bucket(st[i, DAILY], dcap, 86400.0, elapsed) + notional
    if hourly > hcap or daily > dcap:
        acc[i, A_T_CAPS] += 1.0
        return
    if x < 0.0:
        out = _sell_to_pool(y, P, dep, fee)
        if out < y * S * (1.0 - slip):  # min_out floor at the oracle price
            acc[i, A_T_SLIPPAGE] += 1.0
            return
        new_hedge = hedge - y
        new_cash = cash + out
        cost = y * S - out
        eth = -y
    else:
        out = _buy_from_pool(usd, P, dep, fee)
        if out < usd / S * (1.0 - slip):
            acc[i, A_T_SLIPPAGE] += 1.0
            return
        new_hedge = hedge + out
        new_cash = cash - usd
        cost = usd - out * S
        eth = out
    before = hedge - D
    after = new_hedge - D
    band = pv[P_BAND] * nav * _budget(st, i, t, pv[P_B_RATE]) / S
    if level == pv[P_REDUCE]:
        if not abs(after) < abs(before):
            acc[i, A_T_BAND] += 1.0
            return
    elif level == 0.0:
        if not (abs(after) <= band or abs(after) < abs(before)):
            acc[i, A_T_BAND] += 1.0
            return
    if pv[P_AUDIT] > 0.5 and tcount[1] < tlog.shape[0]:
        r = tcount[1]
        tlog[r, R_PATH] = i
        tlog[r, R_T] = t
        tlog[r, R_LEVEL] = level
        tlog[r, R_ETH] = eth
        tlog[r, R_NOTIONAL] = notional
        tlog[r, R_NAV] = nav
        tlog[r, R_HOURLY] = hourly
        tlog[r, R_HCAP] = hcap
        tlog[r, R_DAILY] = daily
        tlog[r, R_DCAP] = dcap
        tlog[r, R_PREV] = st[i, LAST_REBAL]
        tlog[r, R_BEFORE] = before
        tlog[r, R_AFTER] = after
        tlog[r, R_BAND] = band
        tlog[r, R_KIND] = 0.0
        tcount[1] += 1
    st[i, HEDGE] = new_hedge if new_hedge > _DUST else 0.0
    st[i, CASH] = new_cash
    st[i, HOURLY] = hourly
    st[i, DAILY] = daily
    st[i, CAPS_T] = t
    st[i, LAST_REBAL] = t
    acc[i, A_TRADES] += 1.0
    acc[i, A_NOTIONAL] += notional
    acc[i, A_COST] += cost
    if x < 0.0:
        acc[i, A_SOLD] += y
        acc[i, A_RECEIVED] += out
    else:
        acc[i, A_BOUGHT] += out
        acc[i, A_SPENT] += usd
    if dj >= 0:
        day_expl[i, dj] -= cost
    _gas(st, acc, i, pv[P_GAS_REBAL], S, pv, day_expl, dj)


@njit(cache=True, inline="always")
def _sell_option(st, ser, gridc, gd, acc, i, q, pick, t, S, fresh, pv, grid, day_expl, dj, slog, tcount):
    """OptionMarket.buy of q ETH of an open series (chosen by `pick` in [0, 1));
    refused (and counted by reason) unless every SPEC limit holds."""
    acc[i, A_ATTEMPTS] += 1.0
    if st[i, LEVEL] != 0.0:  # the level as last measured (SPEC: RiskGuard.quick)
        acc[i, A_R_LEVEL] += 1.0
        return
    if not fresh:  # and a fresh oracle now
        acc[i, A_R_ORACLE] += 1.0
        return
    s0 = st[i, S0]
    L, D, G, V, oi = _book(ser, i, S, s0)
    if oi > 0.0 and (t - st[i, T0] > pv[P_MARK_AGE] or abs(S - s0) > pv[P_DRIFT] * s0):
        acc[i, A_R_STALE] += 1.0
        return
    ns = ser.shape[1]
    n_open = 0
    for s in range(ns):
        if ser[i, s, LIVE] > 0.5 and ser[i, s, EXP] - t >= pv[P_MIN_TTE]:
            n_open += 1
    if n_open == 0:
        acc[i, A_R_NOSERIES] += 1.0
        return
    k = min(int(pick * n_open), n_open - 1)
    slot = -1
    for s in range(ns):
        if ser[i, s, LIVE] > 0.5 and ser[i, s, EXP] - t >= pv[P_MIN_TTE]:
            if k == 0:
                slot = s
                break
            k -= 1
    dS = S - s0
    taylor = ser[i, slot, MP] + ser[i, slot, MD] * dS + 0.5 * ser[i, slot, MG] * dS * dS
    u = max(ser[i, slot, CP], _payoff(S, ser[i, slot, K_], ser[i, slot, CALL]), taylor)
    premium = math.ceil(q * u * (1.0 + pv[P_SPREAD]) / _ASSET_UNIT) * _ASSET_UNIT
    q_old = ser[i, slot, Q]
    q_new = q_old + q
    hedge = st[i, HEDGE]
    unit = pv[P_GRID_UNIT]
    inv = 1.0 / unit
    K = ser[i, slot, K_]
    sign = 1.0 if ser[i, slot, CALL] > 0.5 else -1.0
    M = 0.0  # the stress loss after the sale: the cached grid plus term(q_old + q) - term(q_old)
    for k in range(grid.shape[0]):
        pay = sign * (s0 * (1.0 + grid[k]) - K)
        gd[k] = (math.ceil(q_new * pay * inv) - math.ceil(q_old * pay * inv)) * unit if pay > 0.0 else 0.0
        loss = gridc[i, k] + gd[k] - hedge * s0 * grid[k]
        if loss > M:
            M = loss
    # aggregates after the sale, incrementally (SPEC: a sale adds q times the series' cached terms)
    L2 = max(0.0, L + q * taylor)
    V2 = V + q * ser[i, slot, MV]
    G2 = G + q * ser[i, slot, MG]
    L = max(0.0, L)
    cash = st[i, CASH] + premium
    nav = max(0.0, cash + hedge * S - L2)
    b = _budget(st, i, t, pv[P_B_RATE])
    reason = -1
    if M > nav * pv[P_UTIL] * b:
        reason = A_R_MARGIN
    elif V2 > nav * pv[P_VEGA] * b:
        reason = A_R_VEGA
    elif G2 * S * S / 100.0 > nav * pv[P_GAMMA] * b:
        reason = A_R_GAMMA
    if reason >= 0:  # the transaction reverts
        acc[i, reason] += 1.0
        return
    ser[i, slot, Q] = q_new
    st[i, CASH] = cash
    for k in range(grid.shape[0]):
        gridc[i, k] += gd[k]
    edge = premium - (L2 - L)
    acc[i, A_PREMIUM] += premium
    acc[i, A_EDGE] += edge
    acc[i, A_SALES] += 1.0
    acc[i, A_SOLD_QTY] += q
    if dj >= 0:
        day_expl[i, dj] += edge
    if pv[P_AUDIT] > 0.5 and tcount[0] < slog.shape[0]:
        r = tcount[0]
        slog[r, L_PATH] = i
        slog[r, L_T] = t
        slog[r, L_S] = S
        slog[r, L_S0] = s0
        slog[r, L_HEDGE] = hedge
        slog[r, L_NAV] = nav
        slog[r, L_B] = b
        slog[r, L_M] = M
        slog[r, L_V] = V2
        slog[r, L_G] = G2
        slog[r, L_CASH] = st[i, CASH]
        slog[r, L_Q] = q
        slog[r, L_SLOT] = slot
        for s in range(ns):  # the book after the sale: q, K, call per slot
            live = ser[i, s, LIVE] > 0.5
            slog[r, N_SALE_LOG + 3 * s] = ser[i, s, Q] if live else 0.0
            slog[r, N_SALE_LOG + 3 * s + 1] = ser[i, s, K_]
            slog[r, N_SALE_LOG + 3 * s + 2] = ser[i, s, CALL]
        tcount[0] += 1


@njit(cache=True)
def _observe(j, price, oracle, oracle_t, twap, depth, alive, st, ser, gridc, last_seen, trips, acc, pv, grid, blv, wk,
             gS, gK, gT, gR, gV, gC, gidx, oP, oD, oG, oV, oTh, refresh, bsm, day_expl, tlog, tcount):
    """Step j, before the policy: estimators, settlement, marks refresh, guard poke, BookState rows."""
    n = st.shape[0]
    ns = ser.shape[1]
    dt = pv[P_DT]
    t = j * dt
    spd = int(pv[P_SPD])
    dj = (j - 1) // spd if j > 0 else -1        # day of actions at step j
    dc = j // spd if j < pv[P_STEPS] else -1     # day of the carry over (t, t + dt]
    dty = dt / _YEAR
    a_s = 2.0 ** (-dt / pv[P_RVS_HL])
    a_l = 2.0 ** (-dt / pv[P_RVL_HL])
    a_t = 2.0 ** (-dt / pv[P_TR_HL])
    per_day = 86400.0 / dt
    use_alive = pv[P_USE_ALIVE] > 0.5
    m = 0
    for i in range(n):
        S = oracle[i]
        P = price[i]
        keeper = alive[i] if use_alive else True
        fresh = t - oracle_t[i] <= pv[P_HEARTBEAT]
        if j > 0:  # realised vol and trend from the pool price (what the keeper observes)
            lp = math.log(P)
            r = lp - st[i, LAST_LOGP]
            st[i, LAST_LOGP] = lp
            st[i, RVS_NUM] = a_s * st[i, RVS_NUM] + r * r
            st[i, RVS_DEN] = a_s * st[i, RVS_DEN] + dty
            st[i, RVL_NUM] = a_l * st[i, RVL_NUM] + r * r
            st[i, RVL_DEN] = a_l * st[i, RVL_DEN] + dty
            st[i, TR_NUM] = a_t * st[i, TR_NUM] + r
            st[i, TR_DEN] = a_t * st[i, TR_DEN] + dty
            trend = st[i, TR_NUM] / st[i, TR_DEN]
            st[i, ACCEL] = a_s * st[i, ACCEL] + (1.0 - a_s) * (trend - st[i, TREND_PREV]) * per_day
            st[i, TREND_PREV] = trend
        # settlement of expired series, at the first oracle round at or after expiry
        raised = False
        for s in range(ns):
            if ser[i, s, LIVE] < 0.5 or ser[i, s, EXP] > t:
                continue
            if ser[i, s, SPX] == 0.0:
                if oracle_t[i] >= ser[i, s, EXP]:
                    ser[i, s, SPX] = S
                else:
                    continue
            total = ser[i, s, Q] * _payoff(ser[i, s, SPX], ser[i, s, K_], ser[i, s, CALL])
            if st[i, CASH] < total and st[i, HEDGE] > _DUST and not raised:
                _raise_settlement_cash(st, acc, i, total - st[i, CASH], S, P, depth[i], pv, day_expl, dj,
                                       tlog, tcount, t)
                raised = True
            if st[i, CASH] >= total:
                st[i, CASH] -= total
                acc[i, A_PAYOFF] += total
            elif st[i, HEDGE] <= _DUST:  # no hedge left to sell: pay pro rata
                paid = max(st[i, CASH], 0.0)
                st[i, CASH] -= paid
                acc[i, A_PAYOFF] += paid
                acc[i, A_SHORTFALL] += total - paid
                acc[i, A_PRORATA] += 1.0
            else:
                continue  # wait for more settlement cash
            acc[i, A_SETTLED] += 1.0
            for k in range(grid.shape[0]):  # settlement subtracts term(q_i) from the cached grid
                gridc[i, k] += _grid_term_change(ser, i, s, ser[i, s, Q], 0.0, st[i, S0], grid, pv[P_GRID_UNIT], k)
            ser[i, s, LIVE] = 0.0
            ser[i, s, Q] = 0.0
            ser[i, s, SPX] = 0.0
            _gas(st, acc, i, pv[P_GAS_SETTLE], S, pv, day_expl, dj)
        for s in range(ns):
            if ser[i, s, LIVE] > 0.5 and ser[i, s, EXP] > t:
                m = _fill_inputs(ser, i, s, S, t, pv[P_RATE], gS, gK, gT, gR, gV, gC, gidx, m)
        refresh[i] = keeper and fresh  # update_marks needs a fresh oracle
        if not keeper:
            acc[i, A_MISSED] += 1.0
    if m > 0:
        _greeks_kernel(gS[:m], gK[:m], gT[:m], gR[:m], gV[:m], gC[:m], oP[:m], oD[:m], oG[:m], oV[:m], oTh[:m])
    _take_greeks(ser, gidx, m, gS, oP, oD, oG, oV, oTh, refresh)
    for i in range(n):
        S = oracle[i]
        n_live = 0
        carry = 0.0
        vol_sum = 0.0
        n_vol = 0
        for s in range(ns):
            if ser[i, s, LIVE] < 0.5:
                continue
            n_live += 1
            if ser[i, s, EXP] <= t:  # expired: intrinsic value, no Greeks
                ser[i, s, CP] = _payoff(S, ser[i, s, K_], ser[i, s, CALL])
                ser[i, s, CD] = 0.0
                ser[i, s, CG] = 0.0
                ser[i, s, CV] = 0.0
                ser[i, s, CTH] = 0.0
                if refresh[i]:
                    ser[i, s, MP] = ser[i, s, CP]
                    ser[i, s, MD] = 0.0
                    ser[i, s, MG] = 0.0
                    ser[i, s, MV] = 0.0
            else:
                carry -= ser[i, s, Q] * ser[i, s, CTH] * dty
                vol_sum += ser[i, s, SVOL]
                n_vol += 1
        if refresh[i]:
            st[i, S0] = S
            st[i, T0] = t
            _grid_recompute(ser, i, S, grid, pv[P_GRID_UNIT], gridc)
            if n_live > 0:
                _gas(st, acc, i, pv[P_GAS_MARK_BASE] + pv[P_GAS_MARK_SERIES] * n_live, S, pv, day_expl, dj)
                acc[i, A_MARK_TX] += 1.0
        s0 = st[i, S0]
        L, D, G, V, oi = _book(ser, i, S, s0)
        wk[W_OK, i] = oi <= 0.0 or (t - st[i, T0] <= pv[P_MARK_AGE] and abs(S - s0) <= pv[P_DRIFT] * s0)
        wk[W_NAV, i] = max(0.0, st[i, CASH] + st[i, HEDGE] * S - max(0.0, L))
        wk[W_L, i] = max(0.0, L)
        wk[W_D, i] = D
        wk[W_G, i] = G
        wk[W_V, i] = V
        wk[W_IV, i] = vol_sum / n_vol if n_vol > 0 else st[i, VOL]
        acc[i, A_CARRY] += carry
        if dc >= 0:
            day_expl[i, dc] += carry
    _poke_all(t, oracle, oracle_t, twap, depth, wk[W_OK] > 0.5, wk[W_NAV], st, last_seen, trips, acc, pv, blv)
    for i in range(n):
        S = oracle[i]
        keeper = alive[i] if use_alive else True
        fresh = t - oracle_t[i] <= pv[P_HEARTBEAT]
        s0 = st[i, S0]
        nav = wk[W_NAV, i]
        if keeper and st[i, LEVEL] > 0.0:  # outside normal, the keeper pokes so the level can recover
            _gas(st, acc, i, pv[P_GAS_POKE], S, pv, day_expl, dj)
            acc[i, A_POKES] += 1.0
            nav = max(0.0, st[i, CASH] + st[i, HEDGE] * S - wk[W_L, i])
        # what the policy sees
        elapsed = t - st[i, CAPS_T]
        hcap = nav * pv[P_HOURLY]
        dcap = nav * pv[P_DAILY]
        room = min(hcap - _bucket(st[i, HOURLY], hcap, 3600.0, elapsed),
                   dcap - _bucket(st[i, DAILY], dcap, 86400.0, elapsed), nav * pv[P_MAX_TRADE])
        bsm[B_T_, i] = t
        bsm[B_SPOT, i] = S
        bsm[B_FRESH, i] = 1.0 if fresh else 0.0
        bsm[B_POOL, i] = price[i]
        bsm[B_DEPTH, i] = depth[i]
        bsm[B_FEE, i] = pv[P_FEE]
        bsm[B_NAV, i] = nav
        bsm[B_NPS, i] = nav / st[i, SHARES]
        bsm[B_HWM, i] = max(st[i, HWM], nav / st[i, SHARES])
        bsm[B_CASH, i] = st[i, CASH]
        bsm[B_HEDGE, i] = st[i, HEDGE]
        bsm[B_DELTA, i] = wk[W_D, i]
        bsm[B_GAMMA, i] = wk[W_G, i]
        bsm[B_VEGA, i] = wk[W_V, i]
        bsm[B_MARGIN, i] = _stress(gridc, i, s0, st[i, HEDGE], grid)
        bsm[B_NEED, i] = max(0.0, _settle_need(ser, i, t, s0) - st[i, CASH])
        bsm[B_IV, i] = wk[W_IV, i]
        bsm[B_RVS, i] = math.sqrt(st[i, RVS_NUM] / st[i, RVS_DEN])
        bsm[B_RVL, i] = math.sqrt(st[i, RVL_NUM] / st[i, RVL_DEN])
        bsm[B_TREND, i] = st[i, TR_NUM] / st[i, TR_DEN]
        bsm[B_ACCEL, i] = st[i, ACCEL]
        bsm[B_LEVEL, i] = st[i, LEVEL]
        bsm[B_BUDGET, i] = _budget(st, i, t, pv[P_B_RATE])
        bsm[B_ROOM, i] = max(0.0, room)
        bsm[B_COOL, i] = max(0.0, st[i, LAST_REBAL] + pv[P_H_COOLDOWN] - t)
        bsm[B_GWEI, i] = pv[P_GWEI]


@njit(cache=True)
def _act(j, price, oracle, oracle_t, twap, depth, alive, o_budget, o_vol, o_trade, st, ser, gridc, gd, acc, pv, grid,
         strike_m, strike_call, ev_off, ev_size, ev_pick, gS, gK, gT, gR, gV, gC, gidx, oP, oD, oG, oV, oTh,
         refresh, posted, day_nav, day_nps, day_expl, slog, tlog, tcount):
    """Step j, after the policy: budget and vol posts, scheduled series, the hedge trade, buyers, records."""
    n = st.shape[0]
    ns = ser.shape[1]
    dt = pv[P_DT]
    t = j * dt
    spd = int(pv[P_SPD])
    dj = (j - 1) // spd if j > 0 else -1
    use_alive = pv[P_USE_ALIVE] > 0.5
    vmin = max(pv[P_VOL_FLOOR], pv[P_MIN_VOL])
    vmax = min(pv[P_VOL_CAP], pv[P_MAX_VOL])
    m = 0
    for i in range(n):
        posted[i] = False
        bt = o_budget[i]
        v = o_vol[i]
        if not (math.isfinite(bt) and math.isfinite(v)):
            acc[i, A_POLICY_NAN] += 1.0
            continue
        if not refresh[i]:  # keeper missed, or the oracle is stale: no post, no new series
            continue
        S = oracle[i]
        # the risk budget: down at once, up at budget_rate per hour
        tgt = min(max(bt, pv[P_B_FLOOR]), 1.0)
        if tgt != st[i, B_TGT]:
            now = _budget(st, i, t, pv[P_B_RATE])
            st[i, B_POST] = tgt if tgt <= now else now
            st[i, B_TGT] = tgt
            st[i, B_T] = t
            _gas(st, acc, i, pv[P_GAS_BUDGET], S, pv, day_expl, dj)
        # vols: bounded, and each series moves <= max_vol_rate x min(elapsed, VOL_ACCRUAL_CAP)
        v = min(max(v, vmin), vmax)
        st[i, VOL] = v
        changed = False
        for s in range(ns):
            if ser[i, s, LIVE] > 0.5 and ser[i, s, EXP] > t:
                step = pv[P_VOL_RATE] * min(t - ser[i, s, SVOL_T], pv[P_ACCRUAL])
                old = ser[i, s, SVOL]
                nv = min(max(v, old - step), old + step)
                if nv != old:
                    ser[i, s, SVOL] = nv
                    ser[i, s, SVOL_T] = t
                    changed = True
        # the schedule: a new set of series every period (first vol unconstrained, within bounds)
        if t >= st[i, NEXT_OPEN]:
            for k in range(strike_m.shape[0]):
                slot = -1
                for s in range(ns):
                    if ser[i, s, LIVE] < 0.5:
                        slot = s
                        break
                if slot < 0:
                    acc[i, A_OPEN_SKIPPED] += 1.0
                    continue
                ser[i, slot, K_] = S * strike_m[k]
                ser[i, slot, EXP] = t + pv[P_TENOR]
                ser[i, slot, CALL] = 1.0 if strike_call[k] else 0.0
                ser[i, slot, Q] = 0.0
                ser[i, slot, LIVE] = 1.0
                ser[i, slot, SVOL] = v
                ser[i, slot, SVOL_T] = t
                ser[i, slot, SPX] = 0.0
                acc[i, A_OPENED] += 1.0
                _gas(st, acc, i, pv[P_GAS_CREATE], S, pv, day_expl, dj)
                changed = True
            st[i, NEXT_OPEN] = (math.floor(t / pv[P_PERIOD]) + 1.0) * pv[P_PERIOD]
        if changed:
            posted[i] = True
            for s in range(ns):
                if ser[i, s, LIVE] > 0.5 and ser[i, s, EXP] > t:
                    m = _fill_inputs(ser, i, s, S, t, pv[P_RATE], gS, gK, gT, gR, gV, gC, gidx, m)
    if m > 0:
        _greeks_kernel(gS[:m], gK[:m], gT[:m], gR[:m], gV[:m], gC[:m], oP[:m], oD[:m], oG[:m], oV[:m], oTh[:m])
        _take_greeks(ser, gidx, m, gS, oP, oD, oG, oV, oTh, posted)
    T1 = int(pv[P_STEPS]) + 1  # ev_off has n (T + 1) + 1 entries, path-major
    day_end = j % spd == 0
    d = j // spd
    for i in range(n):
        S = oracle[i]
        P = price[i]
        keeper = alive[i] if use_alive else True
        fresh = t - oracle_t[i] <= pv[P_HEARTBEAT]
        x = o_trade[i]
        if not math.isfinite(x):
            acc[i, A_POLICY_NAN] += 1.0
        elif x != 0.0 and keeper:
            _rebalance(st, ser, acc, i, x, t, S, P, twap[i], depth[i], fresh, pv, day_expl, dj, tlog, tcount)
        e0 = ev_off[i * T1 + j]
        e1 = ev_off[i * T1 + j + 1]
        for e in range(e0, e1):
            _sell_option(st, ser, gridc, gd, acc, i, ev_size[e], ev_pick[e], t, S, fresh, pv, grid, day_expl, dj, slog,
                         tcount)
        nav = _nav(st, ser, i, S)
        nps = nav / st[i, SHARES]
        st[i, NAV] = nav
        st[i, NPS] = nps
        st[i, HWM] = max(st[i, HWM], nps)
        st[i, DD_PEAK] = max(st[i, DD_PEAK], nps)
        if st[i, DD_PEAK] > 0.0:
            st[i, MAX_DD] = max(st[i, MAX_DD], 1.0 - nps / st[i, DD_PEAK])
        if day_end:
            day_nav[i, d] = nav
            day_nps[i, d] = nps


# ====================================================================== the simulator (Python side)


def _param_vector(params: Params, cfg: SimConfig, step_s: int, steps: int) -> np.ndarray:
    """The numbers the kernels read, from Params (contract) and SimConfig (simulation)."""
    g = cfg.gas
    pv = np.zeros(N_PV)
    pv[P_SPREAD] = params.spread
    pv[P_HEARTBEAT] = params.oracle_heartbeat
    pv[P_MAX_DEV] = params.max_deviation
    pv[P_SPOT_MOVE] = params.max_spot_move
    pv[P_SPOT_WIN] = params.spot_move_window
    pv[P_MAX_DD] = params.max_drawdown
    pv[P_DD_WIN] = params.drawdown_window
    pv[P_MIN_DEPTH] = params.min_pool_depth
    pv[P_COOLDOWN] = params.cooldown
    pv[P_UTIL] = params.max_utilisation
    pv[P_VEGA] = params.max_vega_ratio
    pv[P_GAMMA] = params.max_gamma_ratio
    pv[P_BAND] = params.delta_band
    pv[P_B_FLOOR] = params.budget_floor
    pv[P_B_RATE] = params.budget_rate
    pv[P_SLIP] = params.max_slippage
    pv[P_MAX_TRADE] = params.max_trade
    pv[P_H_COOLDOWN] = params.hedge_cooldown
    pv[P_HOURLY] = params.max_hourly_notional
    pv[P_DAILY] = params.max_daily_notional
    pv[P_MARK_AGE] = params.max_mark_age
    pv[P_DRIFT] = params.max_spot_drift
    pv[P_VOL_RATE] = params.max_vol_rate
    pv[P_VOL_FLOOR] = params.vol_floor
    pv[P_VOL_CAP] = params.vol_cap
    pv[P_MIN_VOL] = params.min_vol
    pv[P_MAX_VOL] = params.max_vol
    pv[P_ACCRUAL] = params.vol_accrual_cap
    pv[P_MIN_TTE] = params.min_time_to_expiry
    pv[P_GRID_UNIT] = params.grid_unit_usd
    pv[P_REDUCE] = params.reduce_only
    pv[P_WITHDRAW] = params.withdraw_only
    pv[P_HALTED] = params.halted
    pv[P_FEE] = cfg.pool_fee
    pv[P_RATE] = cfg.rate
    pv[P_GWEI] = cfg.gas_gwei
    pv[P_GAS_REBAL] = g["rebalance"]
    pv[P_GAS_MARK_BASE] = g["marks_base"]
    pv[P_GAS_MARK_SERIES] = g["marks_per_series"]
    pv[P_GAS_POKE] = g["poke"]
    pv[P_GAS_SETTLE] = g["settle"]
    pv[P_GAS_CREATE] = g["create_series"]
    pv[P_GAS_BUDGET] = g["post_budget"]
    pv[P_DT] = step_s
    pv[P_PERIOD] = cfg.series_period_days * DAY
    pv[P_TENOR] = cfg.tenor_days * DAY
    pv[P_RVS_HL] = cfg.rv_short_half_life_days * DAY
    pv[P_RVL_HL] = cfg.rv_long_half_life_days * DAY
    pv[P_TR_HL] = cfg.trend_half_life_days * DAY
    pv[P_STEPS] = steps
    pv[P_SPD] = DAY // step_s
    pv[P_USE_ALIVE] = 1.0 if cfg.keeper_miss_prob > 0 else 0.0
    return pv


def check_sim_config(cfg: SimConfig, params: Params) -> None:
    """ValueError naming the first SimConfig field the chain (or the simulator) would refuse."""
    for name in ("nav0", "series_period_days", "tenor_days", "buy_size_eth", "buy_size_sigma",
                 "rv_short_half_life_days", "rv_long_half_life_days", "trend_half_life_days"):
        v = getattr(cfg, name)
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a positive number, got {v!r}")
    for name in ("buy_rate_per_day", "gas_gwei", "pool_fee", "keeper_miss_prob"):
        v = getattr(cfg, name)
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be a number >= 0, got {v!r}")
    _check_positive_int("max_batch_elements", cfg.max_batch_elements)
    if cfg.keeper_miss_prob >= 1 or cfg.pool_fee >= 1:
        raise ValueError("keeper_miss_prob and pool_fee must be < 1")
    if not params.min_rate <= cfg.rate <= params.max_rate:
        raise ValueError(f"rate {cfg.rate} outside [{params.min_rate}, {params.max_rate}]")
    tenor = cfg.tenor_days * DAY
    if not params.min_time_to_expiry <= tenor <= params.max_horizon:
        raise ValueError(f"tenor_days {cfg.tenor_days} outside [MIN_TIME_TO_EXPIRY, max_horizon]")
    if not cfg.strikes:
        raise ValueError("strikes must name at least one (strike / spot, is_call)")
    for m, _ in cfg.strikes:
        if not (math.isfinite(m) and abs(m - 1.0) <= params.strike_band):
            raise ValueError(f"strike {m} x spot is outside the strike band (+-{params.strike_band:g})")
    per_day = len(cfg.strikes) * math.ceil(1.0 / cfg.series_period_days)  # most opened in any rolling day
    if per_day > params.max_new_series:
        raise ValueError(f"the schedule opens {per_day:g} series per day, above max_new_series {params.max_new_series}")
    missing = set(GAS) - set(cfg.gas)
    if missing:
        raise ValueError(f"gas table lacks {', '.join(sorted(missing))}")


@dataclass
class StrategyResult:
    """Raw per-path results of one strategy (concatenated over batches); `summary()` reduces them."""

    name: str
    model: str
    nav0: float
    step_seconds: int
    acc: np.ndarray        # (n, N_ACC), columns ACC_NAMES
    trips: np.ndarray      # (n, 6), columns BREAKERS
    day_nav: np.ndarray    # (n, days + 1) NAV at each day boundary, USD
    day_nps: np.ndarray    # (n, days + 1) NAV per share
    day_expl: np.ndarray   # (n, days) explained P&L per day (edge + carry - costs), USD
    max_dd: np.ndarray     # (n,) max drawdown of NAV per share
    final: np.ndarray      # (n, N_ST) the end state
    final_series: np.ndarray  # (n, slots, N_SER) the series at the end
    seconds: float         # wall time of the simulation (policy included)
    path_steps: int
    sale_log: np.ndarray | None = None
    trade_log: np.ndarray | None = None

    @property
    def n_paths(self) -> int:
        return self.acc.shape[0]

    def column(self, name: str) -> np.ndarray:
        return self.acc[:, ACC_NAMES.index(name)]

    @staticmethod
    def concat(parts: list["StrategyResult"]) -> "StrategyResult":
        a = parts[0]
        cat = lambda f: np.concatenate([getattr(p, f) for p in parts])  # noqa: E731
        logs = {}
        for f in ("sale_log", "trade_log"):
            logs[f] = None if a.sale_log is None else np.concatenate([getattr(p, f) for p in parts])
        return StrategyResult(
            a.name, a.model, a.nav0, a.step_seconds, cat("acc"), cat("trips"), cat("day_nav"), cat("day_nps"),
            cat("day_expl"), cat("max_dd"), cat("final"), cat("final_series"), sum(p.seconds for p in parts),
            sum(p.path_steps for p in parts), **logs,
        )

    def daily_returns(self) -> np.ndarray:
        """Daily NAV returns, pooled over path-days (days starting at NAV 0 dropped)."""
        a, b = self.day_nav[:, :-1], self.day_nav[:, 1:]
        ok = a > 0
        return (b[ok] - a[ok]) / a[ok]

    def hedge_errors(self) -> np.ndarray:
        """Per path-day: (NAV change - edge - carry + costs) / NAV at the day's start (module doc)."""
        a, b = self.day_nav[:, :-1], self.day_nav[:, 1:]
        ok = a > 0
        return (b[ok] - a[ok] - self.day_expl[ok]) / a[ok]

    def summary(self) -> dict:
        """Scalar metrics over all paths (see the module doc for definitions)."""
        ret = self.day_nps[:, -1] - 1.0  # NAV per share starts at 1
        daily = self.daily_returns()
        he = self.hedge_errors()
        attempts = self.column("buy_attempts").sum()
        refused = sum(self.column(c) for c in ACC_NAMES if c.startswith("refused_"))
        years = (self.day_nav.shape[1] - 1) / 365.0
        out = {
            "strategy": self.name,
            "model": self.model,
            "paths": self.n_paths,
            "days": self.day_nav.shape[1] - 1,
            "return_mean": float(ret.mean()),
            "return_p5": float(np.percentile(ret, 5)),
            "return_median": float(np.median(ret)),
            "max_dd_mean": float(self.max_dd.mean()),
            "max_dd_p95": float(np.percentile(self.max_dd, 95)),
            "cvar99_daily": cvar(daily, 0.99),
            "hedge_error_std": float(np.std(he)) if he.size else float("nan"),
            "turnover": float(self.column("hedge_notional_usd").mean() / self.nav0),
            "turnover_per_year": float(self.column("hedge_notional_usd").mean() / self.nav0 / years),
            "gas_usd": float(self.column("gas_usd").mean()),
            "trade_cost_usd": float(self.column("trade_cost_usd").mean()),
            "premium_usd": float(self.column("premium_usd").mean()),
            "payoff_usd": float(self.column("payoff_usd").mean()),
            "shortfall_usd": float(self.column("shortfall_usd").mean()),
            "hedge_trades": float(self.column("hedge_trades").mean()),
            "trades_refused": float(sum(self.column(c) for c in ACC_NAMES if c.startswith("trade_refused_")).mean()),
            "breaker_trips": float(self.column("trips").mean()),
            "sales": float(self.column("sales").mean()),
            "sales_refused": float(refused.mean()),
            "sales_refused_share": float(refused.sum() / attempts) if attempts else 0.0,
            "path_steps_per_s": self.path_steps / self.seconds if self.seconds > 0 else float("nan"),
        }
        for b, name in enumerate(BREAKERS):
            out[f"trips_{name}"] = float(self.trips[:, b].mean())
        for c in ACC_NAMES:
            if c.startswith("refused_") or c.startswith("trade_refused_"):
                out[c] = float(self.column(c).mean())
        return out


def cvar(x: np.ndarray, level: float) -> float:
    """Expected shortfall: the mean of the worst (1 - level) share of x, as a positive loss."""
    x = np.sort(np.asarray(x, dtype=float))
    if x.size == 0:
        return float("nan")
    k = max(1, int(math.ceil((1.0 - level) * x.size)))
    return float(-x[:k].mean())


class Simulator:
    """One batch of vaults (one per market path) and the flow they see; run strategies on it.

    The buyers (Poisson arrivals, lognormal sizes, series picks) and the
    keeper's missed steps are drawn once from `seed`, so every strategy meets
    the same market and the same flow."""

    def __init__(self, market: MarketPaths, params: Params | None = None, cfg: SimConfig | None = None,
                 seed: int | np.random.SeedSequence = 0):
        self.market = market
        self.params = params or Params.from_constants()
        self.cfg = cfg or SimConfig()
        check_sim_config(self.cfg, self.params)
        n, steps = market.n_paths, market.n_steps
        step_s = market.step_seconds
        if DAY % step_s or steps % (DAY // step_s):
            raise ValueError("the market must cover whole days on a step that divides a day")
        self.days = steps * step_s // DAY
        self.pv = _param_vector(self.params, self.cfg, step_s, steps)
        self.grid = np.ascontiguousarray(self.params.GRID, dtype=float)
        self.blv = np.array([getattr(self.params, lv) for lv in BREAKER_LEVEL_NAMES], dtype=float)
        self.strike_m = np.array([m for m, _ in self.cfg.strikes], dtype=float)
        self.strike_call = np.array([bool(c) for _, c in self.cfg.strikes])
        gens = math.ceil(self.cfg.tenor_days / self.cfg.series_period_days) + 1
        self.n_slots = len(self.cfg.strikes) * gens  # + one set awaiting settlement
        if self.n_slots > self.params.max_live:
            raise ValueError(
                f"the schedule keeps up to {self.n_slots} series live, above MAX_LIVE {self.params.max_live}"
            )
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        rng = np.random.default_rng(ss)
        lam = self.cfg.buy_rate_per_day * step_s / DAY
        counts = rng.poisson(lam, (n, steps + 1)).astype(np.int64)
        counts[:, 0] = 0  # nobody buys before the first series exist
        self.ev_off = np.zeros(n * (steps + 1) + 1, dtype=np.int64)
        np.cumsum(counts.ravel(), out=self.ev_off[1:])
        total = int(self.ev_off[-1])
        sig = self.cfg.buy_size_sigma
        self.ev_size = rng.lognormal(math.log(self.cfg.buy_size_eth) - 0.5 * sig * sig, sig, total)
        self.ev_pick = rng.random(total)
        if self.cfg.keeper_miss_prob > 0:
            self.alive = rng.random((n, steps + 1)) >= self.cfg.keeper_miss_prob
        else:
            self.alive = np.ones((1, 1), dtype=np.bool_)
        # step-major copies of the market, shared by every run: the kernels read one contiguous row per step
        self._rows = tuple(np.ascontiguousarray(getattr(market, f).T) for f in _PATH_FIELDS)
        self._alive_rows = np.ascontiguousarray(self.alive.T)

    def initial_state(self) -> tuple[np.ndarray, np.ndarray]:
        m, cfg = self.market, self.cfg
        n = m.n_paths
        st = np.zeros((n, N_ST))
        st[:, CASH] = cfg.nav0
        st[:, SHARES] = cfg.nav0
        st[:, VOL] = min(max(m.nominal_vol, self.params.vol_floor), self.params.vol_cap)
        st[:, B_TGT] = 1.0
        st[:, B_POST] = 1.0
        st[:, S0] = m.oracle[:, 0]
        st[:, LAST_REBAL] = -1e18
        st[:, CAPS_T] = -1e18
        ln2 = math.log(2.0)
        w_s = cfg.rv_short_half_life_days / 365.0 / ln2  # prior weight (years) of the seed vol
        w_l = cfg.rv_long_half_life_days / 365.0 / ln2
        st[:, RVS_NUM] = m.nominal_vol**2 * w_s
        st[:, RVS_DEN] = w_s
        st[:, RVL_NUM] = m.nominal_vol**2 * w_l
        st[:, RVL_DEN] = w_l
        st[:, TR_DEN] = cfg.trend_half_life_days / 365.0 / ln2
        st[:, LAST_LOGP] = np.log(m.price[:, 0])
        st[:, HWM] = 1.0
        st[:, DD_PEAK] = 1.0
        st[:, NAV] = cfg.nav0
        st[:, NPS] = 1.0
        ser = np.zeros((n, self.n_slots, N_SER))
        return st, ser

    def run(self, name: str, policy: Callable, policy_cfg=None, progress: Callable[[int], None] | None = None,
            audit: bool = False) -> StrategyResult:
        """Simulate every path under `policy` (a keeper.policy PolicyFn). `progress(k)` is told of k path-steps done."""
        m = self.market
        n, steps = m.n_paths, m.n_steps
        st, ser = self.initial_state()
        gridc = np.zeros((n, self.grid.size))  # the book's cached grid payoffs (SPEC), USD
        gd = np.zeros(self.grid.size)  # scratch: one sale's change of the grid payoffs
        wk = np.zeros((N_WK, n))  # scratch: per-path values passed between the phases of a step
        last_seen = np.zeros((n, 6))
        trips = np.zeros((n, 6))
        acc = np.zeros((n, N_ACC))
        k = n * self.n_slots
        gS, gK, gT, gR, gV = (np.empty(k) for _ in range(5))
        gC = np.empty(k, dtype=np.bool_)
        gidx = np.empty((2, k), dtype=np.int64)  # (path, slot) of each queued series
        oP, oD, oG, oV, oTh = (np.empty(k) for _ in range(5))
        refresh = np.zeros(n, dtype=np.bool_)
        posted = np.zeros(n, dtype=np.bool_)
        bsm = np.zeros((N_BS, n))
        day_nav = np.zeros((n, self.days + 1))
        day_nps = np.zeros((n, self.days + 1))
        day_expl = np.zeros((n, self.days))
        pv = self.pv.copy()
        pv[P_AUDIT] = 1.0 if audit else 0.0
        if audit:
            slog = np.zeros((max(1, int(self.ev_off[-1])), N_SALE_LOG + 3 * self.n_slots))
            tlog = np.zeros((n * (steps + 1) * 2 + 1, N_TRADE_LOG))
        else:
            slog = np.zeros((0, N_SALE_LOG + 3 * self.n_slots))
            tlog = np.zeros((0, N_TRADE_LOG))
        tcount = np.zeros(2, dtype=np.int64)
        # one BookState whose arrays are rows of bsm, refilled in place by the kernel every step
        state = BookState(**{name_: bsm[r] for r, name_ in enumerate(BS_NAMES)})
        pr, orc, ort, tw, dep = self._rows
        alive = self._alive_rows
        use_alive = self.cfg.keeper_miss_prob > 0
        chunk = max(1, steps // 50)
        reported = 0
        t_start = time.perf_counter()
        for j in range(steps + 1):
            row = (pr[j], orc[j], ort[j], tw[j], dep[j], alive[j] if use_alive else alive[0])
            _observe(j, *row, st, ser, gridc, last_seen, trips, acc,
                     pv, self.grid, self.blv, wk, gS, gK, gT, gR, gV, gC, gidx, oP, oD, oG, oV, oTh, refresh, bsm,
                     day_expl, tlog, tcount)
            state.oracle_fresh = bsm[B_FRESH] > 0.5
            state.level = bsm[B_LEVEL].astype(np.int64)
            out = policy(state, self.params, policy_cfg)
            o_budget = _vector(out.budget_target, n, name, "budget_target")
            o_vol = _vector(out.atm_vol, n, name, "atm_vol")
            o_trade = _vector(out.trade_eth, n, name, "trade_eth")
            _act(j, *row, o_budget, o_vol, o_trade, st, ser, gridc, gd,
                 acc, pv, self.grid, self.strike_m, self.strike_call, self.ev_off, self.ev_size, self.ev_pick,
                 gS, gK, gT, gR, gV, gC, gidx, oP, oD, oG, oV, oTh, refresh, posted, day_nav, day_nps, day_expl,
                 slog, tlog, tcount)
            if progress is not None and ((j + 1) % chunk == 0 or j == steps):
                progress(n * (j + 1 - reported))  # path-steps done since the last report
                reported = j + 1
        seconds = time.perf_counter() - t_start
        return StrategyResult(
            name, m.model, self.cfg.nav0, m.step_seconds, acc, trips, day_nav, day_nps, day_expl,
            st[:, MAX_DD].copy(), st, ser, seconds, n * steps,
            slog[: tcount[0]] if audit else None, tlog[: tcount[1]] if audit else None,
        )


def _vector(x, n, strategy, field_name) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.shape != (n,):
        raise ValueError(f"strategy {strategy}: {field_name} has shape {a.shape}, expected ({n},)")
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


# ====================================================================== static strategies (the peers)


@njit(cache=True)
def _static_kernel(mode, arg, step, t, spot, fresh, pool, nav, cash, hedge, odelta, level, room, cool,
                   max_dev, reduce_only, withdraw_only, halted, min_usd, trade, reason, band):
    """The static peers, path by path: mode 0 never hedges; mode 1 trades the vault delta to zero
    when t is within one step after a multiple of `arg` seconds; mode 2 trades back to the edge of a
    band of `arg` x NAV (in delta dollars). The wanted trade is then cut to what the chain would
    accept (WETH held, cash, the notional room; level, oracle/pool, cooldown) or dropped, with a
    keeper.policy reason code."""
    for i in range(spot.shape[0]):
        S = spot[i]
        delta = hedge[i] - odelta[i]
        want = 0.0
        if mode == 0:
            band[i] = np.inf
        elif mode == 1:
            band[i] = 0.0
            if t[i] % arg < step:
                want = -delta
        else:
            b = arg * nav[i] / S
            band[i] = b
            excess = abs(delta) - b
            if excess > 0.0:
                want = -excess if delta > 0.0 else excess
        trade[i] = 0.0
        if want == 0.0:
            reason[i] = NO_TRADE_IN_BAND
            continue
        x = max(want, -hedge[i])            # cannot sell WETH it does not hold
        x = min(x, cash[i] / S)             # nor buy with cash it does not have
        r = room[i] * (1.0 - 1e-9) / S     # max_trade and the two buckets
        x = min(max(x, -r), r)
        lv = level[i]
        if lv >= halted or (lv >= withdraw_only and x > 0.0) or (
            lv == reduce_only and x != 0.0 and abs(delta + x) >= abs(delta)
        ):
            reason[i] = BLOCKED_LEVEL
        elif not fresh[i] or abs(pool[i] - S) > max_dev * S:
            reason[i] = BLOCKED_DEVIATION
        elif cool[i] > 0.0:
            reason[i] = BLOCKED_COOLDOWN
        elif abs(x) * S < min_usd:
            reason[i] = TOO_SMALL
        else:
            trade[i] = x
            reason[i] = TRADE_TO_TARGET if mode == 1 else TRADE_TO_BAND


def _static_policy(mode: int, arg: float, name: str) -> Callable:
    def policy(state: BookState, params: Params, cfg: StaticConfig | None = None) -> PolicyOutput:
        cfg = cfg if cfg is not None else StaticConfig()
        n = state.n
        trade = np.empty(n)
        reason = np.empty(n, dtype=np.int64)
        band = np.empty(n)
        f = lambda a: np.asarray(a, dtype=np.float64)  # noqa: E731
        _static_kernel(
            mode, float(arg), float(cfg.step_seconds), f(state.t), f(state.spot),
            np.asarray(state.oracle_fresh, dtype=np.bool_), f(state.pool_price), f(state.nav), f(state.cash),
            f(state.hedge_eth), f(state.option_delta_eth), np.asarray(state.level, dtype=np.int64),
            f(state.hedge_room_usd), f(state.cooldown_left), params.max_deviation, params.reduce_only,
            params.withdraw_only, params.halted, float(cfg.min_trade_usd), trade, reason, band,
        )
        return PolicyOutput(
            budget_target=np.ones(n),
            # the fixed estimate (without one: the long-run realised vol the book state carries)
            atm_vol=(np.full(n, cfg.vol) if cfg.vol is not None else np.asarray(state.rv_long, float))
            + cfg.vol_premium,
            delta_target_eth=np.zeros(n),
            band_eth=band,
            trade_eth=trade,
            reason=reason,
        )

    policy.__name__ = policy.__qualname__ = name
    policy.__doc__ = f"Static strategy {name} (keeper.policy PolicyFn; cfg: StaticConfig)."
    return policy


no_hedge = _static_policy(0, 0.0, "no_hedge")
no_hedge.__doc__ = "Sell options, never hedge; full budget; vol = the fixed estimate plus the premium."


def hedge_every(hours: float) -> Callable:
    """Every `hours` hours (on the clock), trade the vault's delta to zero (as far as the chain allows)."""
    if not (math.isfinite(hours) and hours > 0):
        raise ValueError(f"hedge_every needs a positive number of hours, got {hours}")
    return _static_policy(1, hours * HOUR, f"hedge_every_{hours:g}h")


def fixed_band(fraction: float) -> Callable:
    """Keep |vault delta| x spot within `fraction` x NAV: outside it, trade back to the band's edge."""
    if not (math.isfinite(fraction) and fraction >= 0):
        raise ValueError(f"fixed_band needs a fraction of NAV >= 0, got {fraction}")
    return _static_policy(2, fraction, f"fixed_band_{fraction:g}")


class StrategyUnavailable(ValueError):
    """A strategy that cannot run in this tree (the dynamic allocator before it merges)."""


STRATEGY_HELP = "no_hedge, hedge_every:HOURS, fixed_band:FRACTION_OF_NAV, dynamic"


def resolve_strategy(spec: str):
    """'no_hedge' | 'hedge_every:4' | 'fixed_band:0.01' | 'dynamic' -> (name, policy, cfg).

    Static strategies get a default StaticConfig (the runner fills in the market's vol and the
    step); `dynamic` gets the allocator's default config (the runner tells it the step)."""
    spec = spec.strip()
    name, _, arg = spec.partition(":")

    def number(kind):
        try:
            v = float(arg)
        except ValueError:
            raise ValueError(f"strategy {spec!r}: {kind} must be a number") from None
        if not math.isfinite(v):
            raise ValueError(f"strategy {spec!r}: {kind} must be finite")
        return v

    if name == "no_hedge" and not arg:
        return spec, no_hedge, StaticConfig()
    if name == "hedge_every" and arg:
        return spec, hedge_every(number("hours")), StaticConfig()
    if name == "fixed_band" and arg:
        return spec, fixed_band(number("the band")), StaticConfig()
    if name == "dynamic" and not arg:
        allocate, cfg = _dynamic_allocator()
        return spec, allocate, cfg
    raise ValueError(f"unknown strategy {spec!r} (choose from {STRATEGY_HELP})")


def _dynamic_allocator():
    """keeper.allocator.allocate and its default config, if the allocator is in this tree."""
    import importlib

    try:
        allocator = importlib.import_module("keeper.allocator")
    except ModuleNotFoundError as err:
        if err.name in ("keeper.allocator",):
            raise StrategyUnavailable(
                "strategy dynamic is unavailable: keeper.allocator is not in this tree (the dynamic allocator has "
                "not been merged yet)"
            ) from None
        raise StrategyUnavailable(f"strategy dynamic is unavailable: keeper.allocator needs {err.name}") from None
    if not hasattr(allocator, "allocate"):
        raise StrategyUnavailable("strategy dynamic is unavailable: keeper.allocator has no allocate()")
    for maker in ("default_config", "AllocatorConfig", "Config"):
        if callable(getattr(allocator, maker, None)):
            return allocator.allocate, getattr(allocator, maker)()
    return allocator.allocate, getattr(allocator, "DEFAULT_CONFIG", None)


# ====================================================================== the runner


def _fit_policy_cfg(cfg, step_s: int, params: Params, sim_cfg: SimConfig):
    """Tell a policy config (the allocator's) the facts of this simulation it has fields for:
    the time between vol posts (one step), the vol accrual cap and the gas of one rebalance."""
    from dataclasses import is_dataclass

    if not is_dataclass(cfg):
        return cfg
    have = {f.name for f in fields(cfg)}
    facts = {
        "vol_post_interval_s": float(step_s),
        "vol_accrual_cap_s": float(params.vol_accrual_cap),
        "gas_per_trade": float(sim_cfg.gas["rebalance"]),
    }
    return replace(cfg, **{k: v for k, v in facts.items() if k in have})


def run_backtest(
    model: str,
    strategies: list[str],
    n_paths: int,
    days: int,
    step_minutes: int,
    seed: int,
    market_cfg: MarketConfig | None = None,
    sim_cfg: SimConfig | None = None,
    params: Params | None = None,
    csv: str | Path | None = None,
    static_cfg: StaticConfig | None = None,
    progress: Callable[[str, int], None] | None = None,
    audit: bool = False,
) -> dict[str, StrategyResult]:
    """Run every strategy on the same `n_paths` paths; returns {strategy spec: StrategyResult}.

    Paths are simulated in batches of at most `sim_cfg.max_batch_elements`
    path-steps (memory); each batch draws from its own child of
    SeedSequence(seed), so a run is a function of its arguments.
    `progress(strategy, k)` hears of k path-steps done."""
    params = params or Params.from_constants()
    market_cfg = market_cfg or MarketConfig()
    sim_cfg = sim_cfg or SimConfig()
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r} (choose from {', '.join(MODELS)})")
    _check_positive_int("paths", n_paths)
    step_s, spd, steps = _grid(days, step_minutes)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    check_sim_config(sim_cfg, params)
    if not strategies:
        raise ValueError("name at least one strategy")
    resolved = [resolve_strategy(s) for s in strategies]
    names = [r[0] for r in resolved]
    if len(set(names)) != len(names):
        raise ValueError("a strategy is named twice")
    if model == "csv" and csv is None:
        raise ValueError("model csv needs --csv FILE")
    fit_seq, batch_root = np.random.SeedSequence(seed).spawn(2)
    fit = None
    if model == "garch":
        fit = fit_garch(garch_history(market_cfg, step_s, np.random.default_rng(fit_seq), csv), step_s)
    batch = max(1, min(n_paths, sim_cfg.max_batch_elements // (steps + 1)))
    n_batches = math.ceil(n_paths / batch)
    parts: dict[str, list[StrategyResult]] = {name: [] for name in names}
    full_csv = None
    for b, bseq in enumerate(batch_root.spawn(n_batches)):
        lo, hi = b * batch, min(n_paths, (b + 1) * batch)
        mseq, sseq = bseq.spawn(2)
        if model == "csv":
            if full_csv is None:
                full_csv = make_market("csv", n_paths, days, step_minutes, mseq, market_cfg, params, csv=csv)
            market = full_csv.slice(lo, hi)
        else:
            market = make_market(model, hi - lo, days, step_minutes, mseq, market_cfg, params, csv=csv, garch_fit=fit)
        sim = Simulator(market, params, sim_cfg, sseq)
        for name, policy, pcfg in resolved:
            if isinstance(pcfg, StaticConfig):
                base = static_cfg or pcfg
                pcfg = replace(base, vol=market.nominal_vol if base.vol is None else base.vol, step_seconds=step_s)
            else:
                pcfg = _fit_policy_cfg(pcfg, step_s, params, sim_cfg)
            cb = (lambda k, _n=name: progress(_n, k)) if progress else None
            parts[name].append(sim.run(name, policy, pcfg, progress=cb, audit=audit))
    return {name: StrategyResult.concat(parts[name]) for name in names}
