"""Rolling hedge caps that never lock up, and the keeper's risk budget in the hedge
band and the sale limits, on the real Uniswap V3 pool."""
import ape
import pytest

from tests.integration.helpers import (
    DAY, HOUR, SCALE, USD, WAD, buy_usdc, later, move_market, seed, spot_of,
)


@pytest.fixture
def h40(hedged, depositor, buyer, keeper, chain):
    """500k USDC and 40 ETH of 3,000 calls sold: vault delta about -21 ETH."""
    return seed(hedged, depositor, buyer, keeper, chain, calls=40)


@pytest.fixture
def h(hedged, depositor, buyer, keeper, chain):
    return seed(hedged, depositor, buyer, keeper, chain)


def old_bucket(used, cap, window, elapsed):
    """The bucket before the redesign: drained at most one cap, whatever the time."""
    return max(0, used - cap * min(elapsed, window) // window)


def test_hedge_caps_never_lock_up_after_nav_falls(h40, owner, keeper, depositor, stranger, arb, chain):
    h, hd = h40, h40.hedger
    hd.set_hedge_caps(10**17, 10**17, sender=owner)  # 10 % of NAV per hour and per day (tighter: at once)
    nav = h.vault.totalAssets()
    fill = nav // 10  # one trade of the whole cap (= max_trade): both buckets full
    tx = buy_usdc(h, keeper, chain, fill)
    filled_at = tx.timestamp
    assert hd.hourly_used() == hd.daily_used() == fill * SCALE
    chain.pending_timestamp += hd.cooldown() + 1
    h.feed.set_answer(3_000 * 10**8, sender=owner)
    with ape.reverts("hedger: hourly hedge notional cap"):
        buy_usdc(h, keeper, chain, nav // 50)

    # NAV falls: ETH rallies against the short calls, then LPs take out 300k.
    move_market(h, owner, arb, chain, 3_250)
    assert h.vault.totalAssets() < nav
    h.vault.withdraw(300_000 * USD, sender=depositor)
    nav_now = h.vault.totalAssets()
    assert nav_now < nav * 45 // 100
    # Inside the day the daily bucket still holds the fill (it drains at today's lower cap) ...
    later(h, owner, chain, HOUR, price=3_250)
    with ape.reverts("hedger: daily hedge notional cap"):
        buy_usdc(h, keeper, chain, h.vault.totalAssets() // 20)

    # ... and once a whole window has passed both buckets are empty, whatever NAV did.
    chain.pending_timestamp = filled_at + DAY + 1
    later(h, owner, chain, 0, price=3_250)
    nav_now = h.vault.nav_status().nav
    cap = nav_now // 10  # asset units: 10 % of today's NAV
    elapsed = chain.pending_timestamp - filled_at
    # Before the redesign the bucket drained at most one (new, lower) cap, so the
    # fill stayed above the cap for ever: every trade reverted "hourly hedge notional cap".
    assert old_bucket(fill * SCALE, cap * SCALE, HOUR, elapsed) > cap * SCALE
    assert hd.net_delta() < -10 * WAD  # the rally left the vault short delta: a buy shrinks it
    assert chain.blocks.head.timestamp >= hd.last_keeper_action() + hd.keeper_timeout()
    with chain.isolate():  # the keeper trades a whole cap again
        tx = buy_usdc(h, keeper, chain, cap)
        assert hd.hourly_used() == hd.daily_used() == cap * SCALE  # nothing left from the fill
        (ev,) = tx.events.filter(hd.Rebalanced)
        assert ev.kind == 0 and abs(ev.delta_after) < abs(ev.delta_before)
    # ... and so does anyone after the keeper's silence (the fallback, <= 1 % of NAV)
    tx = hd.fallback_rebalance(sender=stranger)
    (ev,) = tx.events.filter(hd.Rebalanced)
    assert ev.kind == 1 and ev.buy_underlying and abs(ev.delta_after) < abs(ev.delta_before)
    assert hd.hourly_used() == hd.daily_used() == ev.amount_in * SCALE
    assert ev.amount_in <= nav_now // 100 + 1


def band_trade(h, target):
    """USDC that moves the vault's delta from now to `target` (wad ETH) at the oracle."""
    return (target - h.hedger.net_delta()) * spot_of(h) // WAD // SCALE


def test_a_lower_risk_budget_narrows_the_hedge_band(h, owner, keeper, chain):
    g, hd = h.guard, h.hedger
    assert g.risk_budget() == WAD and g.band() == g.delta_band() == 10**16
    buy_usdc(h, keeper, chain, band_trade(h, 0))  # hedge to about zero
    assert abs(hd.net_delta()) < WAD // 20
    chain.pending_timestamp += hd.cooldown() + 1
    h.feed.set_answer(3_000 * 10**8, sender=owner)
    # An overshoot to +1.2 ETH: |delta| grows, but stays inside the band at a full
    # budget (1 % of ~500k NAV = ~1.67 ETH at 3,000).
    overshoot = band_trade(h, 12 * WAD // 10)
    with chain.isolate():
        tx = buy_usdc(h, keeper, chain, overshoot)
        (ev,) = tx.events.filter(hd.Rebalanced)
        assert abs(ev.delta_after) > abs(ev.delta_before)
    # The keeper halves its budget: it applies at once and halves the band (~0.83 ETH).
    tx = g.post_risk_budget(WAD // 2, sender=keeper)
    (ev,) = tx.events.filter(g.RiskBudgetPosted)
    assert (ev.target, ev.effective) == (WAD // 2, WAD // 2)
    assert g.risk_budget() == WAD // 2 and g.band() == 5 * 10**15
    with ape.reverts("hedger: trade moves delta away from band"):
        buy_usdc(h, keeper, chain, overshoot)
    # The reverse: a higher budget is approached at budget_rate (10 %) per hour.
    g.post_risk_budget(WAD, sender=keeper)
    assert g.risk_budget() == WAD // 2 and g.budget_target() == WAD
    with ape.reverts("hedger: trade moves delta away from band"):
        buy_usdc(h, keeper, chain, overshoot)
    later(h, owner, chain, 3 * HOUR)
    assert g.risk_budget() >= 8 * WAD // 10  # band >= 1.33 ETH: the overshoot fits again
    tx = buy_usdc(h, keeper, chain, band_trade(h, 12 * WAD // 10))
    (ev,) = tx.events.filter(hd.Rebalanced)
    assert abs(ev.delta_after) > abs(ev.delta_before)


def test_a_lower_risk_budget_scales_the_sale_limits(h, keeper, buyer, chain):
    """20 more calls take the stress margin to 240k: inside 50 % of NAV at a full
    budget, over it at half a budget (25 % of NAV)."""
    g = h.guard
    with chain.isolate():
        h.options.buy(h.sid, 20 * WAD, 10**12, chain.pending_timestamp + 60, sender=buyer)
    g.post_risk_budget(WAD // 2, sender=keeper)
    with ape.reverts("guard: stress margin above limit"):
        h.options.buy(h.sid, 20 * WAD, 10**12, chain.pending_timestamp + 60, sender=buyer)
