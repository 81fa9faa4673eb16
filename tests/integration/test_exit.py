"""Always an exit: with the oracle silent past its heartbeat and the marks past
their maximum age, with or without open options, and after shutdown, LPs can
withdraw and redeem (at the conservative NAV, NAV - stress margin, while options
are open), and the ERC-4626 views never revert."""
import ape
import pytest

from tests.integration.helpers import HOUR, USD, buy_usdc, fresh_nav, levels, seed, sell_weth, tripped


def views(v, who):
    """Every ERC-4626 view a wallet or aggregator calls; none may revert."""
    return {
        "totalAssets": v.totalAssets(), "maxWithdraw": v.maxWithdraw(who), "maxRedeem": v.maxRedeem(who),
        "convertToAssets": v.convertToAssets(10**12), "convertToShares": v.convertToShares(USD),
        "previewRedeem": v.previewRedeem(10**12), "previewWithdraw": v.previewWithdraw(USD),
        "maxDeposit": v.maxDeposit(who), "maxMint": v.maxMint(who), "free": v.free_collateral(),
    }


def exits(h, who):
    """Withdraw a third of what may be withdrawn, then redeem what may be redeemed; check the prices paid."""
    v = h.vault
    view = views(v, who)
    assert view["maxWithdraw"] > 0 and view["maxRedeem"] > 0
    assert view["maxDeposit"] == 0 == view["maxMint"]
    assets = view["maxWithdraw"] // 3
    shares = v.balanceOf(who)
    expected = v.previewWithdraw(assets)
    v.withdraw(assets, sender=who)
    assert shares - v.balanceOf(who) == expected
    redeem = v.maxRedeem(who) // 2
    expected = v.previewRedeem(redeem)
    cash = h.m.usdc.balanceOf(who)
    v.redeem(redeem, sender=who)
    assert h.m.usdc.balanceOf(who) - cash == expected > 0
    return view


@pytest.fixture
def h(hedged, depositor, buyer, keeper, chain):
    h = seed(hedged, depositor, buyer, keeper, chain)
    buy_usdc(h, keeper, chain, 15_000 * USD)  # some of the value sits in WETH
    return h


def test_oracle_silent_and_marks_old_with_open_options(h, depositor, stranger, guardian, chain):
    v = h.vault
    nav, _ = fresh_nav(h)
    chain.pending_timestamp += 3 * HOUR + 60  # no oracle round, no update_marks
    chain.mine()
    assert not h.guard.quick()[1]  # the oracle is past its heartbeat
    ns = v.nav_status()
    assert not ns.fresh and ns.nav == nav - ns.margin  # the conservative NAV
    view = exits(h, depositor)
    assert view["totalAssets"] == ns.nav
    assert view["free"] <= ns.nav  # free collateral comes out of the conservative NAV
    tx = h.guard.poke(sender=stranger)  # the guard agrees: withdraw-only ...
    assert tripped(tx, h.guard) == {"oracle_stale", "marks_stale"} and levels(tx, h.guard) == [(0, 2)]
    exits(h, depositor)  # ... and withdrawals stay open
    v.shutdown(sender=guardian)
    with ape.reverts("vault: shut down"):
        v.deposit(1_000 * USD, sender=depositor)
    exits(h, depositor)


def test_oracle_unreadable_with_open_options(h, owner, depositor, chain):
    """A feed answering <= 0 is unreadable: NAV values the hedge at the marks' spot, conservatively."""
    v = h.vault
    nav, _ = fresh_nav(h)
    h.feed.set_answer(0, sender=owner)
    assert h.guard.quick()[:2] == (0, False)
    ns = v.nav_status()
    assert not ns.fresh and ns.nav == nav - ns.margin  # the hedge at the cache spot (3,000), liability at S0
    assert views(v, depositor)["totalAssets"] == ns.nav
    exits(h, depositor)
    h.feed.set_answer(-1, sender=owner)
    chain.pending_timestamp += 3 * HOUR + 60
    chain.mine()
    exits(h, depositor)


def test_oracle_silent_and_marks_old_without_open_options(hedged, depositor, stranger, guardian, chain):
    h = hedged
    h.m.usdc.mint(depositor, 100_000 * USD, sender=depositor)
    h.m.usdc.approve(h.vault, 2**256 - 1, sender=depositor)
    h.vault.deposit(100_000 * USD, sender=depositor)
    chain.pending_timestamp += 3 * HOUR + 60
    chain.mine()
    ns = h.vault.nav_status()
    assert ns.fresh and ns.nav == h.vault.total_idle() == 100_000 * USD  # no open interest: NAV is the cash
    view = exits(h, depositor)
    assert view["maxWithdraw"] >= view["totalAssets"] - 1  # all of it (less the rounding toward the vault)
    h.guard.poke(sender=stranger)
    assert h.guard.level() == 2
    exits(h, depositor)
    h.vault.shutdown(sender=guardian)
    exits(h, depositor)
    h.vault.redeem(h.vault.maxRedeem(depositor), sender=depositor)  # everything out
    assert h.vault.balanceOf(depositor) < 10**6  # dust worth nothing at most
    assert h.vault.maxRedeem(depositor) == 0 and h.vault.totalAssets() <= 2


def test_shutdown_with_open_options_and_a_fresh_oracle(h, depositor, guardian, keeper, owner, chain):
    h.vault.shutdown(sender=guardian)
    assert h.vault.nav_status().fresh
    exits(h, depositor)
    # the hedge is never bought again; in withdraw-only it can be sold back to cash
    chain.pending_timestamp += h.hedger.cooldown() + 1
    h.feed.set_answer(3_000 * 10**8, sender=owner)
    with ape.reverts("vault: shut down"):
        buy_usdc(h, keeper, chain, 1_000 * USD)
    hedge = h.vault.hedge_units()
    h.guard.trip(2, sender=guardian)
    sell_weth(h, keeper, chain, hedge // 2)
    assert h.vault.hedge_units() == hedge - hedge // 2
    exits(h, depositor)
