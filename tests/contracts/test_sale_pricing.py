"""Sales are priced at the oracle's spot now (SPEC.md, "Sales"): a unit never sells
below its value today, nor below the liability it adds to the book. And the
stress grid reaches spot -> 0, so a far out-of-the-money put locks its strike.

Changed behaviour: the old book sold at the cached mark, whatever the spot had
done since the marks; these tests move the market (the pool by arbitrage, then
the oracle, a TWAP window apart, so no breaker trips) without refreshing marks.
"""
import ape
import pytest

from tests.conftest import USD
from tests.contracts.conftest import (
    SCALE, TIMELOCK_DELAY, WAD, ceil_div, move_spot, new_series, payoff, post, taylor,
)


def value_now(s, sid, spot, when):
    """max(Black-Scholes at `spot` with the time left at `when`, intrinsic), from the Pricer."""
    strike, expiry, is_call = s.book.series(sid)
    g = s.pricer.greeks(spot, strike, expiry - when, s.book.risk_free_rate(), s.book.marks(sid).vol)
    return max(g.call_price if is_call else g.put_price, payoff(is_call, strike, spot))


@pytest.mark.parametrize(
    "strike,is_call,move",
    [(3_000, True, 0.048), (3_000, False, -0.048), (3_300, True, -0.04), (2_800, False, 0.045), (3_000, True, -0.03)],
)
def test_a_sale_after_a_spot_move_pays_its_value_now_and_the_liability_it_adds(
    s, chain, owner, keeper, buyer, stranger, fund_system, strike, is_call, move
):
    book = s.book
    fund_system(buyer, 100_000 * USD)
    sid, _ = new_series(s, keeper, chain, strike, is_call)
    s.options.buy(sid, WAD, 10**12, chain.pending_timestamp + 60, sender=buyer)  # open interest at S0
    s0 = book.cache()[0]
    mark = book.marks(sid)
    spot = int(3_000 * (1 + move)) * WAD
    move_spot(s, owner, stranger, chain, spot // WAD)
    assert book.cache()[0] == s0  # the marks have not moved
    before = book.liability_at(spot)
    assert before[1]  # within the drift bound: the aggregates may be used

    size = 2 * WAD
    quote = s.options.quote(sid, size)
    tx = s.options.buy(sid, size, quote, chain.pending_timestamp + 60, sender=buyer)
    (sale,) = tx.events.filter(book.SaleRecorded)
    (bought,) = tx.events.filter(s.options.Bought)
    unit, premium = sale.unit_price, bought.premium

    worth = value_now(s, sid, spot, tx.timestamp)
    added_per_unit = taylor(mark.price, mark.delta, mark.gamma, spot - s0)
    # the unit price is exactly max(value now, Taylor of the cached mark)
    assert unit == max(worth, added_per_unit)
    assert unit >= worth and unit >= added_per_unit
    assert unit != mark.price  # no longer the cached mark
    # what the book's liability at today's spot grew by: never more than the price
    # (up to the aggregate's rounding), never more than the premium
    added = book.liability_at(spot)[0] - before[0]
    assert added <= size * unit // WAD + 2
    assert premium * 10**12 >= added
    assert premium * 10**12 >= size * worth // WAD
    assert premium == ceil_div(unit * size // WAD * (WAD + s.options.spread()), SCALE) == quote


def test_itm_call_just_before_expiry_cannot_be_bought_below_intrinsic(s, chain, owner, keeper, buyer, stranger, fund_system):
    """The cached mark of an at-the-money call an hour from expiry is a few dollars;
    after a +4.8 % move (inside the 5 % drift bound) the call is 144 in the money.
    The old book would have sold it at the cached mark."""
    book = s.book
    fund_system(buyer, 100_000 * USD)
    sid, expiry = new_series(s, keeper, chain, 3_000, True, seconds=3_600 + 1_000)
    # (sizes kept small: near expiry at the money, the cash gamma limit binds first)
    s.options.buy(sid, WAD // 2, 10**12, chain.pending_timestamp + 60, sender=buyer)
    mark = book.marks(sid)
    assert mark.price < 20 * WAD
    move_spot(s, owner, stranger, chain, 3_144)
    chain.pending_timestamp = expiry - 30
    post(s.feed, owner, 3_144)
    intrinsic = 144 * WAD
    assert mark.price < intrinsic
    size = 3 * WAD // 2
    tx = s.options.buy(sid, size, 10**12, expiry, sender=buyer)
    (sale,) = tx.events.filter(book.SaleRecorded)
    (bought,) = tx.events.filter(s.options.Bought)
    assert sale.unit_price >= intrinsic
    assert bought.premium >= size * intrinsic // SCALE * (WAD + s.options.spread()) // WAD
    # and never below the value now
    assert sale.unit_price >= value_now(s, sid, 3_144 * WAD, tx.timestamp)


def test_far_out_of_the_money_put_locks_its_strike(s, chain, owner, keeper, buyer, fund_system):
    """A put struck at 40 % of spot pays nothing in any shock down to -50 % (where the
    old grid stopped): the grid now reaches spot -> 0, where it pays its strike, so it
    locks margin >= size x strike and a huge size is refused."""
    book = s.book
    # strikes at 40 % of spot lie outside the default +-50 % band: widen it (timelocked)
    book.set_series_limits(6 * 10**17, book.max_horizon(), book.max_new_series(), sender=owner)
    chain.pending_timestamp += TIMELOCK_DELAY
    book.set_series_limits(6 * 10**17, book.max_horizon(), book.max_new_series(), sender=owner)
    post(s.feed, owner, 3_000)
    fund_system(buyer, 100_000 * USD)
    put, _ = new_series(s, keeper, chain, 1_200, False, days=30, vol=1.0)
    assert book.marks(put).price > 0

    size = 10 * WAD
    s.options.buy(put, size, 10**12, chain.pending_timestamp + 60, sender=buyer)
    grid = book.aggregates()[4]
    margin = book.valuation(3_000 * WAD, 0).margin
    assert margin >= size * 1_200  # size x strike (wad x wad / wad)
    assert margin == grid[0] * 10**12 == 10 * 1_200 * WAD
    assert all(g == 0 for g in grid[2:])  # -50 % and up: nothing
    assert s.vault.nav_status().margin == 12_000 * USD

    nav = s.vault.totalAssets() * 10**12  # wad USD, about 100,000
    huge = 100 * WAD  # locks 120,000 USD
    assert huge * 1_200 > nav * s.guard.max_utilisation() // WAD
    with ape.reverts("guard: stress margin above limit"):
        s.options.buy(put, huge, 10**12, chain.pending_timestamp + 60, sender=buyer)
    assert book.open_interest(put) == size
