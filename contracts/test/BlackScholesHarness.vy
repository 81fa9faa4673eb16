# pragma version 0.4.3
"""
@title Black-Scholes harness
@notice Exposes the `black_scholes` module for accuracy tests and gas
        measurement. Tests and benchmarks only.
@custom:kill Test contract; nothing to disable.
"""

from .. import black_scholes as bs


@pure
@external
def ncdf(x: int256) -> uint256:
    return bs._ncdf(x)


@pure
@external
def npdf(x: int256) -> uint256:
    return bs._npdf(x)


@pure
@external
def greeks(spot: uint256, strike: uint256, tau: uint256, rate: int256, vol: uint256) -> bs.Greeks:
    return bs._greeks(spot, strike, tau, rate, vol)


@view
@external
def greeks_gas(spot: uint256, strike: uint256, tau: uint256, rate: int256, vol: uint256) -> uint256:
    """
    @notice Execution gas of one `_greeks` evaluation (call and put price,
            delta, gamma, vega), measured inside the EVM with `msg.gas`:
            excludes the 21,000 base cost, calldata, dispatch and ABI
            decoding; includes everything `_greeks` does.
    """
    before: uint256 = msg.gas
    g: bs.Greeks = bs._greeks(spot, strike, tau, rate, vol)
    after: uint256 = msg.gas
    assert g.call_delta <= 10**18
    return before - after
