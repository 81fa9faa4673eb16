"""keeper.greeks: accuracy against exact references, edge behaviour, bad input."""
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from mpmath import exp, log, mp, mpf, ncdf, sqrt

from keeper.greeks import bs_greeks, implied_vol

mp.dps = 40
EPS = np.finfo(float).eps


@pytest.fixture(autouse=True)
def _no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def exact_price(S, K, T, r, v, call):
    S, K, T, r, v = map(mpf, (S, K, T, r, v))
    vs = v * sqrt(T)
    d1 = (log(S / K) + (r + v * v / 2) * T) / vs
    d2 = d1 - vs
    df = exp(-r * T)
    return S * ncdf(d1) - K * df * ncdf(d2) if call else K * df * ncdf(-d2) - S * ncdf(-d1)


def test_textbook_values():
    # Hull, Options Futures and Other Derivatives, Example 15.6: S=42, K=40, r=10%, sigma=20%, T=0.5
    g = bs_greeks(42.0, 40.0, 0.5, 0.1, 0.2, np.array([True, False]))
    assert g.price[0] == pytest.approx(4.76, abs=0.005)
    assert g.price[1] == pytest.approx(0.81, abs=0.005)
    # Hull Example 19.1 (delta of a call): S=49, K=50, r=5%, sigma=20%, T=20 weeks -> delta 0.522
    g = bs_greeks(49.0, 50.0, 20 / 52, 0.05, 0.2, True)
    assert g.delta == pytest.approx(0.522, abs=0.0005)
    assert g.gamma == pytest.approx(0.066, abs=0.0005)  # Hull Example 19.4
    assert g.vega == pytest.approx(12.1, abs=0.05)  # Hull Example 19.6
    assert g.theta == pytest.approx(-4.31, abs=0.005)  # Hull Example 19.2 (per year)


@settings(max_examples=200, deadline=None)
@given(
    S=st.floats(1, 1e4), m=st.floats(0.2, 5), T=st.floats(1e-3, 3), r=st.floats(-0.05, 0.2), v=st.floats(0.01, 3)
)
def test_put_call_parity_and_finite_differences(S, m, T, r, v):
    K = S * m
    c, p = bs_greeks(S, K, T, r, v, np.array([True, False])).price
    assert c - p == pytest.approx(S - K * np.exp(-r * T), abs=1e-12 * max(S, K))
    g = bs_greeks(S, K, T, r, v, True)
    # Steps scaled to the option's own width (S * sigma * sqrt(T)) keep the
    # truncation error ~1e-6 relative for every input.
    hS, hv, hT = 1e-3 * S * min(1.0, v * np.sqrt(T)), 1e-5, 1e-6
    up, dn = bs_greeks(S + hS, K, T, r, v, True), bs_greeks(S - hS, K, T, r, v, True)
    assert g.delta == pytest.approx((up.price - dn.price) / (2 * hS), rel=1e-5, abs=1e-8)
    assert g.gamma == pytest.approx((up.delta - dn.delta) / (2 * hS), rel=1e-5, abs=1e-8 / S)
    fd_vega = (bs_greeks(S, K, T, r, v + hv, True).price - bs_greeks(S, K, T, r, v - hv, True).price) / (2 * hv)
    assert g.vega == pytest.approx(fd_vega, abs=1e-6 * S)
    if T > 2 * hT:
        fd_theta = -(bs_greeks(S, K, T + hT, r, v, True).price - bs_greeks(S, K, T - hT, r, v, True).price) / (2 * hT)
        assert g.theta == pytest.approx(fd_theta, abs=1e-4 * S)


def test_prices_match_exact_reference():
    rng = np.random.default_rng(3)
    for _ in range(200):
        S, m, T, r, v = 100.0, rng.uniform(0.2, 5), rng.uniform(1e-3, 3), rng.uniform(-0.05, 0.2), rng.uniform(0.01, 3)
        for call in (True, False):
            got = bs_greeks(S, S * m, T, r, v, call).price
            assert abs(got - float(exact_price(S, S * m, T, r, v, call))) <= 1e-13 * S


def test_expiry_and_zero_vol_limits():
    g = bs_greeks(np.array([110.0, 90.0, 100.0]), 100.0, 0.0, 0.05, 0.3, True)
    assert list(g.price) == [10.0, 0.0, 0.0]
    assert list(g.delta) == [1.0, 0.0, 0.0]
    assert not g.gamma.any() and not g.vega.any()
    p = bs_greeks(90.0, 100.0, 0.0, 0.0, 0.3, False)
    assert (p.price, p.delta) == (10.0, -1.0)
    z = bs_greeks(100.0, 100.0, 1.0, 0.05, 0.0, True)  # zero vol: discounted forward intrinsic
    assert z.price == pytest.approx(100 - 100 * np.exp(-0.05))
    assert z.delta == 1.0
    tiny = bs_greeks(100.0, 100.0, 1e-12, 0.0, 0.3, True)
    assert tiny.price == pytest.approx(0.0, abs=1e-4) and 0.0 < tiny.delta < 1.0


def test_nan_in_nan_out_and_shapes():
    g = bs_greeks(np.array([[100.0], [np.nan]]), np.array([90.0, 100.0, 110.0]), 0.5, 0.01, 0.4, True)
    assert g.price.shape == (2, 3)
    assert np.isnan(g.price[1]).all() and np.isfinite(g.price[0]).all()


@pytest.mark.parametrize(
    "kwargs,name",
    [
        (dict(S=-1.0), "S"),
        (dict(S=0.0), "S"),
        (dict(K=np.array([1.0, -2.0])), "K"),
        (dict(T=-0.1), "T"),
        (dict(sigma=-0.2), "sigma"),
        (dict(K=np.ones(3), T=np.ones(4)), "T"),
    ],
)
def test_bad_input_names_the_argument(kwargs, name):
    args = dict(S=100.0, K=100.0, T=1.0, r=0.0, sigma=0.2, is_call=True) | kwargs
    with pytest.raises(ValueError, match=rf"^{name} "):
        bs_greeks(**args)
    iv_args = dict(price=5.0, S=args["S"], K=args["K"], T=args["T"], r=0.0, is_call=True)
    if name in ("S", "K") or (name == "T" and np.ndim(args["T"])):
        with pytest.raises(ValueError, match=rf"^{name} "):
            implied_vol(**iv_args)


def _grid():
    rows = []
    for m in np.geomspace(0.2, 5, 13):
        for T in (1 / 8760, 1 / 365, 7 / 365, 0.1, 0.5, 1.0, 3.0):
            for v in (0.01, 0.03, 0.1, 0.3, 0.7, 1.5, 3.0, 5.0):
                for call in (True, False):
                    rows.append((float(exact_price(100.0, 100.0 * m, T, 0.03, v, call)), 100.0 * m, T, v, call))
    return rows


GRID = _grid()


def test_implied_vol_round_trip_grid():
    """Round trip over moneyness 0.2..5, T 1 hour..3 years, vol 1%..500%, calls and puts.

    Prices are exact (mpmath) rounded to double. A vol is "determined" when the
    double inputs pin it to 1e-13: half an ulp of the price plus the effect of
    half an ulp of S and K is at most 1e-13 * vega * sigma. Where determined, the
    relative error must be <= 1e-12; inside the no-arbitrage bounds no NaN.
    """
    P, K, T, V, C = (np.array(col) for col in zip(*GRID))
    iv = implied_vol(P, 100.0, K, T, 0.03, C)
    g = bs_greeks(100.0, K, T, 0.03, V, C)
    input_noise = np.spacing(P) / 2 + np.abs(g.delta) * 100.0 * EPS / 2 + K * EPS / 2
    determined = (P > 0) & (input_noise <= 1e-13 * g.vega * V)
    assert determined.sum() > 0.3 * len(GRID)  # the rest: vol 1 % at 3 y far OTM, etc.
    rel = np.abs(iv - V) / V
    assert not np.isnan(iv[determined]).any()
    assert rel[determined].max() <= 1e-12
    # Elsewhere: a finite answer or NaN only where the price sits on a bound.
    finite = np.isfinite(iv)
    assert (iv[finite] >= 0).all()


def test_implied_vol_outside_bounds_is_nan():
    T, r = 0.5, 0.02
    df = np.exp(-r * T)
    prices = np.array([-1.0, 100 - 90 * df - 1e-6, 100.0 + 1e-9, 5.0, 5.0])
    iv = implied_vol(prices, 100.0, 90.0, np.array([T, T, T, 0.0, -1.0]), r, True)
    assert np.isnan(iv).all()
    assert implied_vol(100 - 90 * df, 100.0, 90.0, T, r, True) == 0.0  # exactly intrinsic


@settings(max_examples=200, deadline=None)
@given(m=st.floats(0.5, 2.0), T=st.floats(0.02, 2), v=st.floats(0.05, 2), call=st.booleans())
def test_implied_vol_inverts_bs_greeks(m, T, v, call):
    g = bs_greeks(100.0, 100.0 * m, T, 0.01, v, call)
    p = g.price
    assume(np.spacing(p) + 100.0 * EPS <= 1e-10 * g.vega * v)  # the price pins the vol to 1e-10
    assert implied_vol(p, 100.0, 100.0 * m, T, 0.01, call) == pytest.approx(v, rel=1e-9)


def test_inline_math_kernels_match_mpmath():
    """The branch-free exp, log and erfcx behind the vectorised kernels: <= 2.5 ulp, special values kept."""
    from numba import njit
    from mpmath import erfc

    import keeper.greeks as kg

    @njit(error_model="numpy")
    def apply(which, a):
        out = np.empty_like(a)
        for i in range(a.shape[0]):
            out[i] = kg._exp(a[i]) if which == 0 else (kg._log(a[i]) if which == 1 else kg._erfcx(a[i]))
        return out

    rng = np.random.default_rng(5)
    x = np.concatenate([rng.uniform(-708, 709, 400), rng.uniform(-1, 1, 400)])
    ref = np.array([float(exp(mpf(v))) for v in x])
    assert np.max(np.abs(apply(0, x) - ref) / ref) <= 1.5 * EPS
    x = np.concatenate([np.exp(rng.uniform(-700, 700, 400)), rng.uniform(0.5, 2, 400), [1e-310, 5e-324, 1.7e308]])
    ref = np.array([float(log(mpf(v))) for v in x])
    assert np.max(np.abs(apply(1, x) - ref) / np.abs(ref)) <= 1.5 * EPS
    y = np.concatenate([rng.uniform(0, 10, 600), np.geomspace(10, 1e8, 100), [0.0]])
    ref = np.array([float(erfc(mpf(v)) * exp(mpf(v) ** 2)) for v in y])
    assert np.max(np.abs(apply(2, y) - ref) / ref) <= 2.5 * EPS
    special = np.array([np.nan, np.inf, -np.inf, 0.0, -800.0, 800.0])
    assert np.array_equal(apply(0, special), [np.nan, np.inf, 0.0, 1.0, 0.0, np.inf], equal_nan=True)
    special = np.array([np.nan, np.inf, 0.0, -1.0])
    assert np.array_equal(apply(1, special), [np.nan, np.inf, -np.inf, np.nan], equal_nan=True)
    e = apply(2, np.array([np.nan, np.inf, 0.0]))
    assert np.isnan(e[0]) and 0.0 <= e[1] < 1e-300 and abs(e[2] - 1.0) <= EPS


def test_vectorised_implied_vol_agrees_with_scalar_solver():
    """The vectorised pass (table guess + two Householder steps) against the scalar bracketed solver.

    Wide random inputs (spot and strike 5..2000, 30 s..5 y, vol 0.5 %..600 %, r -5..20 %): the same NaN
    pattern, the same answer to 1e-12 where the price pins the vol, and the fast pass settles nearly all
    of a typical book (spot 50..150, log-moneyness -1..1, T 0.01..2 y, vol 5..150 %).
    """
    from numba import njit

    import keeper.greeks as kg

    @njit
    def scalar(P, S, K, T, r, C):
        out = np.empty(P.shape[0])
        for i in range(P.shape[0]):
            out[i] = kg._iv_scalar(P[i], S[i], K[i], T[i], r[i], C[i])
        return out

    rng = np.random.default_rng(7)
    n = 20_000
    S, K = 100 * np.exp(rng.uniform(-3, 3, (2, n)))
    T = np.exp(rng.uniform(np.log(1e-6), np.log(5), n))
    V = np.exp(rng.uniform(np.log(0.005), np.log(6), n))
    r = rng.uniform(-0.05, 0.2, n)
    C = rng.random(n) < 0.5
    g = bs_greeks(S, K, T, r, V, C)
    iv, ref = implied_vol(g.price, S, K, T, r, C), scalar(g.price, S, K, T, r, C)
    assert np.array_equal(np.isnan(iv), np.isnan(ref))
    noise = np.spacing(g.price) / 2 + np.abs(g.delta) * S * EPS / 2 + K * EPS / 2
    determined = (g.price > 0) & (noise <= 1e-13 * g.vega * V)
    assert determined.sum() > 2_000
    assert np.max(np.abs(iv - V)[determined] / V[determined]) <= 1e-12
    assert np.max(np.abs(iv - ref)[determined] / V[determined]) <= 1e-12

    S = rng.uniform(50, 150, n)
    K = S * np.exp(rng.uniform(-1, 1, n))
    T, V = rng.uniform(0.01, 2, n), rng.uniform(0.05, 1.5, n)
    g = bs_greeks(S, K, T, 0.02, V, C)
    flag = np.empty(n, dtype=np.uint8)
    kg._iv_fast(g.price, S, K, T, np.full(n, 0.02), C, np.empty(n), flag)
    assert (flag == 2).mean() < 0.002 and (flag == 1).mean() < 0.01
