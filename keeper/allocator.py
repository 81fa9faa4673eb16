"""Dynamic risk allocation: the keeper's one decision function.

    allocate(state: BookState, params, cfg: AllocatorConfig) -> PolicyOutput

Pure and deterministic (no I/O, no clock, no randomness), vectorised over
the N rows of `state` (N paths in the backtest, N = 1 live): inputs are
checked with numpy, then one numba kernel (compiled once, cached on disk)
runs the formulas below row by row in a single pass, ~0.1 us per row against
~0.7 us for the same formulas as numpy array expressions (measured: 10,000
rows in ~1.2 ms vs ~7 ms). Row i of the output depends on row i of the input
alone, so N rows give exactly what N single-row calls give (tested bit for
bit). `params` is any object with the attribute names of `keeper.params.Params`
in human units (fractions as floats, `budget_rate` per hour, `max_vol_rate`
per second, `hedge_cooldown` in seconds, `GRID` the 16 stress shocks as
fractions).

`decide(state_row, params, cfg, series=None, quotes=None) -> Decision` runs
`allocate` on one row and adds what the live bot sends: the vol to post per
series, the budget to post (wad), the hedge trade as `Hedger.rebalance`
arguments (`hedge_order`, the one home of that conversion), and for each
part a sentence naming the numbers that caused it.

Formulas (units: USD, ETH, years unless noted; `d = hedge_eth -
option_delta_eth` is the vault's delta, the book being short the options)
--------------------------------------------------------------------------
Vol regime
    rv      = w rv_short + (1 - w) rv_long                  (w = cfg.rv_weight_short)
    vol_est = max(rv, params.vol_floor)
    shift   = max(rv_short / implied_vol, rv_short / rv_long)   (1 = no regime change)
    excess  = max(0, shift / (1 + cfg.shift_tolerance) - 1)
Vols to post
    atm_model = clip(rv + cfg.vol_premium + cfg.regime_premium excess, vol_floor, vol_cap)
    atm_vol   = atm_model moved at most step = max_vol_rate x min(elapsed, cfg.vol_accrual_cap_s)
                from the posted vol (elapsed = cfg.vol_post_interval_s in `allocate`;
                the series' own post time in `decide`), and kept in [vol_floor, vol_cap]
                whenever the step allows it.
    Per series: `vol_for_strike` (skew in standardised moneyness) or, given a
    quotes file, the SVI fit per expiry (total variance interpolated in time).
Budgets (each a fraction of the owner's full limits; the chain scales every
sale limit and the delta band by the posted budget)
    vol targeting   b_vol    = target_vol / vol_est
    CPPI cushion    b_cppi   = m (NAV - F) / NAV, F = floor_fraction x nav_per_share_hwm x shares,
                               i.e. b_cppi = m (1 - floor_fraction x hwm / nav_per_share)
    jump stress     L        = max(stress_margin, max_j loss(xi_j)), over the jumps +-cfg.jump and
                               the GRID shocks within them, with the Taylor loss of the short book
                               loss(xi) = -d S xi + G (S xi)^2 / 2 + V cfg.jump_vol_shock |xi| / cfg.jump
                               (the on-chain grid prices payoffs only; this adds time value and a vol
                               spike); rho = (L + eps NAV) / (stress_margin + eps NAV) >= 1;
                               b_stress = max_stress_loss / (max_utilisation rho): at the on-chain
                               stress limit the jump loss stays <= max_stress_loss x NAV.
    vol regime      b_gamma  = 1 / (1 + excess)          (the gamma budget)
    liquidity       b_vega   = min(depth / (depth_nav_ref NAV), depth / depth_ref_usd)   (the vega budget)
    budget_target = clip(min(all five), params.budget_floor, 1); = budget_floor at level > 0.
Delta target (trend regime)
    z = (trend + trend_accel x accel_horizon_days) / vol_est
    lean = sign(z) max_lean clip((|z| - trend_z_min) / (trend_z_full - trend_z_min), 0, 1)
    target = lean x B, B = params.delta_band x min(budget, budget_target) x NAV / S (on-chain band,
    ETH); 0 at level > 0.
No-trade band (Whalley & Wilmott 1997, "An asymptotic analysis of an optimal
hedging model for option pricing with transaction costs", Math. Finance 7(3))
    h_ww = (3/2 exp(-r T) lambda S Gamma^2 / gamma)^(1/3)    [ETH]
    lambda = pool_fee + Q_typ / (2 depth) x 1 % + gas_usd / Q_typ,  Q_typ = typical_trade_nav x NAV
             (linear-in-size impact: `pool_depth` USD moves the pool 1 %, the average fill is half that)
    gamma  = cfg.risk_aversion / NAV   (1/USD: relative risk aversion, so the band scales with NAV)
    Gamma  = |gamma_eth_per_usd| (ETH^2/USD, the change of delta in ETH per USD of spot)
    r, T   = cfg.rate, cfg.band_horizon_s
    h = min(max(h_ww x mult, h_gas, min_band_nav NAV / S), B - |target|)
        mult = clip(exp(-accel_band_sens x s), band_mult_min, band_mult_max), s = trend_accel x
        accel_horizon_days x sign(trend) / vol_est (narrow when the trend strengthens, wide when it fades);
        h_gas = gas_usd / (max_gas_share S): a band any narrower makes trades whose gas is too dear.
Trade (outside the band), the convex problem
    min_x  lambda S |x| + S^2 x^2 / (2 depth) x 1 %  +  k/2 (d + x - target)^2,   k = lambda S / h
    (linear cost as in WW, the convex growth of price impact with size, and a risk penalty whose
    marginal equals the marginal cost exactly at the band edge, so with no impact the optimum is
    WW's "trade to the edge"). Closed form (soft threshold):
        x* = sign(e) max(|e| - h, 0) lambda / (lambda + 2 S h impact_per_usd),   e = target - d
    then projected onto the feasible interval [lo, hi] (exact for a convex function of one variable;
    tests/keeper/test_allocator.py checks it against scipy.optimize.minimize_scalar). [lo, hi] holds
    every on-chain rule (SPEC.md "Hedging"), with buys' output taken at its worst in both directions
    (a pool price up to max_deviation better than the oracle, or max_slippage worse):
        level 0: sells keep d + x >= -B, buys keep d + x/(1 - max_deviation) <= B (B with the
                 budget min(on-chain, posted), as SPEC.md scales the band; Hedger.vy on this
                 branch checks the unscaled band, which B never exceeds)
        level 1 (reduce-only): toward zero, never across it; level 2: sells toward zero only;
        level 3: nothing; oracle stale or pool off the oracle by > deviation_use x max_deviation:
        nothing; cooldown_left > 0: nothing;
        |x| S <= cap_margin min(hedge_room_usd, max_trade NAV); sells <= hedge held; buys <= cash,
        and none while a settlement need is open; fee + pool/oracle gap + impact(|x| S) <= slippage_use x
        max_slippage (the size cap from pool depth, so min_out is reachable).
    settle_need > 0: sell max(band trade, settle_need (1 + settle_buffer) / S) first
    (SETTLEMENT_CASH); at level 2 any sale of the hedge is allowed, as on-chain.
    Trades below max(min_trade_usd, gas_usd / max_gas_share) are dropped (TOO_SMALL).
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, fields
from typing import Any, NamedTuple, Sequence

import numpy as np
from numba import njit

from keeper.policy import (
    BLOCKED_CAPS,
    BLOCKED_COOLDOWN,
    BLOCKED_DEVIATION,
    BLOCKED_LEVEL,
    NO_TRADE_IN_BAND,
    REASONS,
    SETTLEMENT_CASH,
    TOO_SMALL,
    TRADE_TO_BAND,
    TRADE_TO_TARGET,
    BookState,
    PolicyOutput,
)
from keeper.vol import SECONDS_PER_YEAR, SviFit, fit_svi

__all__ = [
    "AllocatorConfig", "allocate", "decide", "Decision", "VolPost", "HedgeOrder", "hedge_order",
    "vol_for_strike", "QuoteSurface", "load_quotes", "fit_quotes",
]

WAD = 10**18
PCT = 0.01          # pool_depth is the USD that moves the pool 1 %
_ROUND_MARGIN = 1e-9  # sells stay this fraction below the hedge held (float -> wei rounding)
_HALF_PCT = 0.5 * PCT  # average fill impact = half the final price move


# ---------------------------------------------------------------- configuration


@dataclass(frozen=True)
class AllocatorConfig:
    """Every knob of the allocator: unit, default, inclusive bounds [lo, hi].

    Volatility and the vols posted
      target_vol          annualised vol the budget aims at (vol targeting); 0.60; [0.05, 3]
      rv_weight_short     weight of rv_short in the realised-vol blend; 0.5; [0, 1]
      vol_premium         vol points added to the blend (0.05 = 5 points); 0.05; [0, 1]
      regime_premium      vol points per unit of regime excess (shift above tolerance); 0.10; [0, 2]
      shift_tolerance     fraction rv_short may exceed implied / rv_long before it counts; 0.10; [0, 2]
      vol_post_interval_s seconds since the last vol post assumed by `allocate` (the rate limit;
                          `decide` uses each series' own post time when given); 3600; [0, 86400]
      vol_accrual_cap_s   seconds of rate accrual at most (mirrors constants.VOL_ACCRUAL_CAP); 900; [1, 86400]
      skew_slope          relative vol change per standard deviation of moneyness (negative: puts
                          dearer); -0.04; [-1, 1]
      skew_curvature      relative vol change per squared standard deviation (smile); 0.02; [0, 1]
      skew_m_max          standardised moneyness clipped to +-this; 3.0; [0.1, 10]
    Budgets
      cushion_multiplier  CPPI multiplier m (budget <= m x cushion / NAV); 5.0; [0.5, 20]
      floor_fraction      CPPI floor as a fraction of the NAV-per-share high-water mark; 0.8; [0, 0.999]
                          (defaults: full budget at the high-water mark, 0.56 at -10 %, 0 at -20 %)
      max_stress_loss     jump loss allowed at the on-chain stress limit, fraction of NAV; 0.5; [0.01, 1]
      jump                size of the +- jump scenarios, fraction of spot; 0.30; [0.01, 0.9]
      jump_vol_shock      vol points added in a jump of size `jump` (linear in |shock|); 0.25; [0, 2]
      stress_eps_nav      regulariser of the stress ratio, fraction of NAV; 0.01; [1e-6, 1]
      depth_nav_ref       pool depth (USD per 1 % move) / NAV giving the full vega budget; 0.2; [1e-4, 100]
      depth_ref_usd       reference pool depth in USD (a calm-market level); 0 = off; [0, 1e15]
    Hedge band and trade
      risk_aversion       relative risk aversion: gamma = risk_aversion / NAV (1/USD) in the WW band;
                          1e5; [1e-3, 1e12]
      rate                continuously compounded rate per year, WW's exp(-rT); 0.0; [-0.05, 0.2]
      band_horizon_s      T in WW's exp(-rT), seconds; 30 days; [0, 365 days]
      typical_trade_nav   typical hedge trade as a fraction of NAV (prices impact and gas per trade
                          into lambda); 0.02; [1e-5, 1]
      gas_per_trade       gas units of one rebalance (benchmarks/RESULTS.md: ~334k); 335000; [21000, 5e6]
      max_gas_share       gas may be at most this fraction of a trade's notional; 0.01; [1e-4, 1]
      min_band_nav        narrowest band in delta dollars, fraction of NAV; 0.0005; [0, 0.2]
      min_trade_usd       smallest trade at all, USD; 1.0; [0, 1e9]
      max_lean            largest delta target, fraction of the on-chain band; 0.5; [0, 0.9]
      trend_z_min         |drift / vol| below which there is no lean; 0.5; [0, 20]
      trend_z_full        |drift / vol| giving the full lean; 2.0; (trend_z_min, 50]
      accel_horizon_days  days of trend_accel projected onto the drift; 7; [0, 365]
      accel_band_sens     band narrowing per unit of trend strengthening; 0.5; [0, 10]
      band_mult_min       narrowest band multiplier; 0.5; [0.05, 1]
      band_mult_max       widest band multiplier; 1.5; [1, 10]
      deviation_use       trade only if |pool / oracle - 1| <= this x max_deviation; 0.9; [0.01, 1]
      slippage_use        fee + gap + impact may use this fraction of max_slippage; 0.8; [0.01, 1]
      slippage_buffer     min_out allowance beyond the expected cost, fraction; 0.001; [0, 0.03]
      cap_margin          fraction of the notional room actually used; 0.98; [0.01, 1]
      settle_buffer       extra fraction sold when raising settlement cash; 0.02; [0, 0.5]
      deadline_s          rebalance deadline = now + this, seconds; 300; [12, 3600]
    """

    target_vol: float = 0.60
    rv_weight_short: float = 0.5
    vol_premium: float = 0.05
    regime_premium: float = 0.10
    shift_tolerance: float = 0.10
    vol_post_interval_s: float = 3_600.0
    vol_accrual_cap_s: float = 900.0
    skew_slope: float = -0.04
    skew_curvature: float = 0.02
    skew_m_max: float = 3.0
    cushion_multiplier: float = 5.0
    floor_fraction: float = 0.8
    max_stress_loss: float = 0.5
    jump: float = 0.30
    jump_vol_shock: float = 0.25
    stress_eps_nav: float = 0.01
    depth_nav_ref: float = 0.2
    depth_ref_usd: float = 0.0
    risk_aversion: float = 1e5
    rate: float = 0.0
    band_horizon_s: float = 30 * 86_400.0
    typical_trade_nav: float = 0.02
    gas_per_trade: float = 335_000.0
    max_gas_share: float = 0.01
    min_band_nav: float = 0.0005
    min_trade_usd: float = 1.0
    max_lean: float = 0.5
    trend_z_min: float = 0.5
    trend_z_full: float = 2.0
    accel_horizon_days: float = 7.0
    accel_band_sens: float = 0.5
    band_mult_min: float = 0.5
    band_mult_max: float = 1.5
    deviation_use: float = 0.9
    slippage_use: float = 0.8
    slippage_buffer: float = 0.001
    cap_margin: float = 0.98
    settle_buffer: float = 0.02
    deadline_s: int = 300

    # (lo, hi) per field; a plain class attribute (no annotation), not a field
    _BOUNDS = {
        "target_vol": (0.05, 3.0), "rv_weight_short": (0.0, 1.0), "vol_premium": (0.0, 1.0),
        "regime_premium": (0.0, 2.0), "shift_tolerance": (0.0, 2.0), "vol_post_interval_s": (0.0, 86_400.0),
        "vol_accrual_cap_s": (1.0, 86_400.0), "skew_slope": (-1.0, 1.0), "skew_curvature": (0.0, 1.0),
        "skew_m_max": (0.1, 10.0), "cushion_multiplier": (0.5, 20.0), "floor_fraction": (0.0, 0.999),
        "max_stress_loss": (0.01, 1.0), "jump": (0.01, 0.9), "jump_vol_shock": (0.0, 2.0),
        "stress_eps_nav": (1e-6, 1.0), "depth_nav_ref": (1e-4, 100.0), "depth_ref_usd": (0.0, 1e15),
        "risk_aversion": (1e-3, 1e12), "rate": (-0.05, 0.2), "band_horizon_s": (0.0, 365 * 86_400.0),
        "typical_trade_nav": (1e-5, 1.0), "gas_per_trade": (21_000.0, 5e6), "max_gas_share": (1e-4, 1.0),
        "min_band_nav": (0.0, 0.2), "min_trade_usd": (0.0, 1e9), "max_lean": (0.0, 0.9),
        "trend_z_min": (0.0, 20.0), "trend_z_full": (0.0, 50.0), "accel_horizon_days": (0.0, 365.0),
        "accel_band_sens": (0.0, 10.0), "band_mult_min": (0.05, 1.0), "band_mult_max": (1.0, 10.0),
        "deviation_use": (0.01, 1.0), "slippage_use": (0.01, 1.0), "slippage_buffer": (0.0, 0.03),
        "cap_margin": (0.01, 1.0), "settle_buffer": (0.0, 0.5), "deadline_s": (12, 3_600),
    }

    def __post_init__(self):
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError(f"AllocatorConfig.{f.name} must be a number, got {v!r}")
            if not math.isfinite(v):
                raise ValueError(f"AllocatorConfig.{f.name} must be finite, got {v!r}")
            lo, hi = self._BOUNDS[f.name]
            if not lo <= v <= hi:
                raise ValueError(f"AllocatorConfig.{f.name} = {v!r} is outside [{lo}, {hi}]")
        if self.deadline_s != int(self.deadline_s):
            raise ValueError(f"AllocatorConfig.deadline_s must be whole seconds, got {self.deadline_s!r}")
        if not self.trend_z_full > self.trend_z_min:
            raise ValueError(
                f"AllocatorConfig.trend_z_full ({self.trend_z_full}) must exceed trend_z_min ({self.trend_z_min})"
            )


# ---------------------------------------------------------------- inputs

# (field, rule) for BookState; every float field must also be finite.
_STATE_RULES = (
    ("t", "any"), ("spot", "pos"), ("oracle_fresh", "bool"), ("pool_price", "nonneg"),
    ("pool_depth", "nonneg"), ("pool_fee", "fee"), ("nav", "nonneg"), ("nav_per_share", "pos"),
    ("nav_per_share_hwm", "pos"), ("cash", "nonneg"), ("hedge_eth", "nonneg"), ("option_delta_eth", "any"),
    ("gamma_eth_per_usd", "any"), ("vega_usd", "any"), ("stress_margin", "nonneg"), ("settle_need", "nonneg"),
    ("implied_vol", "pos"), ("rv_short", "nonneg"), ("rv_long", "nonneg"), ("trend", "any"),
    ("trend_accel", "any"), ("level", "level"), ("budget", "unit"), ("hedge_room_usd", "nonneg"),
    ("cooldown_left", "nonneg"), ("gas_price_gwei", "nonneg"),
)
_RULE_TEXT = {
    "pos": "finite and > 0", "nonneg": "finite and >= 0", "any": "finite", "fee": "finite and in [0, 1)",
    "unit": "finite and in [0, 1]", "level": "an integer 0..3", "bool": "boolean (or 0/1)",
}

_PARAM_NAMES = (
    "max_utilisation", "max_vega_ratio", "max_gamma_ratio", "delta_band", "budget_floor", "budget_rate",
    "max_slippage", "max_trade", "max_deviation", "max_hourly_notional", "max_daily_notional",
    "hedge_cooldown", "vol_floor", "vol_cap", "max_vol_rate",
)


def _rows_with(rule):
    return np.array([j for j, (_, r) in enumerate(_STATE_RULES) if r == rule], dtype=np.intp)


_BY_RULE = {rule: _rows_with(rule) for rule in _RULE_TEXT}


def _state_arrays(state: BookState) -> dict:
    """The state's fields as contiguous float arrays of one shape (N,), or ValueError naming the field
    (the first failing field in BookState order, and its first failing row)."""
    n = None
    cols = []
    for name, _ in _STATE_RULES:
        try:
            raw = getattr(state, name)
        except AttributeError:
            raise ValueError(f"state.{name} is missing") from None
        try:
            a = np.asarray(raw, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"state.{name} must be numeric") from None
        if a.ndim != 1:
            raise ValueError(f"state.{name} must have shape (N,), got {a.shape}")
        if n is None:
            n = a.shape[0]
        elif a.shape[0] != n:
            raise ValueError(f"state.{name} has {a.shape[0]} rows, state.t has {n}")
        cols.append(a)
    m = np.stack(cols)                      # (fields, N); row j is field j, contiguous
    ok = np.isfinite(m)                     # NaN fails every rule below as well
    with np.errstate(invalid="ignore"):
        r = _BY_RULE
        ok[r["pos"]] &= m[r["pos"]] > 0
        ok[r["nonneg"]] &= m[r["nonneg"]] >= 0
        ok[r["fee"]] &= (m[r["fee"]] >= 0) & (m[r["fee"]] < 1)
        ok[r["unit"]] &= (m[r["unit"]] >= 0) & (m[r["unit"]] <= 1)
        for rule in ("bool", "level"):
            v = m[r[rule]]
            good = (v == 0) | (v == 1) if rule == "bool" else (v == np.round(v)) & (v >= 0) & (v <= 3)
            ok[r[rule]] = good
    if not ok.all():
        j = int(np.flatnonzero(~ok.all(axis=1))[0])
        i = int(np.flatnonzero(~ok[j])[0])
        name, rule = _STATE_RULES[j]
        raise ValueError(f"state.{name} must be {_RULE_TEXT[rule]} (row {i}: {m[j, i]!r})")
    return {name: m[j] for j, (name, _) in enumerate(_STATE_RULES)}


def _params(params) -> dict:
    p = {}
    for name in _PARAM_NAMES:
        try:
            v = float(getattr(params, name))
        except AttributeError:
            raise ValueError(f"params.{name} is missing") from None
        except (TypeError, ValueError):
            raise ValueError(f"params.{name} must be a number") from None
        if not (math.isfinite(v) and v >= 0):
            raise ValueError(f"params.{name} must be finite and >= 0, got {v!r}")
        p[name] = v
    try:
        grid = np.asarray(getattr(params, "GRID"), dtype=float)
    except AttributeError:
        raise ValueError("params.GRID is missing") from None
    if grid.ndim != 1 or not np.all(np.isfinite(grid)) or np.any(np.abs(grid) > 10):
        raise ValueError("params.GRID must be a finite 1-D array of spot shocks as fractions (e.g. -0.25)")
    p["GRID"] = grid
    if not 0 < p["vol_floor"] <= p["vol_cap"]:
        raise ValueError("params.vol_floor must be > 0 and <= params.vol_cap")
    if not 0 < p["budget_floor"] <= 1:
        raise ValueError("params.budget_floor must be in (0, 1]")
    if not p["max_deviation"] < 1 or not p["max_slippage"] < 1:
        raise ValueError("params.max_deviation and params.max_slippage must be < 1")
    return p


# ---------------------------------------------------------------- skew


def vol_for_strike(atm_vol, strike, spot, tau, skew_cfg=None):
    """Vol for a strike from the ATM vol and a skew (vectorised, broadcasting).

    m = clip(ln(K / S) / (atm_vol sqrt(tau)), -m_max, m_max)      (standard deviations)
    vol = atm_vol (1 + skew_slope m + skew_curvature m^2)
    `tau` in years; tau <= 0 gives atm_vol. `skew_cfg` is any object with
    `skew_slope`, `skew_curvature`, `skew_m_max` (an AllocatorConfig; default
    AllocatorConfig()). Not clipped to the vol bounds: the caller does that.
    """
    cfg = skew_cfg if skew_cfg is not None else AllocatorConfig()
    atm = np.asarray(atm_vol, dtype=float)
    K = np.asarray(strike, dtype=float)
    S = np.asarray(spot, dtype=float)
    T = np.asarray(tau, dtype=float)
    for name, a in (("atm_vol", atm), ("strike", K), ("spot", S)):
        if not np.all(np.isfinite(a) & (a > 0)):
            raise ValueError(f"{name} must be finite and > 0")
    if not np.all(np.isfinite(T)):
        raise ValueError("tau must be finite")
    live = T > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.log(K / S) / (atm * np.sqrt(np.where(live, T, 1.0)))
    m = np.clip(m, -cfg.skew_m_max, cfg.skew_m_max)
    # slope <= 1 and curvature >= 0 keep the factor > 0 for |m| <= 1; beyond, floor it
    factor = np.maximum(1.0 + cfg.skew_slope * m + cfg.skew_curvature * m * m, 0.05)
    return np.where(live, atm * factor, atm)


# ---------------------------------------------------------------- the allocator


def allocate(state: BookState, params, cfg: AllocatorConfig | None = None) -> PolicyOutput:
    """Budget, ATM vol, delta target, band and hedge trade for each of the N rows.

    Raises ValueError naming the field for any NaN/inf or out-of-domain input
    (spot <= 0, nav < 0, level not 0..3, ...): never a trade from bad data.
    """
    return _allocate(state, params, cfg if cfg is not None else AllocatorConfig(), detail=False)[0]


def _allocate(state: BookState, params, cfg: AllocatorConfig, detail: bool = True):
    """allocate() and, if `detail`, a dict of the intermediate arrays (for decide's reasons and reports)."""
    if not isinstance(cfg, AllocatorConfig):
        raise ValueError("cfg must be an AllocatorConfig")
    s = _state_arrays(state)
    p = _params(params)
    n = s["spot"].shape[0]
    shocks = _jump_shocks(p["GRID"], cfg.jump)
    pv = np.array([p[k] for k in _KP], dtype=np.float64)
    derived = {"vol_step": _vol_step(p, cfg, cfg.vol_post_interval_s),
               "disc": math.exp(-cfg.rate * cfg.band_horizon_s / SECONDS_PER_YEAR)}
    cv = np.array([derived[k] if k in derived else float(getattr(cfg, k)) for k in _KC], dtype=np.float64)
    budget, atm, target, band, trade = (np.empty(n) for _ in range(5))
    reason = np.empty(n, dtype=np.int64)
    det = np.empty((n if detail else 0, len(DETAIL)))
    _kernel(*(s[name] for name, _ in _STATE_RULES), pv, cv, shocks,
            budget, atm, target, band, trade, reason, det)
    out = PolicyOutput(budget_target=budget, atm_vol=atm, delta_target_eth=target, band_eth=band,
                       trade_eth=trade, reason=reason)
    return out, ({name: det[:, j] for j, name in enumerate(DETAIL)} if detail else None)


# scalars handed to the kernel, in this order
_KP = ("max_utilisation", "delta_band", "budget_floor", "max_slippage", "max_trade", "max_deviation",
       "vol_floor", "vol_cap")
_KC = ("rv_weight_short", "vol_premium", "regime_premium", "shift_tolerance", "vol_step", "target_vol",
       "cushion_multiplier", "floor_fraction", "max_stress_loss", "jump", "jump_vol_shock", "stress_eps_nav",
       "depth_nav_ref", "depth_ref_usd", "risk_aversion", "disc", "typical_trade_nav", "gas_per_trade",
       "max_gas_share", "min_band_nav", "min_trade_usd", "max_lean", "trend_z_min", "trend_z_full",
       "accel_horizon_days", "accel_band_sens", "band_mult_min", "band_mult_max", "deviation_use",
       "slippage_use", "cap_margin", "settle_buffer")
# intermediate values per row: column j of the kernel's `det` (its assignments follow this order)
DETAIL = ("rv", "vol_est", "shift", "excess", "premium", "atm_model", "vol_step",
          "b_vol", "floor_frac", "cushion", "b_cppi", "d", "jump_loss", "stress", "rho", "b_stress",
          "b_gamma", "liq", "b_vega", "b_raw", "b_eff", "B", "z", "lean",
          "gas_usd", "q_typ", "fee", "ipu", "lam", "h_ww", "mult", "h_gas", "h_min", "h_room",
          "x_band", "x_star", "need_eth", "settling", "lo_lvl", "hi_lvl", "gap", "dev_ok", "cap_usd",
          "q_buy", "q_sell", "lo", "hi", "min_trade", "cost")


@njit(inline="always")
def _sign(v):
    return 1.0 if v > 0.0 else (-1.0 if v < 0.0 else 0.0)


@njit(cache=True, nogil=True, error_model="numpy")
def _kernel(t, spot, fresh, pool_price, depth_a, fee_a, nav_a, nps, hwm, cash, hedge_a, odelta, gamma, vega,
            margin, settle, iv_a, rvs_a, rvl_a, trend, accel, level_a, budget_a, room, cool, gwei,
            pv, cv, shocks, o_budget, o_atm, o_target, o_band, o_trade, o_reason, det):
    (max_util, delta_band, budget_floor, max_slip, max_trade, max_dev, vol_floor, vol_cap) = (
        pv[0], pv[1], pv[2], pv[3], pv[4], pv[5], pv[6], pv[7])
    (w_short, vol_premium, regime_premium, shift_tol, vol_step, target_vol, cushion_m, floor_fraction,
     max_stress_loss, jump, jump_vol_shock, stress_eps, depth_nav_ref, depth_ref_usd, risk_aversion, disc,
     typical_trade_nav, gas_per_trade, max_gas_share, min_band_nav, min_trade_usd, max_lean, z_min, z_full,
     accel_days, accel_sens, mult_min, mult_max, deviation_use, slippage_use, cap_margin, settle_buffer) = (
        cv[0], cv[1], cv[2], cv[3], cv[4], cv[5], cv[6], cv[7], cv[8], cv[9], cv[10], cv[11], cv[12], cv[13],
        cv[14], cv[15], cv[16], cv[17], cv[18], cv[19], cv[20], cv[21], cv[22], cv[23], cv[24], cv[25],
        cv[26], cv[27], cv[28], cv[29], cv[30], cv[31])
    rho_up = 1.0 / (1.0 - max_dev)
    for i in range(spot.shape[0]):
        S = spot[i]
        nav = nav_a[i]
        level = int(level_a[i])
        live = nav > 0.0
        nav_s = nav if live else 1.0

        # -- vol regime and the ATM vol to post
        rvs, rvl, iv = rvs_a[i], rvl_a[i], iv_a[i]
        rv = w_short * rvs + (1.0 - w_short) * rvl
        vol_est = max(rv, vol_floor)
        shift = rvs / iv
        if rvl > 0.0:
            shift = max(shift, rvs / rvl)
        excess = max(shift / (1.0 + shift_tol) - 1.0, 0.0)
        premium = vol_premium + regime_premium * excess
        atm_model = min(max(rv + premium, vol_floor), vol_cap)
        vlo = max(iv - vol_step, vol_floor)
        vhi = min(iv + vol_step, vol_cap)
        if vlo <= vhi:
            atm = min(max(atm_model, vlo), vhi)
        else:  # the posted vol is so far outside the bounds that one step cannot reach them
            atm = min(max(atm_model, iv - vol_step), iv + vol_step)

        # -- budgets
        b_vol = min(target_vol / vol_est, 1.0)
        floor_frac = floor_fraction * hwm[i] / nps[i]
        cushion = 1.0 - floor_frac
        b_cppi = min(max(cushion_m * cushion, 0.0), 1.0)
        d = hedge_a[i] - odelta[i]
        G = gamma[i]
        M = margin[i]
        kv = vega[i] * jump_vol_shock / jump
        jump_loss = -np.inf
        for j in range(shocks.shape[0]):
            xi = shocks[j]
            mv = S * xi
            lj = -d * mv + 0.5 * G * mv * mv + kv * abs(xi)
            jump_loss = max(jump_loss, lj)
        stress = max(max(M, jump_loss), 0.0)
        eps = stress_eps * nav_s
        rho = (stress + eps) / (M + eps)
        b_stress = min(max_stress_loss / (max_util * rho), 1.0) if max_util > 0.0 else 1.0
        b_gamma = 1.0 / (1.0 + excess)
        depth = depth_a[i]
        liq = depth / (depth_nav_ref * nav_s)
        if depth_ref_usd > 0.0:
            liq = min(liq, depth / depth_ref_usd)
        b_vega = min(liq, 1.0)
        b_raw = min(min(min(b_vol, b_cppi), min(b_stress, b_gamma)), b_vega)
        b_target = min(max(b_raw, budget_floor), 1.0)
        if level > 0 or not live:
            b_target = budget_floor

        # -- on-chain band and the delta target
        b_eff = min(budget_a[i], b_target)
        B = delta_band * b_eff * nav / S
        z = (trend[i] + accel[i] * accel_days) / vol_est
        strength = min(max((abs(z) - z_min) / (z_full - z_min), 0.0), 1.0)
        lean = _sign(z) * max_lean * strength if level == 0 else 0.0
        target = lean * B

        # -- costs and the Whalley-Wilmott band
        gas_usd = gwei[i] * 1e-9 * gas_per_trade * S
        q_typ = typical_trade_nav * nav_s
        fee = fee_a[i]
        ipu = _HALF_PCT / max(depth, 1e-12)     # average fill impact per USD traded
        lam = fee + ipu * q_typ + gas_usd / q_typ
        h_ww = np.cbrt(1.5 * disc * lam * S * G * G * nav_s / risk_aversion)
        accel_s = accel[i] * accel_days * _sign(trend[i]) / vol_est
        mult = min(max(math.exp(-accel_sens * accel_s), mult_min), mult_max)
        h_gas = gas_usd / (max_gas_share * S)
        h_min = max(h_gas, min_band_nav * nav / S)
        h_room = max(B - abs(target), 0.0)
        band = min(max(h_ww * mult, h_min), h_room)

        # -- the trade: unconstrained optimum (soft threshold) ...
        e = target - d
        x_band = 0.0
        if abs(e) > band:
            shrink = lam / (lam + 2.0 * S * band * ipu) if band > 0.0 else 1.0
            x_band = _sign(e) * (abs(e) - band) * shrink
        hedge = hedge_a[i]
        need_eth = settle[i] * (1.0 + settle_buffer) / S
        settling = settle[i] > 0.0 and hedge > 0.0
        x_star = min(min(x_band, 0.0), -need_eth) if settling else x_band
        settle_binding = settling and x_star < x_band

        # ... projected onto what the chain accepts
        if level == 0:
            lo_lvl = -max(B + d, 0.0)
            hi_lvl = max(B - d, 0.0) / rho_up
        elif level == 1:
            lo_lvl = -max(d, 0.0)
            hi_lvl = max(-d, 0.0) / rho_up
        elif level == 2:
            lo_lvl = -hedge if settling else -max(d, 0.0)
            hi_lvl = 0.0
        else:
            lo_lvl = 0.0
            hi_lvl = 0.0
        pp = pool_price[i]
        gap = pp / S - 1.0 if pp > 0.0 else np.inf
        dev_ok = fresh[i] != 0.0 and abs(gap) <= deviation_use * max_dev
        cool_ok = cool[i] <= 0.0
        cap_usd = cap_margin * min(room[i], max_trade * nav)
        slip_room = slippage_use * max_slip - fee
        gap_buy = max(gap, 0.0) if dev_ok else 0.0
        gap_sell = max(-gap, 0.0) if dev_ok else 0.0
        q_buy = max(slip_room - gap_buy, 0.0) / ipu
        q_sell = max(slip_room - gap_sell, 0.0) / ipu
        cash_free = cash[i] if settle[i] <= 0.0 else 0.0   # a settlement shortfall claims all the cash
        # (1 - _ROUND_MARGIN) on every bound: a trade exactly at a cap would fail
        # on-chain after float -> integer rounding
        hi_cap = min(min(cap_usd, q_buy), cash_free) / S * (1.0 - _ROUND_MARGIN)
        lo_cap = -min(min(cap_usd, q_sell) / S, hedge) * (1.0 - _ROUND_MARGIN)
        allowed = dev_ok and cool_ok and level < 3 and live
        lo = min(max(lo_lvl, lo_cap), 0.0) + 0.0 if allowed else 0.0    # + 0.0: no -0.0
        hi = max(min(hi_lvl, hi_cap), 0.0) if allowed else 0.0
        x = min(max(x_star, lo), hi)
        min_trade = max(min_trade_usd, gas_usd / max_gas_share)
        small = x != 0.0 and abs(x) * S < (min_trade_usd if settle_binding else min_trade)
        if small:
            x = 0.0

        # -- why
        if x_star == 0.0:
            why = NO_TRADE_IN_BAND
        elif level >= 3:
            why = BLOCKED_LEVEL
        elif not dev_ok:
            why = BLOCKED_DEVIATION
        elif not cool_ok:
            why = BLOCKED_COOLDOWN
        elif (hi_lvl <= 0.0) if x_star > 0.0 else (lo_lvl >= 0.0):
            why = BLOCKED_LEVEL
        elif ((hi_cap <= 0.0) if x_star > 0.0 else (lo_cap >= 0.0)) or not live:
            why = BLOCKED_CAPS
        elif x == 0.0:
            why = TOO_SMALL
        elif settle_binding:
            why = SETTLEMENT_CASH
        elif abs(d + x - target) <= 1e-9 * (abs(d) + abs(target) + band) + 1e-15:
            why = TRADE_TO_TARGET
        else:
            why = TRADE_TO_BAND
        notional = abs(x) * S
        cost = fee + (gap_buy if x > 0.0 else gap_sell) + notional * ipu if x != 0.0 else 0.0

        o_budget[i] = b_target
        o_atm[i] = atm
        o_target[i] = target
        o_band[i] = band
        o_trade[i] = x
        o_reason[i] = why
        if det.shape[0] > 0:
            det[i, 0] = rv
            det[i, 1] = vol_est
            det[i, 2] = shift
            det[i, 3] = excess
            det[i, 4] = premium
            det[i, 5] = atm_model
            det[i, 6] = vol_step
            det[i, 7] = b_vol
            det[i, 8] = floor_frac
            det[i, 9] = cushion
            det[i, 10] = b_cppi
            det[i, 11] = d
            det[i, 12] = jump_loss
            det[i, 13] = stress
            det[i, 14] = rho
            det[i, 15] = b_stress
            det[i, 16] = b_gamma
            det[i, 17] = liq
            det[i, 18] = b_vega
            det[i, 19] = b_raw
            det[i, 20] = b_eff
            det[i, 21] = B
            det[i, 22] = z
            det[i, 23] = lean
            det[i, 24] = gas_usd
            det[i, 25] = q_typ
            det[i, 26] = fee
            det[i, 27] = ipu
            det[i, 28] = lam
            det[i, 29] = h_ww
            det[i, 30] = mult
            det[i, 31] = h_gas
            det[i, 32] = h_min
            det[i, 33] = h_room
            det[i, 34] = x_band
            det[i, 35] = x_star
            det[i, 36] = need_eth
            det[i, 37] = 1.0 if settling else 0.0
            det[i, 38] = lo_lvl
            det[i, 39] = hi_lvl
            det[i, 40] = gap
            det[i, 41] = 1.0 if dev_ok else 0.0
            det[i, 42] = cap_usd
            det[i, 43] = q_buy
            det[i, 44] = q_sell
            det[i, 45] = lo
            det[i, 46] = hi
            det[i, 47] = min_trade
            det[i, 48] = cost


def _vol_step(p, cfg, elapsed_s):
    """Largest vol move the book accepts after `elapsed_s` seconds, with a margin for wad rounding."""
    return p["max_vol_rate"] * np.minimum(np.maximum(elapsed_s, 0.0), cfg.vol_accrual_cap_s) * (1.0 - 1e-6)


def _rate_limited(model, posted, step, p):
    """model moved at most `step` from `posted`; inside [vol_floor, vol_cap] whenever the step reaches it."""
    lo = np.maximum(posted - step, p["vol_floor"])
    hi = np.minimum(posted + step, p["vol_cap"])
    inside = lo <= hi
    limited = np.clip(model, lo, np.maximum(lo, hi))
    # the posted vol sits so far outside the bounds that one step cannot reach them: step toward them
    toward = np.clip(model, posted - step, posted + step)
    return np.where(inside, limited, toward)


_SHOCK_CACHE: dict = {}


def _jump_shocks(grid, jump):
    key = (grid.tobytes(), jump)
    got = _SHOCK_CACHE.get(key)
    if got is None:
        inner = grid[(np.abs(grid) <= jump) & (grid != 0)]
        got = np.unique(np.concatenate([inner, [-jump, jump]]))
        if len(_SHOCK_CACHE) < 64:
            _SHOCK_CACHE[key] = got
    return got


# ---------------------------------------------------------------- the hedge order


@dataclass(frozen=True)
class HedgeOrder:
    """`Hedger.rebalance(buy, amount_in, min_out, deadline)` arguments and what they came from."""

    buy: bool                # True: USDC -> WETH; False: WETH -> USDC
    amount_in: int           # asset units (USDC, `asset_decimals`) when buying; WETH wei when selling
    min_out: int             # WETH wei when buying; asset units when selling
    deadline: int            # unix seconds
    expected_out: int        # at the oracle price, integer arithmetic exactly as Hedger._rebalance
    min_out_floor: int       # expected_out x (1 - max_slippage), as Hedger._rebalance computes it
    notional_usd: float      # amount_in's value at the oracle price
    allowance: float         # fraction below expected_out that min_out allows


def hedge_order(trade_eth: float, spot: float, *, max_slippage: float, now: int, deadline_s: int = 300,
                cost_fraction: float = 0.0, slippage_buffer: float = 0.001, asset_decimals: int = 6,
                spot_wad: int | None = None) -> HedgeOrder | None:
    """THE conversion of a signed hedge size to `Hedger.rebalance` arguments (None for no trade).

    trade_eth > 0 buys ETH: amount_in = floor(trade_eth x spot x 10^asset_decimals) asset units.
    trade_eth < 0 sells:    amount_in = floor(|trade_eth| x 10^18) WETH wei.
    expected_out is computed at the oracle price with the contract's integer
    arithmetic (Hedger._rebalance: buy: notional = amount_in x 10^(18-dec),
    expected = notional x 1e18 // spot; sell: notional = amount_in x spot // 1e18,
    expected = notional // 10^(18-dec)), and

        min_out = max(floor(expected x (1 - allowance)), expected x (WAD - max_slippage_wad) // WAD)
        allowance = min(cost_fraction + slippage_buffer, max_slippage)

    so min_out never falls below the on-chain floor (a sandwich takes at most
    our expected cost plus the buffer) and never above what the expected
    fee, pool/oracle gap and impact (`cost_fraction`) leave. max_slippage_wad
    is rounded down, which can only raise our floor. The floor holds at the
    oracle price `spot` (pass `spot_wad`, the feed's answer normalised to wad,
    for bit-exactness); if the oracle moves before inclusion the contract
    recomputes it. deadline = now + deadline_s.
    """
    for name, v in (("trade_eth", trade_eth), ("spot", spot), ("max_slippage", max_slippage),
                    ("cost_fraction", cost_fraction), ("slippage_buffer", slippage_buffer)):
        if not math.isfinite(v):
            raise ValueError(f"{name} must be finite, got {v!r}")
    if not spot > 0:
        raise ValueError(f"spot must be > 0, got {spot!r}")
    if not 0 <= max_slippage < 1:
        raise ValueError(f"max_slippage must be in [0, 1), got {max_slippage!r}")
    if cost_fraction < 0 or slippage_buffer < 0:
        raise ValueError("cost_fraction and slippage_buffer must be >= 0")
    if not (isinstance(asset_decimals, int) and 0 <= asset_decimals <= 18):
        raise ValueError(f"asset_decimals must be an integer in [0, 18], got {asset_decimals!r}")
    if trade_eth == 0:
        return None
    scale = 10 ** (18 - asset_decimals)
    s_wad = int(spot_wad) if spot_wad is not None else int(round(spot * WAD))
    if s_wad <= 0:
        raise ValueError("spot_wad must be > 0")
    buy = trade_eth > 0
    if buy:
        amount_in = math.floor(trade_eth * spot * 10**asset_decimals)
        notional_wad = amount_in * scale
        expected = notional_wad * WAD // s_wad
    else:
        amount_in = math.floor(-trade_eth * WAD)
        notional_wad = amount_in * s_wad // WAD
        expected = notional_wad // scale
    if amount_in <= 0:
        return None
    slip_wad = math.floor(max_slippage * WAD)
    floor_out = expected * (WAD - slip_wad) // WAD
    allowance = min(cost_fraction + slippage_buffer, max_slippage)
    ours = expected * (WAD - math.ceil(allowance * WAD)) // WAD
    min_out = max(ours, floor_out)
    return HedgeOrder(buy=buy, amount_in=amount_in, min_out=min_out, deadline=int(now) + int(deadline_s),
                      expected_out=expected, min_out_floor=floor_out, notional_usd=notional_wad / WAD,
                      allowance=allowance)


# ---------------------------------------------------------------- quotes and SVI


def load_quotes(source) -> list[dict]:
    """Deribit-style quotes: a path to a JSON file, a JSON string, or a list of dicts, each with
    strike (USD), expiry (unix s), mark_iv (percent), underlying_price (USD). A dict with a
    "result" list (Deribit's envelope) is unwrapped."""
    if isinstance(source, (str, os.PathLike)):
        text = str(source)
        if isinstance(source, os.PathLike) or not text.lstrip().startswith(("[", "{")):
            with open(source, encoding="utf-8") as fh:
                text = fh.read()
        try:
            source = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"quotes: not valid JSON ({exc})") from None
    if isinstance(source, dict):
        source = source.get("result", source.get("quotes"))
    if not isinstance(source, list):
        raise ValueError("quotes must be a list of {strike, expiry, mark_iv, underlying_price}")
    return source


@dataclass(frozen=True)
class QuoteSurface:
    """SVI fits per expiry from a quote file, fitted at `fitted_at` (unix s).

    Fit once (`fit_quotes`) and pass the surface to `decide` on every call;
    refit when the quotes change.
    """

    fitted_at: float
    expiries: tuple[int, ...]       # unix seconds, ascending
    forwards: tuple[float, ...]     # mean underlying_price per expiry (USD)
    fits: tuple[SviFit, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)   # expiries dropped, arbitrage found

    def vol(self, strike, expiry, now) -> np.ndarray:
        """Implied vol at (strike, expiry) for a series at time `now`, vectorised over strikes/expiries.

        Each fitted smile is read at k = ln(K / F_expiry); between fitted expiries
        the total variance is interpolated linearly in time to expiry, outside
        them the nearest smile's vol is used (flat in time). Expiries at or
        before `now` give NaN.
        """
        K = np.atleast_1d(np.asarray(strike, dtype=float))
        E = np.broadcast_to(np.asarray(expiry, dtype=float), K.shape)
        T = (E - now) / SECONDS_PER_YEAR
        ex = np.asarray(self.expiries, dtype=float)
        Tf = (ex - now) / SECONDS_PER_YEAR
        # vol of each fitted smile at each strike: (n_fits, n)
        ivs = np.stack([f.iv(np.log(K / F)) for f, F in zip(self.fits, self.forwards)])
        live = Tf > 0
        out = np.full(K.shape, np.nan)
        if not live.any():
            return out
        ivs, Tf = ivs[live], Tf[live]
        j = np.searchsorted(Tf, T)                 # Tf[j-1] < T <= Tf[j]
        below, above = j == 0, j >= Tf.size
        jl, jh = np.clip(j - 1, 0, Tf.size - 1), np.clip(j, 0, Tf.size - 1)
        cols = np.arange(K.size)
        w_lo, w_hi = ivs[jl, cols] ** 2 * Tf[jl], ivs[jh, cols] ** 2 * Tf[jh]
        span = np.where(Tf[jh] > Tf[jl], Tf[jh] - Tf[jl], 1.0)
        a = np.clip((T - Tf[jl]) / span, 0.0, 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            mid = np.sqrt(np.maximum(w_lo + a * (w_hi - w_lo), 0.0) / T)
        out = np.where(below, ivs[0], np.where(above, ivs[-1], mid))
        return np.where(T > 0, out, np.nan)


def fit_quotes(quotes, now: float, min_points: int = 5) -> QuoteSurface:
    """Fit SVI (keeper.vol.fit_svi) per expiry to Deribit-style quotes.

    Quotes with a non-finite or non-positive strike, mark_iv or
    underlying_price, or an expiry at or before `now`, are dropped; so are
    expiries with fewer than `min_points` quotes (noted in `notes`). Raises
    ValueError if no expiry can be fitted.
    """
    rows = load_quotes(quotes)
    groups: dict[int, list] = {}
    dropped = 0
    for q in rows:
        try:
            K, E, iv, F = float(q["strike"]), float(q["expiry"]), float(q["mark_iv"]), float(q["underlying_price"])
        except (KeyError, TypeError, ValueError):
            dropped += 1
            continue
        if not all(math.isfinite(v) and v > 0 for v in (K, E, iv, F)) or E <= now:
            dropped += 1
            continue
        groups.setdefault(int(E), []).append((K, iv / 100.0, F))
    notes = [f"{dropped} quotes dropped (missing, non-positive or expired)"] if dropped else []
    expiries, forwards, fits = [], [], []
    for E in sorted(groups):
        g = np.asarray(groups[E])
        if g.shape[0] < min_points:
            notes.append(f"expiry {E}: {g.shape[0]} quotes < {min_points}, not fitted")
            continue
        F = float(g[:, 2].mean())
        fit = fit_svi(np.log(g[:, 0] / F), g[:, 1], (E - now) / SECONDS_PER_YEAR)
        if not fit.butterfly_ok:
            notes.append(f"expiry {E}: butterfly arbitrage at {fit.butterfly_violations.size} grid points")
        expiries.append(E)
        forwards.append(F)
        fits.append(fit)
    if not fits:
        raise ValueError("quotes: no expiry has enough valid quotes to fit a smile")
    return QuoteSurface(fitted_at=float(now), expiries=tuple(expiries), forwards=tuple(forwards),
                        fits=tuple(fits), notes=tuple(notes))


# ---------------------------------------------------------------- the single-vault adapter


class VolPost(NamedTuple):
    """One series' vol post, with what it came from; `reason` is built when read."""

    series_id: int
    vol: float          # to post (clipped, rate-limited)
    vol_wad: int
    target: float       # what the model / the fit wanted, clipped to [vol_floor, vol_cap]
    previous: float     # the vol posted now
    source: str         # "model" (realised vol + premium + skew) or "SVI" (the quotes' fit)
    raw: float          # the model's / fit's vol before clipping
    strike: float
    days: float         # to expiry
    step: float         # largest move the book accepts now

    @property
    def reason(self) -> str:
        return (f"{self.source} {self.raw:.4f} at K {self.strike:,.0f}, {self.days:.1f} d -> clipped "
                f"{self.target:.4f}, from {self.previous:.4f} by at most {self.step:.4f}")


@dataclass(frozen=True)
class Decision:
    """What the live bot does for one vault, with the reasons."""

    output: PolicyOutput            # allocate's row (arrays of shape (1,))
    budget_target: float
    budget_wad: int                 # for RiskGuard's budget post, inside [budget_floor, 1] in wad
    atm_vol: float
    delta_target_eth: float
    band_eth: float
    trade_eth: float
    reason_code: int                # keeper.policy code of the hedge decision
    vols: tuple[VolPost, ...]
    hedge: HedgeOrder | None        # Hedger.rebalance arguments, or None
    raise_settlement_cash: bool     # the rebalance sale (if any) does not cover the settlement need: call
                                    # hedger.raise_settlement_cash() first (anyone; no band/cooldown/caps)
    reasons: dict                   # part -> sentence: "budget", "vol", "band", "hedge", ("settlement")
    numbers: dict                   # the scalars behind the sentences


def _bp(x):
    return f"{x * 1e4:.1f} bp"


def decide(state_row: BookState, params, cfg: AllocatorConfig | None = None, series: Sequence | None = None,
           quotes: Any = None, *, asset_decimals: int = 6, spot_wad: int | None = None) -> Decision:
    """`allocate` on one vault, plus the vols per series, the budget post and the hedge order.

    series: iterable of (series_id, strike, expiry_s, is_call, current_posted_vol[, posted_at_s]);
        the rate limit uses now - posted_at_s when given, else cfg.vol_post_interval_s.
        Expired series are skipped (nothing to post).
    quotes: a QuoteSurface (fit once, reuse), or anything `load_quotes` reads (fitted here, at
        some ms per expiry). The series' vols then come from the SVI fits; if no smile can be
        fitted, or a series lies outside them, the model vol is used and the reason says so.
    """
    cfg = cfg if cfg is not None else AllocatorConfig()
    if state_row.n != 1:
        raise ValueError(f"decide takes one row, got {state_row.n}")
    out, D = _allocate(state_row, params, cfg)
    p = _params(params)
    g = {k: float(v[0]) for k, v in D.items()}
    S = float(state_row.spot[0])
    now = float(state_row.t[0])
    level = int(state_row.level[0])
    b = float(out.budget_target[0])
    code = int(out.reason[0])
    x = float(out.trade_eth[0])
    nav = float(state_row.nav[0])

    # budget
    floor_wad = math.ceil(p["budget_floor"] * WAD)
    budget_wad = min(max(math.floor(b * WAD), floor_wad), WAD)
    parts = {
        "vol target": g["b_vol"], "cushion": g["b_cppi"], "jump stress": g["b_stress"],
        "gamma regime": g["b_gamma"], "liquidity": g["b_vega"],
    }
    binding = min(parts, key=parts.get)
    if level > 0:
        budget_reason = f"budget {b:.2f} = floor: level {level} allows no new risk"
    elif nav <= 0:
        budget_reason = f"budget {b:.2f} = floor: NAV is {nav:.2f}"
    else:
        budget_reason = (
            f"budget {b:.2f} = min(vol target {cfg.target_vol:.2f}/{g['vol_est']:.2f} = {g['b_vol']:.2f}, "
            f"cushion {cfg.cushion_multiplier:g} x (1 - {g['floor_frac']:.3f}) = {g['b_cppi']:.2f}, "
            f"jump stress {cfg.max_stress_loss:g}/({p['max_utilisation']:g} x {g['rho']:.2f}) = {g['b_stress']:.2f} "
            f"[loss {g['stress']:,.0f} USD vs grid {float(state_row.stress_margin[0]):,.0f}], "
            f"gamma regime 1/(1+{g['excess']:.2f}) = {g['b_gamma']:.2f} [rv_short/implied|rv_long {g['shift']:.2f}], "
            f"liquidity depth {float(state_row.pool_depth[0]):,.0f} USD/1% = {g['liq']:.2f} of ref -> {g['b_vega']:.2f})"
            f" clipped to [{p['budget_floor']:g}, 1]; binding: {binding}"
        )
        now_b = float(state_row.budget[0])
        if b > now_b and p["budget_rate"] > 0:
            budget_reason += (f"; on-chain budget {now_b:.2f} loosens at {p['budget_rate']:g}/h: "
                              f"{(b - now_b) / p['budget_rate']:.1f} h to reach it")

    # vols
    atm = float(out.atm_vol[0])
    iv_now = float(state_row.implied_vol[0])
    vol_reason = (
        f"ATM {atm:.4f}: model {g['atm_model']:.4f} = {cfg.rv_weight_short:g} x rv_short "
        f"{float(state_row.rv_short[0]):.3f} + {1 - cfg.rv_weight_short:g} x rv_long {float(state_row.rv_long[0]):.3f}"
        f" + premium {cfg.vol_premium:.3f} + regime {g['premium'] - cfg.vol_premium:.3f}, clipped to "
        f"[{p['vol_floor']:g}, {p['vol_cap']:g}], moved from {iv_now:.4f} by at most {g['vol_step']:.4f}"
    )
    vols = ()
    surface, surface_note = None, ""
    if quotes is not None:
        try:
            surface = quotes if isinstance(quotes, QuoteSurface) else fit_quotes(quotes, now)
            surface_note = "; ".join(surface.notes)
        except ValueError as exc:
            surface_note = f"quotes unusable ({exc}); model vols used"
    if series:
        vols = _series_vols(series, g["atm_model"], S, now, p, cfg, surface)
        if surface_note:
            vol_reason += f"; quotes: {surface_note}"

    # band and hedge
    band = float(out.band_eth[0])
    target = float(out.delta_target_eth[0])
    d = g["d"]
    gam = float(state_row.gamma_eth_per_usd[0])
    band_reason = (
        f"band {band:.4g} ETH from gamma {gam:.4g} ETH^2/USD, fee {_bp(g['fee'])}, impact "
        f"{_bp(g['ipu'] * 1e4)} per 10k USD, gas {g['gas_usd']:.2f} USD (lambda {_bp(g['lam'])}): "
        f"WW {g['h_ww']:.4g} x trend {g['mult']:.2f}, gas floor {g['h_min']:.4g}, on-chain room {g['h_room']:.4g} "
        f"(band {g['B']:.4g} ETH = {p['delta_band']:g} x budget {g['b_eff']:.2f} x NAV / spot); "
        f"target {target:+.4g} ETH (lean {g['lean']:+.2f}, trend z {g['z']:+.2f})"
    )
    order = None
    if x != 0:
        order = hedge_order(x, S, max_slippage=p["max_slippage"], now=int(now), deadline_s=cfg.deadline_s,
                            cost_fraction=g["cost"], slippage_buffer=cfg.slippage_buffer,
                            asset_decimals=asset_decimals, spot_wad=spot_wad)
    hedge_reason = f"{REASONS[code]}: delta {d:+.4g} ETH vs target {target:+.4g} +- {band:.4g}"
    if x != 0:
        hedge_reason += (
            f"; {'buy' if x > 0 else 'sell'} {abs(x):.4g} ETH ({abs(x) * S:,.0f} USD, optimum {g['x_star']:+.4g}, "
            f"feasible [{g['lo']:+.4g}, {g['hi']:+.4g}]), expected cost {_bp(g['cost'])}"
        )
        if order is not None:
            hedge_reason += f", min_out allows {_bp(order.allowance)} (floor {_bp(p['max_slippage'])})"
    elif code in (BLOCKED_CAPS, TOO_SMALL):
        hedge_reason += (
            f"; wanted {g['x_star']:+.4g} ETH, room [{g['lo']:+.4g}, {g['hi']:+.4g}] "
            f"(caps {g['cap_usd']:,.0f} USD, impact caps buy {g['q_buy']:,.0f} / sell {g['q_sell']:,.0f} USD, "
            f"worth its gas from {g['min_trade']:,.0f} USD)"
        )
    elif code == BLOCKED_COOLDOWN:
        hedge_reason += f"; cooldown {float(state_row.cooldown_left[0]):.0f} s left"
    elif code == BLOCKED_DEVIATION:
        hedge_reason += (f"; oracle fresh {bool(state_row.oracle_fresh[0])}, pool/oracle {g['gap']:+.2%} vs "
                         f"{cfg.deviation_use:g} x {p['max_deviation']:.2%}")
    elif code == BLOCKED_LEVEL:
        hedge_reason += f"; level {level}"
    reasons = {"budget": budget_reason, "vol": vol_reason, "band": band_reason, "hedge": hedge_reason}

    need = float(state_row.settle_need[0])
    hedge_units = float(state_row.hedge_eth[0])
    # the proposed sale (if any) raises at least -x S (1 - max_slippage); if that falls short, the
    # permissionless Hedger.raise_settlement_cash() (no band, cap or cooldown) covers the rest
    raise_cash = need > 0 and hedge_units > 0 and max(-x, 0.0) * S * (1 - p["max_slippage"]) < need
    if need > 0:
        reasons["settlement"] = (
            f"settlement needs {need:,.2f} USD; "
            + ("the rebalance sale covers it" if not raise_cash else
               f"the rebalance sale covers {max(-x, 0.0) * S:,.2f} USD: call hedger.raise_settlement_cash() "
               "first (anyone; no band, cap or cooldown) and decide again"
               if hedge_units > 0 else "no hedge to sell: settlement pays pro rata")
        )

    numbers = dict(g)
    numbers.update(budget_target=b, atm_vol=atm, band_eth=band, delta_target_eth=target, trade_eth=x)
    return Decision(
        output=out, budget_target=b, budget_wad=budget_wad, atm_vol=atm, delta_target_eth=target,
        band_eth=band, trade_eth=x, reason_code=code, vols=vols, hedge=order, raise_settlement_cash=raise_cash,
        reasons=reasons, numbers=numbers,
    )


def _series_vols(series, atm_model, spot, now, p, cfg, surface):
    rows = [tuple(r) for r in series]
    for r in rows:
        if len(r) not in (5, 6):
            raise ValueError("series entries are (series_id, strike, expiry_s, is_call, current_posted_vol[, posted_at_s])")
    sid = [int(r[0]) for r in rows]
    K = np.array([float(r[1]) for r in rows])
    E = np.array([float(r[2]) for r in rows])
    cur = np.array([float(r[4]) for r in rows])
    posted_at = np.array([float(r[5]) if len(r) == 6 else now - cfg.vol_post_interval_s for r in rows])
    for name, a in (("strike", K), ("current_posted_vol", cur)):
        if not np.all(np.isfinite(a) & (a > 0)):
            raise ValueError(f"series {name} must be finite and > 0")
    if not (np.all(np.isfinite(E)) and np.all(np.isfinite(posted_at))):
        raise ValueError("series expiry_s and posted_at_s must be finite")
    tau = (E - now) / SECONDS_PER_YEAR
    model = vol_for_strike(atm_model, K, spot, tau, cfg)
    source = np.full(K.shape, "model", dtype=object)
    if surface is not None:
        fitted = surface.vol(K, E, now)
        ok = np.isfinite(fitted) & (fitted > 0)
        model = np.where(ok, fitted, model)
        source[ok] = "SVI"
    target = np.clip(model, p["vol_floor"], p["vol_cap"])
    step = _vol_step(p, cfg, now - posted_at)
    post = _rate_limited(target, cur, step, p)
    live = np.flatnonzero(tau > 0)
    cols = zip(live.tolist(), post[live].tolist(), target[live].tolist(), cur[live].tolist(),
               np.asarray(model, dtype=float)[live].tolist(), K[live].tolist(), (tau[live] * 365).tolist(),
               step[live].tolist())
    posts = [VolPost(sid[i], v, int(round(v * WAD)), tg, c, source[i], m, k, dd, sp)
             for i, v, tg, c, m, k, dd, sp in cols]
    return tuple(posts)
