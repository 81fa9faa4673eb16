"""keeper.vol: realised-vol estimators and SVI smiles with their arbitrage reports."""
import numpy as np
import pytest

from keeper.vol import SECONDS_PER_YEAR, calendar_arbitrage, ewma_vol, fit_svi, parkinson_vol, svi_total_variance


def gbm(sigma, n, dt_seconds, seed, irregular=False):
    rng = np.random.default_rng(seed)
    dts = rng.uniform(0.2, 1.8, n) * dt_seconds if irregular else np.full(n, float(dt_seconds))
    t = np.concatenate([[1_700_000_000.0], 1_700_000_000.0 + np.cumsum(dts)])
    z = rng.standard_normal(n) * sigma * np.sqrt(dts / SECONDS_PER_YEAR)
    return t, 3_000.0 * np.exp(np.concatenate([[0.0], np.cumsum(z - 0.5 * (sigma**2) * dts / SECONDS_PER_YEAR)]))


@pytest.mark.parametrize("irregular", [False, True])
def test_ewma_recovers_true_vol(irregular):
    t, p = gbm(0.8, 20_000, 300, seed=1, irregular=irregular)
    # A long half-life averages ~10k returns: standard error ~0.8/sqrt(2*10k) ~ 0.6 %.
    assert ewma_vol(t, p, half_life=30 * 86_400) == pytest.approx(0.8, rel=0.03)


def test_parkinson_recovers_true_vol():
    rng = np.random.default_rng(2)
    sigma, bars, steps = 0.6, 500, 400
    dt = 60.0  # one-minute path, hourly bars
    z = rng.standard_normal(bars * steps) * sigma * np.sqrt(dt / SECONDS_PER_YEAR)
    path = 3_000 * np.exp(np.concatenate([[0.0], np.cumsum(z)]))
    highs = np.array([path[i * steps : (i + 1) * steps + 1].max() for i in range(bars)])
    lows = np.array([path[i * steps : (i + 1) * steps + 1].min() for i in range(bars)])
    t = 1_700_000_000 + np.arange(bars + 1) * steps * dt
    # Discrete sampling biases the range down a little (~3 % at 400 steps a bar).
    assert parkinson_vol(t, highs, lows) == pytest.approx(sigma, rel=0.08)


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="^timestamps must be strictly increasing"):
        ewma_vol([1, 1, 2], [1.0, 2.0, 3.0], 10)
    with pytest.raises(ValueError, match="^prices must be > 0"):
        ewma_vol([1, 2, 3], [1.0, 0.0, 3.0], 10)
    with pytest.raises(ValueError, match="^prices needs at least 2"):
        ewma_vol([1], [1.0], 10)
    with pytest.raises(ValueError, match="^half_life must be > 0"):
        ewma_vol([1, 2], [1.0, 2.0], 0)
    with pytest.raises(ValueError, match="^highs must be >= lows"):
        parkinson_vol([1, 2], [1.0], [2.0])
    with pytest.raises(ValueError, match="^k needs at least 5"):
        fit_svi([0.0, 0.1], [0.5, 0.5], 0.1)
    with pytest.raises(ValueError, match="^T must be > 0"):
        fit_svi(np.linspace(-1, 1, 9), np.full(9, 0.5), 0.0)


def test_svi_recovers_known_parameters():
    true = (0.02, 0.15, -0.4, 0.05, 0.2)
    T = 0.25
    k = np.linspace(-0.8, 0.6, 25)
    iv = np.sqrt(svi_total_variance(k, true) / T)
    fit = fit_svi(k, iv, T)
    assert fit.rmse_iv < 1e-6
    assert np.allclose(fit.iv(k), iv, atol=1e-6)
    assert fit.butterfly_ok and fit.butterfly_violations.size == 0


def test_arbitrageable_smile_is_flagged():
    # A smile with a far too steep wing and tiny curvature: negative density.
    bad = (0.001, 2.5, -0.99, 0.0, 0.01)
    k = np.linspace(-0.5, 0.5, 21)
    T = 0.1
    iv = np.sqrt(np.maximum(svi_total_variance(k, bad), 1e-8) / T)
    fit = fit_svi(k, iv, T)
    assert not fit.butterfly_ok
    assert fit.butterfly_violations.size > 0


def test_calendar_arbitrage_reported():
    k = np.linspace(-0.5, 0.5, 21)
    near = fit_svi(k, np.sqrt(svi_total_variance(k, (0.04, 0.1, -0.3, 0.0, 0.2)) / 0.1), 0.1)
    far_ok = fit_svi(k, np.sqrt(svi_total_variance(k, (0.08, 0.1, -0.3, 0.0, 0.2)) / 0.5), 0.5)
    far_bad = fit_svi(k, np.sqrt(svi_total_variance(k, (0.01, 0.1, -0.3, 0.0, 0.2)) / 0.5), 0.5)
    assert calendar_arbitrage([near, far_ok]) == []
    violations = calendar_arbitrage([far_bad, near])
    assert violations and all(v[0] == 0.1 and v[1] == 0.5 for v in violations)
