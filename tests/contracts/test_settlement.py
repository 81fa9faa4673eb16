"""Settlement when the vault's cash is short (SPEC.md, "Settlement"): with no hedge
the payoff is paid pro rata from the cash there is and settlement never reverts;
with a hedge, `settle` reverts until the hedge is sold for cash
(`Hedger.raise_settlement_cash`, anyone).

The stress grid covers a rally of +200 %, and sales keep its worst loss within
half of NAV, so cash falls short only beyond the grid: here the settlement price
is 30,000 for calls struck at 3,000 (x10). For the hedge to be sold there, the
pool gets liquidity around that price and is arbitraged to it.
"""
import ape
import pytest

from scripts.market import FEE, sqrt_price_x96, tick_of
from tests.conftest import USD
from tests.contracts.conftest import SCALE, WAD, arbitrage, new_series, post


def _sell_calls(s, chain, keeper, buyer, fund_system, sizes):
    fund_system(buyer, 100_000 * USD)
    expiry = chain.pending_timestamp + 7 * 86_400
    sids = []
    for strike, size in sizes:
        sid, _ = new_series(s, keeper, chain, strike, True, expiry=expiry)
        s.options.buy(sid, size, 10**12, chain.pending_timestamp + 60, sender=buyer)
        sids.append(sid)
    return sids, expiry


def test_pro_rata_when_cash_is_short_and_no_hedge(s, chain, owner, keeper, buyer, stranger, depositor, fund_system, usdc):
    (a, b), expiry = _sell_calls(s, chain, keeper, buyer, fund_system, [(3_000, 4 * WAD), (3_100, WAD)])
    s.options.transfer(stranger, a, WAD, sender=buyer)
    assert s.vault.hedge_units() == 0
    chain.pending_timestamp = expiry + 10
    post(s.feed, owner, 30_000)
    rid = s.feed.latest_round()

    cash = s.vault.total_idle()
    owed = 4 * 27_000 * USD
    assert owed > cash  # short by construction
    tx = s.options.settle(a, rid, sender=stranger)
    (ev,) = tx.events.filter(s.options.Settled)
    assert ev.pro_rata and ev.total_payout == cash and ev.price == 30_000 * WAD
    assert ev.payoff_per_unit == cash * SCALE // (4 * WAD) < 27_000 * WAD
    assert s.vault.total_idle() == 0 and s.vault.total_reserved() == cash

    paid = 0
    for holder, size in ((buyer, 3 * WAD), (stranger, WAD)):
        before = usdc.balanceOf(holder)
        s.options.claim(a, sender=holder)
        got = usdc.balanceOf(holder) - before
        assert got == size * ev.payoff_per_unit // SCALE
        paid += got
    assert cash - 2 <= paid <= cash  # all the cash, rounded down per holder

    # No cash left at all: the next series settles too (pays nothing), it never reverts.
    # (Pro rata is per series, as SPEC.md has it: across series expiring together,
    # the first one settled takes the cash there is.)
    tx = s.options.settle(b, rid, sender=stranger)
    (ev,) = tx.events.filter(s.options.Settled)
    assert ev.pro_rata and ev.total_payout == 0 and ev.payoff_per_unit == 0
    assert s.options.settled(b)
    s.options.claim(b, sender=buyer)
    assert s.options.balanceOf(buyer, b) == 0
    assert s.vault.totalAssets() == 0 and s.vault.maxWithdraw(depositor) == 0


def _add_liquidity_around(m, owner, chain, lo_usd, hi_usd, weth_amount):
    """A WETH-only Uniswap V3 position over [lo_usd, hi_usd] (above today's price)."""
    weth_is_token0 = m.pool.token0() == m.weth.address
    lo, hi = sorted(tick_of(sqrt_price_x96(p, weth_is_token0)) for p in (lo_usd, hi_usd))
    lower, upper = lo // 10 * 10 + 10, hi // 10 * 10
    chain.provider.set_balance(owner.address, weth_amount + 10**21)
    m.weth.deposit(value=weth_amount, sender=owner)
    token0, token1 = (m.weth, m.usdc) if weth_is_token0 else (m.usdc, m.weth)
    a0, a1 = (weth_amount, 0) if weth_is_token0 else (0, weth_amount)
    m.positions.mint(
        (token0, token1, FEE, lower, upper, a0, a1, 0, 0, owner, chain.pending_timestamp + 600), sender=owner
    )


@pytest.fixture
def hedged_short(s, chain, owner, keeper, buyer, stranger, fund_system):
    """5 calls at 3,000 sold, a 2-ETH hedge bought by the keeper; at expiry the market
    is at 30,000 (pool and oracle): the payoff (135,000) exceeds the cash."""
    (a,), expiry = _sell_calls(s, chain, keeper, buyer, fund_system, [(3_000, 5 * WAD)])
    usdc_in = 6_000 * USD
    floor = usdc_in * 10**12 * WAD // (3_000 * WAD) * (WAD - s.hedger.max_slippage()) // WAD
    s.hedger.rebalance(True, usdc_in, floor, chain.pending_timestamp + 60, sender=keeper)
    assert s.vault.hedge_units() >= floor
    _add_liquidity_around(s.m, owner, chain, 20_000, 40_000, 500 * WAD)
    chain.pending_timestamp = expiry - 800
    arbitrage(s.m, 30_000, stranger, chain)
    chain.pending_timestamp = expiry + 10
    post(s.feed, owner, 30_000)  # the first round after expiry
    return a, s.feed.latest_round()


def test_settle_with_a_hedge_and_short_cash_waits_for_the_hedge_to_be_sold(s, hedged_short, stranger):
    a, rid = hedged_short
    owed = 5 * 27_000 * USD
    assert s.vault.total_idle() < owed
    with ape.reverts("market: not enough cash, call hedger.raise_settlement_cash"):
        s.options.settle(a, rid, sender=stranger)
    # anyone: refresh (the settlement need counts the expired series), sell the hedge
    s.book.update_marks(sender=stranger)
    assert s.book.settle_need() == 5 * 27_000 * WAD
    hedge = s.vault.hedge_units()
    tx = s.hedger.raise_settlement_cash(sender=stranger)
    (ev,) = tx.events.filter(s.hedger.Rebalanced)
    assert ev.kind == 2 and not ev.buy_underlying and ev.amount_in < hedge
    assert s.vault.total_idle() >= owed
    tx = s.options.settle(a, rid, sender=stranger)
    (ev,) = tx.events.filter(s.options.Settled)
    assert not ev.pro_rata and ev.total_payout == owed and ev.payoff_per_unit == 27_000 * WAD
    assert s.book.settle_need() == 0


@pytest.mark.xfail(
    strict=True,
    raises=ape.exceptions.ContractLogicError,
    reason="contract bug: Hedger.raise_settlement_cash sells hedge only up to OptionBook.settle_need "
    "(intrinsic at the spot of the last refresh) while OptionMarket.settle needs the payoff at the "
    "settlement round's price; when the spot has fallen since that round, settle keeps reverting "
    "'market: not enough cash, call hedger.raise_settlement_cash' while the vault still holds hedge, "
    "and raise_settlement_cash refuses ('hedger: cash covers the settlements')",
)
def test_raise_settlement_cash_unblocks_settle_after_the_spot_fell(s, hedged_short, chain, owner, stranger):
    a, rid = hedged_short  # settlement price 30,000: 135,000 owed
    arbitrage(s.m, 25_000, stranger, chain)
    chain.pending_timestamp += 700
    post(s.feed, owner, 25_000)
    s.book.update_marks(sender=stranger)
    assert s.book.settle_need() == 5 * 22_000 * WAD  # at today's 25,000
    s.hedger.raise_settlement_cash(sender=stranger)
    assert s.vault.hedge_units() > 0
    with ape.reverts("hedger: cash covers the settlements"):
        s.hedger.raise_settlement_cash(sender=stranger)
    s.options.settle(a, rid, sender=stranger)  # reverts: not enough cash, hedge left
