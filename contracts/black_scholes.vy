# pragma version 0.4.3
"""
@title black_scholes
@notice Black-Scholes price, delta, gamma and vega for European calls and
        puts on a non-dividend underlying, in 1e18 fixed point, computed
        on-chain from spot, strike, time to expiry, rate and vol.

        Units (all wad = 1e18 fixed point):
        - spot, strike: quote currency per 1 underlying (e.g. USD per ETH);
        - tau: seconds to expiry (a year is 365 days);
        - rate: continuously compounded per year (1e18 = 100 %), signed;
        - vol: annualised (1e18 = 100 %);
        - prices: quote per 1 underlying; delta: 0..1e18 (put = call - 1e18);
        - gamma: d(delta)/d(spot) per 1 unit of quote, times 1e18;
        - vega: d(price)/d(vol) per 1.00 of vol.

        Normal CDF: W. J. Cody's rational Chebyshev approximations of erf and
        erfc (Math. Comp. 1969), three ranges, relative error below 6e-18 in
        exact arithmetic; evaluated here in 1e18 fixed point with snekmate's
        `_wad_exp`. ln and exp: snekmate `math._wad_ln`, `math._wad_exp`.
        The Gaussian density for gamma and vega is carried as
        e * 2**-k with e in (0.5, 1], so both keep full relative precision
        deep into the tails.

        Domain: spot, strike > 0; MIN_VOL <= vol <= MAX_VOL; tau <= MAX_TAU;
        MIN_RATE <= rate <= MAX_RATE. tau == 0 gives intrinsic value, deltas of
        exactly 0 or 1 (0 at the money for a call) and zero gamma and vega;
        extreme moneyness saturates the CDF to exactly 0 or 1, never reverts.
        Inputs outside the domain revert with "black_scholes: ...".
@custom:kill Stateless module; nothing to disable.
"""

from snekmate.utils import math


struct Greeks:
    call_price: uint256
    put_price: uint256
    call_delta: uint256
    put_delta: int256
    gamma: uint256
    vega: uint256


WAD: constant(int256) = 10**18
UWAD: constant(uint256) = 10**18
YEAR: constant(uint256) = 31_536_000

MIN_VOL: constant(uint256) = 10**16            # 1 %
MAX_VOL: constant(uint256) = 10 * 10**18       # 1000 %
MAX_TAU: constant(uint256) = 5 * YEAR
MIN_RATE: constant(int256) = -10**18
MAX_RATE: constant(int256) = 10**18
MAX_PRICE: constant(uint256) = 10**36          # spot and strike bound (1e18 USD)

SQRT2: constant(int256) = 1_414213562373095049        # sqrt(2)
SQRT_2PI: constant(uint256) = 2_506628274631000502    # sqrt(2 pi)
INV_SQRT_PI: constant(int256) = 564189583547756287    # 1 / sqrt(pi)
LN2: constant(int256) = 693147180559945309
# erfc(y) < 1e-19 beyond this y (1e18 scale); N(x) is then exactly 0 or 1.
ERFC_CUTOFF: constant(int256) = 6_600000000000000000
# exp(-x^2/2) < 1e-300 beyond |x| = 37: density treated as 0.
PDF_CUTOFF: constant(int256) = 37 * 10**18

# Cody (1969) coefficients, scaled by 1e18.
A0: constant(int256) = 3_161123743870565600
A1: constant(int256) = 113_864154151050156000
A2: constant(int256) = 377_485237685302021000
A3: constant(int256) = 3209_377589138469470000
A4: constant(int256) = 185777706184603153
B0: constant(int256) = 23_601290952344120900
B1: constant(int256) = 244_024637934444173000
B2: constant(int256) = 1282_616526077372280000
B3: constant(int256) = 2844_236833439170620000
C0: constant(int256) = 564188496988670089
C1: constant(int256) = 8_883149794388375940
C2: constant(int256) = 66_119190637141629500
C3: constant(int256) = 298_635138197400131000
C4: constant(int256) = 881_952221241769090000
C5: constant(int256) = 1712_047612634070580000
C6: constant(int256) = 2051_078377826071470000
C7: constant(int256) = 1230_339354797997250000
C8: constant(int256) = 21531153547
D0: constant(int256) = 15_744926110709834700
D1: constant(int256) = 117_693950891312499000
D2: constant(int256) = 537_181101862009858000
D3: constant(int256) = 1621_389574566690190000
D4: constant(int256) = 3290_799235733459630000
D5: constant(int256) = 4362_619090143247160000
D6: constant(int256) = 3439_367674143721640000
D7: constant(int256) = 1230_339354803749420000
P0: constant(int256) = 305326634961232344
P1: constant(int256) = 360344899949804439
P2: constant(int256) = 125781726111229246
P3: constant(int256) = 16083785148742277
P4: constant(int256) = 658749161529838
P5: constant(int256) = 16315387137302098
Q0: constant(int256) = 2_568520192289822420
Q1: constant(int256) = 1_872952849923467250
Q2: constant(int256) = 527905102951428412
Q3: constant(int256) = 60518341312441319
Q4: constant(int256) = 2335204976268692


@pure
@internal
def _erfc(y: int256) -> int256:
    """
    @dev erfc(y) * 1e18 for 0 <= y (1e18 scale), Cody's three ranges.
         Products of two wad values stay below 2**255 for y < ERFC_CUTOFF,
         so plain checked arithmetic is used throughout.
    """
    if y >= ERFC_CUTOFF:
        return 0
    if y <= 468750000000000000:
        # erf(y) = y * P(y^2) / Q(y^2)
        ysq: int256 = y * y // WAD
        xnum: int256 = A4 * ysq // WAD
        xden: int256 = ysq
        xnum = (xnum + A0) * ysq // WAD
        xden = (xden + B0) * ysq // WAD
        xnum = (xnum + A1) * ysq // WAD
        xden = (xden + B1) * ysq // WAD
        xnum = (xnum + A2) * ysq // WAD
        xden = (xden + B2) * ysq // WAD
        return WAD - y * (xnum + A3) // (xden + B3)
    e: int256 = math._wad_exp(-(y * y // WAD))
    if y <= 4 * WAD:
        xnum: int256 = C8 * y // WAD
        xden: int256 = y
        xnum = (xnum + C0) * y // WAD
        xden = (xden + D0) * y // WAD
        xnum = (xnum + C1) * y // WAD
        xden = (xden + D1) * y // WAD
        xnum = (xnum + C2) * y // WAD
        xden = (xden + D2) * y // WAD
        xnum = (xnum + C3) * y // WAD
        xden = (xden + D3) * y // WAD
        xnum = (xnum + C4) * y // WAD
        xden = (xden + D4) * y // WAD
        xnum = (xnum + C5) * y // WAD
        xden = (xden + D5) * y // WAD
        xnum = (xnum + C6) * y // WAD
        xden = (xden + D6) * y // WAD
        return e * (xnum + C7) // (xden + D7)
    # y > 4: erfc(y) = exp(-y^2) / y * (1/sqrt(pi) - R(1/y^2) / y^2)
    inv: int256 = WAD * WAD // (y * y // WAD)
    xnum: int256 = P5 * inv // WAD
    xden: int256 = inv
    xnum = (xnum + P0) * inv // WAD
    xden = (xden + Q0) * inv // WAD
    xnum = (xnum + P1) * inv // WAD
    xden = (xden + Q1) * inv // WAD
    xnum = (xnum + P2) * inv // WAD
    xden = (xden + Q2) * inv // WAD
    xnum = (xnum + P3) * inv // WAD
    xden = (xden + Q3) * inv // WAD
    r: int256 = inv * (xnum + P4) // (xden + Q4)
    return e * ((INV_SQRT_PI - r) * WAD // y) // WAD


@pure
@internal
def _ncdf(x: int256) -> uint256:
    """
    @notice Standard normal CDF N(x), x and result in 1e18.
    """
    ax: int256 = abs(x)
    half: int256 = self._erfc(ax * WAD // SQRT2) // 2
    if x < 0:
        return convert(half, uint256)
    return convert(WAD - half, uint256)


@pure
@internal
def _pdf_parts(x: int256) -> (uint256, uint256):
    """
    @dev exp(-x^2/2) as (e, k) with value e * 2**-k, e in (0.5e18, 1e18].
         k = 256 means the value is negligible (|x| > PDF_CUTOFF).
    """
    ax: int256 = abs(x)
    if ax > PDF_CUTOFF:
        return 0, 256
    y: int256 = ax * ax // (2 * WAD)
    k: int256 = y // LN2
    e: int256 = math._wad_exp(k * LN2 - y)
    return convert(e, uint256), convert(k, uint256)


@pure
@internal
def _npdf(x: int256) -> uint256:
    """
    @notice Standard normal density n(x), x and result in 1e18.
    """
    e: uint256 = 0
    k: uint256 = 0
    e, k = self._pdf_parts(x)
    if k >= 256:
        return 0
    return (e * UWAD // SQRT_2PI) >> k


@pure
@internal
def _check_domain(spot: uint256, strike: uint256, tau: uint256, rate: int256, vol: uint256):
    assert spot != 0, "black_scholes: zero spot"
    assert strike != 0, "black_scholes: zero strike"
    assert vol != 0, "black_scholes: zero vol"
    assert spot <= MAX_PRICE, "black_scholes: spot too large"
    assert strike <= MAX_PRICE, "black_scholes: strike too large"
    assert vol >= MIN_VOL, "black_scholes: vol below MIN_VOL"
    assert vol <= MAX_VOL, "black_scholes: vol above MAX_VOL"
    assert tau <= MAX_TAU, "black_scholes: tau above MAX_TAU"
    assert rate >= MIN_RATE and rate <= MAX_RATE, "black_scholes: rate out of range"


@pure
@internal
def _greeks(spot: uint256, strike: uint256, tau: uint256, rate: int256, vol: uint256) -> Greeks:
    """
    @notice Call and put prices, deltas, gamma and vega in one pass.
    @param spot Quote per 1 underlying, 1e18.
    @param strike Quote per 1 underlying, 1e18.
    @param tau Seconds to expiry; 0 gives intrinsic value.
    @param rate Annual continuously compounded rate, 1e18 = 100 %.
    @param vol Annualised vol, 1e18 = 100 %.
    """
    self._check_domain(spot, strike, tau, rate, vol)
    # Discounted strike K * exp(-r T).
    rt: int256 = rate * convert(tau, int256) // convert(YEAR, int256)
    kd: uint256 = strike
    if rt != 0:
        kd = strike * convert(math._wad_exp(-rt), uint256) // UWAD
    if tau == 0:
        g0: Greeks = empty(Greeks)
        if spot > strike:
            g0.call_price = spot - strike
            g0.call_delta = UWAD
        else:
            g0.put_price = strike - spot
            g0.put_delta = -WAD
        return g0

    # sqrt(T) and vol * sqrt(T), both 1e18; T = tau / YEAR.
    sqrt_t: uint256 = isqrt(tau * UWAD * UWAD // YEAR)
    vs: int256 = convert(vol * sqrt_t // UWAD, int256)
    # d1 = (ln(S / K_d) + vs^2 / 2) / vs
    ln_f: int256 = math._wad_ln(convert(spot * UWAD // strike, int256)) + rt
    d1: int256 = (ln_f + vs * vs // (2 * WAD)) * WAD // vs
    d2: int256 = d1 - vs
    nd1: uint256 = self._ncdf(d1)
    nd2: uint256 = self._ncdf(d2)

    g: Greeks = empty(Greeks)
    call: int256 = (convert(spot * nd1, int256) - convert(kd * nd2, int256)) // WAD
    # Put from parity, so C - P = S - K_d holds to the wei.
    put: int256 = call - convert(spot, int256) + convert(kd, int256)
    g.call_price = convert(max(call, 0), uint256)
    g.put_price = convert(max(put, 0), uint256)
    g.call_delta = nd1
    g.put_delta = convert(nd1, int256) - WAD

    e: uint256 = 0
    k: uint256 = 0
    e, k = self._pdf_parts(d1)
    if k < 256:
        # vega = S n(d1) sqrt(T); gamma = n(d1) / (S vs)  (per unit of quote).
        # Scale by 2**-k with a right shift of the result, never a left shift of
        # the divisor (UWAD << k wraps for k >= 197).
        g.vega = ((spot * e // SQRT_2PI) * sqrt_t // UWAD) >> k
        g.gamma = (e * 10**54 // SQRT_2PI // spot // convert(vs, uint256)) >> k
    return g
