# pragma version 0.4.3
"""
@title Ballast Pricer: Black-Scholes on-chain
@notice A stateless contract around the `black_scholes` module: call and put
        price, delta, gamma and vega in one pass, 1e18 fixed point. The option
        book calls it for every mark and every sale; it lives apart from the
        book so the book keeps room under EIP-170 (the module is ~7 KB).
        Units and domain: see `black_scholes`.
@custom:kill Stateless; nothing to disable.
"""

import black_scholes as bs


@pure
@external
def greeks(spot: uint256, strike: uint256, tau: uint256, rate: int256, vol: uint256) -> bs.Greeks:
    """
    @notice Black-Scholes call and put prices, deltas, gamma and vega.
    @param spot Wad USD per underlying.
    @param strike Wad USD per underlying.
    @param tau Seconds to expiry (0: intrinsic value, no gamma or vega).
    @param rate Wad per year, continuously compounded.
    @param vol Wad per sqrt(year).
    @return (call_price, put_price, call_delta, put_delta, gamma, vega), wad.
    """
    return bs._greeks(spot, strike, tau, rate, vol)
