"""The local market: real Uniswap V3 factory, pool, router and position manager on anvil."""
import math

from scripts.market import FEE, pool_price

WAD = 10**18


def test_pool_starts_at_the_feed_price(market):
    assert abs(pool_price(market) - 3_000) < 0.01
    assert market.factory.getPool(market.weth, market.usdc, FEE) == market.pool.address
    assert market.pool.liquidity() > 0
    assert market.pool.slot0()[4] >= 1  # observation cardinality grows as observations are written
    assert market.feed.decimals() == 8


def test_swap_through_the_router_moves_the_price(market, attacker, chain):
    market.usdc.mint(attacker, 3_000_000 * 10**6, sender=attacker)
    market.usdc.approve(market.router, 2**256 - 1, sender=attacker)
    before = pool_price(market)
    params = (market.usdc, market.weth, FEE, attacker, chain.pending_timestamp + 60, 1_000_000 * 10**6, 0, 0)
    market.router.exactInputSingle(params, sender=attacker)
    got = market.weth.balanceOf(attacker)
    assert 250 * WAD < got < 334 * WAD  # ~1M USDC of ETH, after price impact
    assert pool_price(market) > before * 1.05  # a large buy pushes the price up


def test_twap_from_observe(market, attacker, chain):
    """The TWAP over a window lags a fresh manipulation: the deviation check relies on it."""
    chain.pending_timestamp += 600
    chain.mine()
    market.usdc.mint(attacker, 2_000_000 * 10**6, sender=attacker)
    market.usdc.approve(market.router, 2**256 - 1, sender=attacker)
    params = (market.usdc, market.weth, FEE, attacker, chain.pending_timestamp + 60, 2_000_000 * 10**6, 0, 0)
    market.router.exactInputSingle(params, sender=attacker)
    chain.mine()
    cumulatives = market.pool.observe([600, 0])[0]
    mean_tick = (cumulatives[1] - cumulatives[0]) / 600
    raw = 1.0001**mean_tick
    weth_is_token0 = market.pool.token0() == market.weth.address
    twap = raw * 1e12 if weth_is_token0 else 1e12 / raw
    assert abs(twap - 3_000) / 3_000 < 0.01  # the window barely saw the pump
    assert pool_price(market) > twap * 1.1  # while spot is far off (+14 % here)
