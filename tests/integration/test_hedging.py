"""Delta hedging on the real Uniswap V3 pool, and the attacks its checks defend against."""
import ape
import pytest

from scripts.market import FEE, pool_price

USD = 10**6
WAD = 10**18
DAY = 86_400


def seed(hedged, depositor, buyer, keeper, chain):
    """500k USDC in the vault and 20 ETH of 3,000 calls sold: net delta about -10 ETH."""
    usdc = hedged.m.usdc
    for who, amount in ((depositor, 500_000 * USD), (buyer, 100_000 * USD)):
        usdc.mint(who, amount, sender=who)
        usdc.approve(hedged.vault, 2**256 - 1, sender=who)
    hedged.vault.deposit(500_000 * USD, sender=depositor)
    sid = hedged.book.create_series(3_000 * WAD, chain.pending_timestamp + 7 * DAY, True, 6 * 10**17, sender=keeper).return_value
    hedged.options.buy(sid, 20 * WAD, 10**12, chain.pending_timestamp + 60, sender=buyer)
    return hedged


@pytest.fixture
def h(hedged, depositor, buyer, keeper, chain):
    return seed(hedged, depositor, buyer, keeper, chain)


def oracle_floor(h, usdc_in):
    """The minimum WETH out the hedger accepts for `usdc_in` (oracle price minus max_slippage)."""
    spot = h.feed.latestAnswer() * 10 ** (18 - h.feed.decimals())
    expected = usdc_in * 10**12 * WAD // spot
    return expected * (WAD - h.hedger.max_slippage()) // WAD


def pump(m, attacker, chain, usdc_in):
    m.usdc.mint(attacker, usdc_in, sender=attacker)
    m.usdc.approve(m.router, 2**256 - 1, sender=attacker)
    before = m.weth.balanceOf(attacker)
    m.router.exactInputSingle((m.usdc, m.weth, FEE, attacker, chain.pending_timestamp + 60, usdc_in, 0, 0), sender=attacker)
    return m.weth.balanceOf(attacker) - before


def test_rebalance_moves_delta_toward_zero_and_nav_counts_the_hedge(h, keeper, chain):
    before = h.hedger.net_delta()
    assert -11 * WAD < before < -9 * WAD
    usdc_in = 15_000 * USD
    tx = h.hedger.rebalance(True, usdc_in, oracle_floor(h, usdc_in), chain.pending_timestamp + 60, sender=keeper)
    got = tx.return_value
    (ev,) = tx.events.filter(h.hedger.Rebalanced)
    assert ev.delta_before == before and ev.delta_after == before + got
    assert h.vault.hedge_units() == got
    assert got >= oracle_floor(h, usdc_in)
    spot = h.book.spot_latest()
    expected_nav = h.vault.total_idle() + got * spot // (WAD * 10**12) - h.book.liability()
    assert h.vault.totalAssets() == expected_nav


def test_manipulated_pool_makes_the_rebalance_revert(h, keeper, attacker, chain):
    pump(h.m, attacker, chain, 2_000_000 * USD)  # +14 % in one block
    assert pool_price(h.m) > 3_300
    with ape.reverts("hedger: pool price deviates from oracle"):
        h.hedger.rebalance(True, 15_000 * USD, oracle_floor(h, 15_000 * USD), chain.pending_timestamp + 60, sender=keeper)


def test_sustained_pool_manipulation_trips_the_twap_check(h, keeper, attacker, owner, chain):
    pump(h.m, attacker, chain, 2_000_000 * USD)
    chain.pending_timestamp += h.hedger.twap_window()
    h.feed.set_answer(3_000 * 10**8, sender=owner)  # the oracle does not follow the pool
    with ape.reverts("hedger: pool TWAP deviates from oracle"):
        h.hedger.rebalance(True, 15_000 * USD, oracle_floor(h, 15_000 * USD), chain.pending_timestamp + 60, sender=keeper)


def test_sandwich_gains_at_most_the_slippage_bound(h, keeper, attacker, chain):
    m = h.m
    usdc_in = 40_000 * USD
    floor = oracle_floor(h, usdc_in)
    start = m.usdc.balanceOf(attacker)
    # Front-run: push the price up as far as the keeper's min_out allows.
    front = 100_000 * USD
    weth_bought = pump(m, attacker, chain, front)
    assert pool_price(m) < 3_000 * 1.015  # inside the deviation bound: the rebalance may go through
    got = h.hedger.rebalance(True, usdc_in, floor, chain.pending_timestamp + 60, sender=keeper).return_value
    # Back-run: sell the WETH back.
    m.weth.approve(m.router, 2**256 - 1, sender=attacker)
    m.router.exactInputSingle((m.weth, m.usdc, FEE, attacker, chain.pending_timestamp + 60, weth_bought, 0, 0), sender=attacker)
    gain = m.usdc.balanceOf(attacker) - start - front  # USDC back minus USDC spent
    bound = usdc_in * h.hedger.max_slippage() // WAD
    assert got >= floor  # the vault lost at most max_slippage against the oracle
    assert gain <= bound
    print(f"sandwich: attacker gain {gain / USD:+,.2f} USDC, bound {bound / USD:,.2f}; vault got {got / WAD:.6f} ETH, floor {floor / WAD:.6f}")


def test_compromised_keeper_cannot_add_delta_trade_big_or_often(h, keeper, attacker, owner, chain):
    deadline = chain.pending_timestamp + 600
    with ape.reverts("hedger: caller is not the keeper"):
        h.hedger.rebalance(True, 1_000 * USD, 0, deadline, sender=attacker)
    with ape.reverts("hedger: min_out below oracle floor"):
        h.hedger.rebalance(True, 15_000 * USD, oracle_floor(h, 15_000 * USD) - 1, deadline, sender=keeper)
    with ape.reverts("hedger: trade above max_trade"):
        h.hedger.rebalance(True, 60_000 * USD, oracle_floor(h, 60_000 * USD), deadline, sender=keeper)
    with ape.reverts("hedger: zero size"):
        h.hedger.rebalance(True, 0, 0, deadline, sender=keeper)
    with ape.reverts("hedger: deadline passed"):
        h.hedger.rebalance(True, 1_000 * USD, 0, chain.pending_timestamp - 1, sender=keeper)
    # Overshoot: from about -10 ETH to about +6 ETH is farther from the band than before? No:
    # |+6| < |-10|. Hedge first to near zero, then try to add direction.
    h.hedger.rebalance(True, 30_000 * USD, oracle_floor(h, 30_000 * USD), deadline, sender=keeper)
    with ape.reverts("hedger: cooldown"):
        h.hedger.rebalance(True, 1_000 * USD, oracle_floor(h, 1_000 * USD), deadline, sender=keeper)
    chain.pending_timestamp += 301
    h.feed.set_answer(3_000 * 10**8, sender=owner)
    assert abs(h.hedger.net_delta()) < 1 * WAD
    with ape.reverts("hedger: trade moves delta away from band"):
        h.hedger.rebalance(True, 30_000 * USD, oracle_floor(h, 30_000 * USD), chain.pending_timestamp + 600, sender=keeper)


def test_stale_oracle_blocks_rebalance(h, keeper, chain):
    chain.pending_timestamp += 3_601
    chain.mine()
    with ape.reverts("oracle: stale"):
        h.hedger.rebalance(True, 1_000 * USD, 0, chain.pending_timestamp + 60, sender=keeper)


def test_18_decimal_feed_prices_the_floor_correctly(project, deploy_hedged, market, owner, keeper, depositor, buyer, chain):
    feed18 = project.MockAggregator.deploy(18, 3_000 * WAD, "ETH / USD", sender=owner)
    h = seed(deploy_hedged(feed18), depositor, buyer, keeper, chain)
    assert h.hedger.prices()[0] == 3_000 * WAD  # normalised by decimals(), not 1e10 off
    floor = oracle_floor(h, 15_000 * USD)
    assert 4.9 * WAD < floor < 5 * WAD  # ~5 ETH for 15,000 USDC at 3,000
    with ape.reverts("hedger: min_out below oracle floor"):
        h.hedger.rebalance(True, 15_000 * USD, floor // 10**10, chain.pending_timestamp + 60, sender=keeper)
    got = h.hedger.rebalance(True, 15_000 * USD, floor, chain.pending_timestamp + 60, sender=keeper).return_value
    assert got >= floor


def test_hedge_limits_are_bounded_and_owner_only(h, owner, attacker):
    with ape.reverts("hedger: caller is not the owner"):
        h.hedger.set_hedge_limits(600, 10**16, 10**16, 10**17, 300, 10**16, sender=attacker)
    with ape.reverts("hedger: twap_window out of bounds"):
        h.hedger.set_hedge_limits(60, 10**16, 10**16, 10**17, 300, 10**16, sender=owner)
    with ape.reverts("hedger: max_slippage out of bounds"):
        h.hedger.set_hedge_limits(600, 10**16, 10**17, 10**17, 300, 10**16, sender=owner)
    with ape.reverts("hedger: max_trade out of bounds"):
        h.hedger.set_hedge_limits(600, 10**16, 10**16, 5 * 10**17, 300, 10**16, sender=owner)


def test_hedge_nets_the_stress_margin_and_withdrawals_still_work(h, keeper, depositor, chain):
    margin_before = h.book.stress_margin()
    got = h.hedger.rebalance(True, 15_000 * USD, oracle_floor(h, 15_000 * USD), chain.pending_timestamp + 60, sender=keeper).return_value
    margin_after = h.book.stress_margin()
    # 20 short calls struck at 3,000: worst shock is +100 % (20 x 3,000 = 60,000 USD);
    # the hedge gains got x 3,000 there.
    assert margin_before == 60_000 * USD
    assert abs((margin_before - margin_after) - got * 3_000 * USD // WAD) <= 1
    free = h.vault.free_collateral()
    assert h.vault.maxWithdraw(depositor) == free
    h.vault.withdraw(free // 2, sender=depositor)  # the vault is locked while the book reads the hedge
    assert h.vault.hedge_units() == got


def test_keeper_silence_lets_anyone_hedge_a_little(h, keeper, stranger, owner, chain):
    """A dead keeper must not leave depositors unhedged: after keeper_timeout, anyone
    may trade toward zero delta, at most 1 % of NAV, priced from the oracle."""
    with ape.reverts("hedger: keeper still active"):
        h.hedger.fallback_rebalance(sender=stranger)
    h.hedger.ping(sender=keeper)
    chain.pending_timestamp += h.hedger.keeper_timeout() - 60
    h.feed.set_answer(3_000 * 10**8, sender=owner)
    with ape.reverts("hedger: keeper still active"):
        h.hedger.fallback_rebalance(sender=stranger)
    chain.pending_timestamp += 120  # the keeper has now been silent past the timeout
    h.feed.set_answer(3_000 * 10**8, sender=owner)
    with ape.reverts("book: marks stale"):  # 6 h of silence: the marks are stale too ...
        h.hedger.fallback_rebalance(sender=stranger)
    h.book.update_marks(sender=stranger)  # ... and anyone can refresh them
    before = h.hedger.net_delta()
    nav = h.vault.totalAssets()
    tx = h.hedger.fallback_rebalance(sender=stranger)
    (ev,) = tx.events.filter(h.hedger.FallbackRebalanced)
    assert ev.buy_underlying and ev.delta_before == before
    assert abs(ev.delta_after) < abs(before)
    assert ev.amount_in <= nav // 100 + 1  # at most 1 % of NAV
    assert ev.amount_out >= oracle_floor(h, ev.amount_in)
    # The cooldown applies to everyone.
    with ape.reverts("hedger: cooldown"):
        h.hedger.fallback_rebalance(sender=stranger)
    with ape.reverts("hedger: caller is not the keeper"):
        h.hedger.ping(sender=stranger)
    with ape.reverts("hedger: keeper_timeout out of bounds"):
        h.hedger.set_keeper_timeout(60, sender=owner)
