"""Shared steps of the integration scenarios (real Uniswap V3 pool on anvil).

Numbers mirror contracts/constants.vy; the tests read live parameters from the
chain wherever a getter exists.
"""
from scripts.market import FEE, pool_price, sqrt_price_x96

USD = 10**6
WAD = 10**18
HOUR = 3_600
DAY = 86_400
SCALE = 10**12  # wad USD -> asset units (6-decimal USDC)

# constants.vy (no getters on chain)
MAX_HALT = 3 * DAY
HALT_EPOCH = 30 * DAY
FALLBACK_TRADE = 10**16
LEVEL_OF = [2, 1, 1, 2, 1, 1]  # per breaker bit, as RiskGuard.LEVELS
BIT = {"oracle_stale": 0, "oracle_dex_deviation": 1, "spot_move": 2, "nav_drawdown": 3, "marks_stale": 4, "thin_liquidity": 5}

# RiskGuard setters at their defaults, in argument order
ORACLE_DEFAULTS = [3_600, 2 * 10**16, 600]  # set_oracle(heartbeat, max_deviation, twap_window)
BREAKER_DEFAULTS = [10**17, 3_600, 10**17, 86_400, 10**16, 3_600]  # set_breakers(max_spot_move, spot_move_window,
#                                                                    max_drawdown, drawdown_window, min_pool_depth, cooldown)
LIMIT_DEFAULTS = [5 * 10**17, 25 * 10**16, 5 * 10**16, 10**16]  # set_limits(max_utilisation, max_vega_ratio,
#                                                                 max_gamma_ratio, delta_band)


def seed(hedged, depositor, buyer, keeper, chain, calls=20, strike=3_000):
    """500k USDC in the vault and `calls` ETH of 7-day calls sold (20 at 3,000: net delta about -10 ETH)."""
    usdc = hedged.m.usdc
    for who, amount in ((depositor, 500_000 * USD), (buyer, 100_000 * USD)):
        usdc.mint(who, amount, sender=who)
        usdc.approve(hedged.vault, 2**256 - 1, sender=who)
    hedged.vault.deposit(500_000 * USD, sender=depositor)
    sid = hedged.book.create_series(strike * WAD, chain.pending_timestamp + 7 * DAY, True, 6 * 10**17, sender=keeper).return_value
    hedged.options.buy(sid, calls * WAD, 10**12, chain.pending_timestamp + 60, sender=buyer)
    hedged.sid = sid
    return hedged


def spot_of(h):
    """The oracle's latest answer in wad USD per ETH."""
    return h.feed.latestAnswer() * 10 ** (18 - h.feed.decimals())


def oracle_floor(h, usdc_in):
    """The minimum WETH out the hedger accepts for `usdc_in` (oracle price minus max_slippage)."""
    expected = usdc_in * SCALE * WAD // spot_of(h)
    return expected * (WAD - h.hedger.max_slippage()) // WAD


def sell_floor(h, weth_in):
    """The minimum USDC out the hedger accepts for `weth_in`."""
    expected = weth_in * spot_of(h) // WAD // SCALE
    return expected * (WAD - h.hedger.max_slippage()) // WAD


def pump(m, attacker, chain, usdc_in):
    m.usdc.mint(attacker, usdc_in, sender=attacker)
    m.usdc.approve(m.router, 2**256 - 1, sender=attacker)
    before = m.weth.balanceOf(attacker)
    m.router.exactInputSingle((m.usdc, m.weth, FEE, attacker, chain.pending_timestamp + 60, usdc_in, 0, 0), sender=attacker)
    return m.weth.balanceOf(attacker) - before


def later(h, owner, chain, seconds, price=3_000):
    """Let time pass with a live oracle at `price` and refreshed marks."""
    chain.pending_timestamp += seconds
    h.feed.set_answer(price * 10**8, sender=owner)
    h.book.update_marks(sender=owner)


def arbitrage_to(m, usd_per_eth, trader, chain):
    """Swap on the pool until its price is `usd_per_eth`, as scripts.market.arbitrage_to
    does. Its downward branch calls `chain.provider.set_balance(trader, ...)` with the
    account object, which anvil refuses ("invalid type: map"), so the WETH side is
    funded here with the account's address."""
    weth_is_token0 = m.pool.token0() == m.weth.address
    target = sqrt_price_x96(usd_per_eth, weth_is_token0)
    if target == m.pool.slot0()[0]:
        return
    if usd_per_eth > pool_price(m):  # ETH must get dearer: buy WETH with USDC
        token_in, token_out, amount = m.usdc, m.weth, 10**15
        m.usdc.mint(trader, amount, sender=trader)
    else:
        token_in, token_out, amount = m.weth, m.usdc, 10**24
        chain.provider.set_balance(trader.address, amount + 10**21)
        m.weth.deposit(value=amount, sender=trader)
    token_in.approve(m.router, 2**256 - 1, sender=trader)
    m.router.exactInputSingle((token_in, token_out, FEE, trader, chain.pending_timestamp + 60, amount, 0, target), sender=trader)


def move_market(h, owner, arb, chain, price):
    """ETH moves to `price`: arbitrageurs bring the pool there, a TWAP window
    passes, the oracle follows and anyone refreshes the marks."""
    arbitrage_to(h.m, price, arb, chain)
    chain.pending_timestamp += h.guard.twap_window() + 100
    h.feed.set_answer(price * 10**8, sender=owner)
    h.book.update_marks(sender=owner)


def buy_usdc(h, keeper, chain, usdc_in, **kw):
    """The keeper buys WETH for `usdc_in` at the oracle floor."""
    return h.hedger.rebalance(True, usdc_in, oracle_floor(h, usdc_in), chain.pending_timestamp + 60, sender=keeper, **kw)


def sell_weth(h, keeper, chain, weth_in, **kw):
    """The keeper sells `weth_in` of the hedge at the oracle floor."""
    return h.hedger.rebalance(False, weth_in, sell_floor(h, weth_in), chain.pending_timestamp + 60, sender=keeper, **kw)


def ceil_div(a, b):
    return -(-a // b)


def fresh_nav(h):
    """NAV (asset units) from the book's aggregates at the oracle's answer, as
    Vault._val computes it before the conservative haircut."""
    spot = spot_of(h)
    hedge = h.vault.hedge_units()
    v = h.book.valuation(spot, hedge)
    gross = h.vault.total_idle() + hedge * spot // WAD // SCALE
    return max(0, gross - ceil_div(v.liability, SCALE)), v


def tripped(tx, guard):
    return {ev.name for ev in tx.events.filter(guard.BreakerTripped)}


def reset(tx, guard):
    return {ev.name for ev in tx.events.filter(guard.BreakerReset)}


def levels(tx, guard):
    return [(ev.previous, ev.level) for ev in tx.events.filter(guard.LevelChanged)]
