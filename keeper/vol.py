"""Realised volatility from pool observations, and per-expiry SVI smiles.

Realised vol (annualised from actual timestamps, so irregular sampling is fine):
- `ewma_vol(timestamps, prices, half_life)`: close-to-close, exponentially
  weighted variance per unit time: sum_i w_i r_i^2 / sum_i w_i dt_i, with
  r_i = ln(p_i / p_{i-1}), dt_i in years, w_i = 2^-(age_i / half_life).
- `parkinson_vol(timestamps, highs, lows)`: range-based (Parkinson 1980):
  variance per bar = ln(H/L)^2 / (4 ln 2), summed over bars and divided by
  the elapsed time the bars cover.
Both return vol per sqrt(year) (365-day year, seconds in, like the chain).

SVI (Gatheral's raw parameterisation) of total implied variance w(k) = iv^2 T
against log-moneyness k = ln(K / F):
    w(k) = a + b (rho (k - m) + sqrt((k - m)^2 + sigma^2))
`fit_svi(k, iv, T)` fits by bounded least squares (scipy) and reports the
no-arbitrage checks instead of hiding them: butterfly (Gatheral's density
g(k) >= 0 on a grid) and, across expiries, `calendar_arbitrage(fits)`
(total variance non-decreasing in T at every k).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares

__all__ = ["ewma_vol", "parkinson_vol", "SviFit", "svi_total_variance", "fit_svi", "calendar_arbitrage"]

SECONDS_PER_YEAR = 365 * 86_400


def _series(name, values, n_min):
    a = np.asarray(values, dtype=float)
    if a.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if a.size < n_min:
        raise ValueError(f"{name} needs at least {n_min} points, got {a.size}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite")
    return a


def _pair(name_a, a, name_b, b, n_min, positive):
    """Two same-length series, checked in order; the one named `positive` must be > 0."""
    arrays = {name_a: _series(name_a, a, n_min), name_b: _series(name_b, b, n_min)}
    if arrays[name_a].size != arrays[name_b].size:
        raise ValueError(f"{name_a} and {name_b} differ in length ({arrays[name_a].size} vs {arrays[name_b].size})")
    if np.any(arrays[positive] <= 0):
        raise ValueError(f"{positive} must be > 0")
    return arrays[name_a], arrays[name_b]


def _times(timestamps, n):
    t = _series("timestamps", timestamps, 2)
    if t.size != n:
        raise ValueError(f"timestamps has {t.size} points, prices have {n}")
    if np.any(np.diff(t) <= 0):
        raise ValueError("timestamps must be strictly increasing")
    return t


def ewma_vol(timestamps, prices, half_life: float) -> float:
    """Annualised close-to-close EWMA vol; `half_life` in seconds (> 0)."""
    p = _series("prices", prices, 2)
    if np.any(p <= 0):
        raise ValueError("prices must be > 0")
    t = _times(timestamps, p.size)
    if not half_life > 0:
        raise ValueError("half_life must be > 0")
    r = np.diff(np.log(p))
    dt = np.diff(t) / SECONDS_PER_YEAR
    age = t[-1] - t[1:]
    w = np.exp2(-age / half_life)
    return float(math.sqrt(np.sum(w * r * r) / np.sum(w * dt)))


def parkinson_vol(timestamps, highs, lows) -> float:
    """Annualised Parkinson range vol. Bar i covers (timestamps[i], timestamps[i+1]];
    `highs` and `lows` have one entry per bar (len(timestamps) - 1)."""
    h, lo = _pair("highs", highs, "lows", lows, 1, positive="lows")
    if np.any(h < lo):
        raise ValueError("highs must be >= lows")
    t = _times(timestamps, h.size + 1)
    var = np.sum(np.log(h / lo) ** 2) / (4.0 * math.log(2.0))
    return float(math.sqrt(var / ((t[-1] - t[0]) / SECONDS_PER_YEAR)))


def svi_total_variance(k, params) -> np.ndarray:
    """Raw SVI total variance w(k) for params (a, b, rho, m, sigma)."""
    a, b, rho, m, s = params
    k = np.asarray(k, dtype=float)
    return a + b * (rho * (k - m) + np.sqrt((k - m) ** 2 + s * s))


def _butterfly_g(k, params) -> np.ndarray:
    """Gatheral's g(k); the implied density is >= 0 iff g >= 0 (and w > 0)."""
    a, b, rho, m, s = params
    d = k - m
    root = np.sqrt(d * d + s * s)
    w = a + b * (rho * d + root)
    w1 = b * (rho + d / root)
    w2 = b * s * s / root**3
    return (1 - k * w1 / (2 * w)) ** 2 - w1 * w1 / 4 * (1 / w + 0.25) + w2 / 2


@dataclass(frozen=True)
class SviFit:
    """One expiry's fitted smile and its arbitrage report."""

    T: float
    params: tuple  # (a, b, rho, m, sigma)
    rmse_iv: float  # root-mean-square error in implied vol
    butterfly_ok: bool
    butterfly_violations: np.ndarray = field(repr=False)  # k grid points with g(k) < 0 or w <= 0

    def iv(self, k) -> np.ndarray:
        return np.sqrt(np.maximum(svi_total_variance(k, self.params), 0.0) / self.T)


def fit_svi(k, iv, T: float, grid=None) -> SviFit:
    """Fit raw SVI to (log-moneyness k, implied vol iv) points of one expiry T (years).

    Needs at least 5 points. The butterfly check runs on `grid` (default:
    201 points over [min k - 1, max k + 1]).
    """
    k, v = _pair("k", k, "iv", iv, 5, positive="iv")
    if not (T > 0 and math.isfinite(T)):
        raise ValueError("T must be > 0")
    w = v * v * T
    span = max(k.max() - k.min(), 1e-3)
    x0 = [max(w.min() * 0.5, 1e-6), 0.1, 0.0, float(k[np.argmin(w)]), 0.1 * span]
    lower = [-w.max(), 0.0, -0.999, k.min() - span, 1e-4]
    upper = [w.max() * 2, 10.0, 0.999, k.max() + span, 10.0 * span]

    def resid(p):
        model = svi_total_variance(k, p)
        return np.sqrt(np.maximum(model, 1e-12) / T) - v

    sol = least_squares(resid, x0, bounds=(lower, upper), method="trf", x_scale="jac", max_nfev=5_000)
    params = tuple(float(x) for x in sol.x)
    grid = np.linspace(k.min() - 1, k.max() + 1, 201) if grid is None else np.asarray(grid, dtype=float)
    wg = svi_total_variance(grid, params)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = _butterfly_g(grid, params)
    bad = grid[(wg <= 0) | ~(g >= -1e-10)]
    rmse = float(np.sqrt(np.mean(resid(sol.x) ** 2)))
    return SviFit(T=float(T), params=params, rmse_iv=rmse, butterfly_ok=bad.size == 0, butterfly_violations=bad)


def calendar_arbitrage(fits, grid=None) -> list[tuple[float, float, float]]:
    """Calendar-spread violations across expiries: (T_near, T_far, k) wherever the
    far expiry's total variance is below the near one's. Empty = none."""
    fits = sorted(fits, key=lambda f: f.T)
    if grid is None:
        grid = np.linspace(-1.5, 1.5, 121)
    grid = np.asarray(grid, dtype=float)
    out = []
    for near, far in zip(fits, fits[1:]):
        diff = svi_total_variance(grid, far.params) - svi_total_variance(grid, near.params)
        for kk in grid[diff < -1e-12]:
            out.append((near.T, far.T, float(kk)))
    return out
