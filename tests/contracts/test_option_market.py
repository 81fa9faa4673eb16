"""Option book and market: sales, limits, settlement and claims, to the wei."""
import ape
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import USD

WAD = 10**18
DAY = 86_400
SCALE = WAD * 10**12  # wad x wad -> 6-decimal asset units


def ceil_div(a, b):
    return -(-a // b)


@pytest.fixture
def s(system, fund_system, depositor, owner):
    fund_system(depositor, 100_000 * USD)
    system.vault.deposit(100_000 * USD, sender=depositor)
    return system


@pytest.fixture(scope="session")
def fund_system(system, usdc):
    def _fund(actor, amount):
        usdc.mint(actor, amount, sender=actor)
        usdc.approve(system.vault, 2**256 - 1, sender=actor)

    return _fund


def post(feed, owner, usd_price):
    feed.set_answer(int(usd_price * 10**8), sender=owner)


def new_series(s, keeper, chain, strike, is_call, days=7, vol=0.6):
    expiry = chain.pending_timestamp + days * DAY
    return s.book.create_series(strike * WAD, expiry, is_call, int(vol * WAD), sender=keeper).return_value, expiry


def liability_of(s, sids):
    total = 0
    for sid in sids:
        oi = s.book.open_interest(sid)
        strike, _, is_call = s.book.series(sid)
        m = s.book.marks(sid)
        intrinsic = max(m.spot - strike, 0) if is_call else max(strike - m.spot, 0)
        total += oi * max(m.price, intrinsic)
    return ceil_div(total, SCALE)


def test_full_lifecycle_to_the_wei(s, chain, owner, keeper, buyer, depositor, fund_system, usdc):
    call, expiry = new_series(s, keeper, chain, 3_200, True)
    put, _ = new_series(s, keeper, chain, 2_800, False)
    fund_system(buyer, 10_000 * USD)

    # Buy 2 calls and 3 puts at mark x (1 + 2 %), rounded up.
    premiums = 0
    for sid, size in ((call, 2 * WAD), (put, 3 * WAD)):
        price = s.book.marks(sid).price
        expected = ceil_div(price * size // WAD * (WAD + s.market.spread()), SCALE)
        assert s.market.quote(sid, size) == expected
        before = usdc.balanceOf(buyer)
        tx = s.market.buy(sid, size, expected, chain.pending_timestamp + 60, sender=buyer)
        assert tx.return_value == expected
        assert before - usdc.balanceOf(buyer) == expected
        assert s.market.balanceOf(buyer, sid) == size
        premiums += expected
    assert s.vault.total_idle() == 100_000 * USD + premiums
    assert s.vault.totalAssets() == 100_000 * USD + premiums - liability_of(s, [call, put])

    # Spot rallies to 3,500; marks follow.
    chain.pending_timestamp += 3_600
    post(s.feed, owner, 3_500)
    s.book.update_marks(sender=depositor)
    assert s.vault.totalAssets() == 100_000 * USD + premiums - liability_of(s, [call, put])

    # Expiry: the first oracle answer at/after expiry settles both series.
    chain.pending_timestamp = expiry + 30
    post(s.feed, owner, 3_500)
    rid = s.feed.latest_round()
    with ape.reverts("market: series not settled"):
        s.market.claim(call, sender=buyer)
    s.market.settle(call, rid, sender=depositor)
    s.market.settle(put, rid, sender=depositor)
    assert s.market.payoff_per_unit(call) == 300 * WAD
    assert s.market.payoff_per_unit(put) == 0
    assert s.vault.total_reserved() == 600 * USD
    assert s.vault.total_idle() == 100_000 * USD + premiums - 600 * USD
    assert s.book.live_count() == 0
    assert s.vault.totalAssets() == 100_000 * USD + premiums - 600 * USD  # reserve is not NAV

    before = usdc.balanceOf(buyer)
    assert s.market.claim(call, sender=buyer).return_value == 600 * USD
    assert usdc.balanceOf(buyer) - before == 600 * USD
    assert s.market.claim(put, sender=buyer).return_value == 0  # OTM: nothing paid, position burned
    with ape.reverts("market: nothing to claim"):
        s.market.claim(call, sender=buyer)
    assert s.vault.total_reserved() == 0

    # The depositor leaves with everything the vault earned.
    before = usdc.balanceOf(depositor)
    s.vault.redeem(s.vault.balanceOf(depositor), sender=depositor)
    assert usdc.balanceOf(depositor) - before >= 100_000 * USD + premiums - 600 * USD - 1


def test_claim_by_non_holder_and_transfers(s, chain, owner, keeper, buyer, attacker, fund_system):
    call, expiry = new_series(s, keeper, chain, 3_000, True)
    fund_system(buyer, 10_000 * USD)
    s.market.buy(call, WAD, 10**12, chain.pending_timestamp + 60, sender=buyer)
    with ape.reverts("market: insufficient balance"):
        s.market.transfer(attacker, call, 1, sender=attacker)
    with ape.reverts("market: insufficient allowance"):
        s.market.transferFrom(buyer, attacker, call, 1, sender=attacker)
    s.market.transfer(attacker, call, WAD // 4, sender=buyer)
    chain.pending_timestamp = expiry + 1
    post(s.feed, owner, 3_100)
    s.market.settle(call, s.feed.latest_round(), sender=attacker)
    assert s.market.claim(call, sender=attacker).return_value == 25 * USD
    assert s.market.claim(call, sender=buyer).return_value == 75 * USD
    with ape.reverts("market: nothing to claim"):
        s.market.claim(call, sender=attacker)


def test_settlement_rules(s, chain, owner, keeper, buyer, fund_system):
    call, expiry = new_series(s, keeper, chain, 3_000, True)
    fund_system(buyer, 10_000 * USD)
    s.market.buy(call, WAD, 10**12, chain.pending_timestamp + 60, sender=buyer)
    before_expiry = s.feed.latest_round()
    with ape.reverts("market: series not expired"):
        s.market.settle(call, before_expiry, sender=buyer)
    chain.pending_timestamp = expiry + 10
    chain.mine()
    with ape.reverts("oracle: round is before the time"):
        s.market.settle(call, before_expiry, sender=buyer)
    with ape.reverts("oracle: no such round yet"):
        s.market.settle(call, before_expiry + 1, sender=buyer)
    post(s.feed, owner, 2_000)  # the first answer after expiry: this is the price
    post(s.feed, owner, 9_000)  # a later, better one for the buyer: not allowed
    with ape.reverts("oracle: not the first round after the time"):
        s.market.settle(call, before_expiry + 2, sender=buyer)
    s.market.settle(call, before_expiry + 1, sender=buyer)
    assert s.market.settlement_price(call) == 2_000 * WAD
    with ape.reverts("market: already settled"):
        s.market.settle(call, before_expiry + 1, sender=buyer)
    with ape.reverts("market: unknown series"):
        s.market.settle(999, before_expiry + 1, sender=buyer)


def test_bad_buys_revert_with_reason(s, chain, owner, keeper, guardian, buyer, fund_system):
    call, expiry = new_series(s, keeper, chain, 3_000, True)
    fund_system(buyer, 10_000 * USD)
    deadline = chain.pending_timestamp + 600
    q = s.market.quote(call, WAD)
    with ape.reverts("market: zero size"):
        s.market.buy(call, 0, q, deadline, sender=buyer)
    with ape.reverts("market: series not open"):
        s.market.buy(999, WAD, q, deadline, sender=buyer)
    with ape.reverts("market: premium above max_premium"):
        s.market.buy(call, WAD, q - 1, deadline, sender=buyer)
    with ape.reverts("market: deadline passed"):
        s.market.buy(call, WAD, q, chain.pending_timestamp - 1, sender=buyer)
    # 1 wei of underlying still pays 1 unit: rounding favours the vault.
    assert s.market.quote(call, 1) == 1
    worthless = s.book.create_series(4_400 * WAD, chain.pending_timestamp + 7_200, True, WAD // 20, sender=keeper).return_value
    assert s.book.marks(worthless).price == 0
    with ape.reverts("market: premium rounds to zero"):
        s.market.buy(worthless, WAD, q, deadline, sender=buyer)
    s.vault.pause(sender=guardian)
    with ape.reverts("vault: paused"):
        s.market.buy(call, WAD, q, deadline, sender=buyer)
    s.vault.unpause(sender=guardian)
    chain.pending_timestamp += s.book.oracle_heartbeat() + 1
    chain.mine()
    with ape.reverts("oracle: stale"):
        s.market.buy(call, WAD, q, chain.pending_timestamp + 600, sender=buyer)
    chain.pending_timestamp = expiry + 1
    post(s.feed, owner, 3_000)
    with ape.reverts("market: series not open"):
        s.market.buy(call, WAD, q, chain.pending_timestamp + 600, sender=buyer)


@pytest.mark.parametrize(
    "limits,message",
    [
        # each a tightening of one default (50 %, 25 %, 5 %): applies at once, no timelock
        ((10**16, 25 * 10**16, 5 * 10**16), "book: stress margin above max_utilisation"),
        ((5 * 10**17, 10**15, 5 * 10**16), "book: net vega above cap"),
        ((5 * 10**17, 25 * 10**16, 10**14), "book: net gamma above cap"),
    ],
)
def test_sales_that_break_a_limit_revert(s, chain, owner, keeper, buyer, fund_system, usdc, limits, message):
    call, _ = new_series(s, keeper, chain, 3_000, True)
    fund_system(buyer, 100_000 * USD)
    s.book.set_risk_limits(*limits, sender=owner)
    before = usdc.balanceOf(buyer)
    with ape.reverts(message):
        s.market.buy(call, 5 * WAD, 10**12, chain.pending_timestamp + 60, sender=buyer)
    assert usdc.balanceOf(buyer) == before
    assert s.book.open_interest(call) == 0


def test_stress_margin_limits_withdrawals(s, chain, keeper, buyer, depositor, fund_system):
    put, _ = new_series(s, keeper, chain, 3_000, False)
    fund_system(buyer, 100_000 * USD)
    s.market.buy(put, 10 * WAD, 10**12, chain.pending_timestamp + 60, sender=buyer)
    # Worst grid point for 10 puts struck at 3,000: spot -50 % -> 10 x 1,500.
    assert s.book.stress_margin() == 15_000 * USD
    assert s.vault.free_collateral() == s.vault.totalAssets() - 15_000 * USD
    assert s.vault.maxWithdraw(depositor) == s.vault.free_collateral()
    with ape.reverts("vault: withdraw over max"):
        s.vault.withdraw(s.vault.free_collateral() + 1, sender=depositor)


def test_deposit_around_a_sale_gets_a_fair_price(s, chain, keeper, buyer, victim, depositor, fund_system, usdc):
    """A depositor who enters just before a sale and leaves after gets exactly their share, no more."""
    call, _ = new_series(s, keeper, chain, 3_300, True)
    fund_system(victim, 50_000 * USD)
    fund_system(buyer, 10_000 * USD)
    pps_before = s.vault.convertToAssets(10**12)
    shares = s.vault.deposit(50_000 * USD, sender=victim).return_value
    s.market.buy(call, 2 * WAD, 10**12, chain.pending_timestamp + 60, sender=buyer)
    nav, supply = s.vault.totalAssets(), s.vault.totalSupply()
    fair = shares * (nav + 1) // (supply + 10**6)
    before = usdc.balanceOf(victim)
    s.vault.redeem(shares, sender=victim)
    got = usdc.balanceOf(victim) - before
    assert got == fair
    # The incumbent depositor's shares lost nothing to the round trip.
    assert s.vault.convertToAssets(10**12) >= pps_before
    assert got - 50_000 * USD <= (nav - (100_000 + 50_000) * USD) * shares // supply + 1


def test_deposit_around_a_mark_update_gets_a_fair_price(s, chain, owner, keeper, buyer, victim, fund_system, usdc):
    call, _ = new_series(s, keeper, chain, 3_000, True)
    fund_system(buyer, 10_000 * USD)
    s.market.buy(call, 5 * WAD, 10**12, chain.pending_timestamp + 60, sender=buyer)
    fund_system(victim, 50_000 * USD)
    post(s.feed, owner, 2_860)  # calls lose value; the cache has not seen it (drift 4.7 %)
    shares = s.vault.deposit(50_000 * USD, sender=victim).return_value
    s.book.update_marks(sender=victim)
    nav, supply = s.vault.totalAssets(), s.vault.totalSupply()
    before = usdc.balanceOf(victim)
    s.vault.redeem(shares, sender=victim)
    got = usdc.balanceOf(victim) - before
    assert got == shares * (nav + 1) // (supply + 10**6)
    # What the victim gained is bounded by their share of the liability change the
    # drift bound allowed: 5 calls x at most 5 % of spot, pro rata.
    assert got - 50_000 * USD <= 5 * 3_000 * USD * 5 // 100 * shares // supply


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["buy", "move"]), st.integers(0, 3), st.floats(0.1, 30.0), st.floats(-0.045, 0.045)),
        min_size=3,
        max_size=6,
    )
)
def test_nav_and_margin_invariants(chain, deploy_system, usdc, owner, keeper, depositor, buyer, steps):
    with chain.isolate():
        s = deploy_system()
        usdc.mint(depositor, 50_000 * USD, sender=depositor)
        usdc.approve(s.vault, 2**256 - 1, sender=depositor)
        s.vault.deposit(50_000 * USD, sender=depositor)
        usdc.mint(buyer, 10**7 * USD, sender=buyer)
        usdc.approve(s.vault, 2**256 - 1, sender=buyer)
        sids = [new_series(s, keeper, chain, k, c)[0] for k, c in ((2_700, False), (3_000, True), (3_000, False), (3_400, True))]
        spot = 3_000.0
        for kind, which, size, move in steps:
            if kind == "move":
                spot *= 1 + move
                chain.pending_timestamp += 600
                post(s.feed, owner, spot)
                s.book.update_marks(sender=depositor)
            else:
                try:
                    s.market.buy(sids[which], int(size * WAD), 10**15, chain.pending_timestamp + 60, sender=buyer)
                except ape.exceptions.ContractLogicError as err:
                    assert str(err).startswith("book: "), str(err)
                    continue
                nav = s.vault.totalAssets()
                assert s.book.stress_margin() * WAD <= nav * s.book.max_utilisation() + WAD
            assert s.vault.totalAssets() >= 0
            assert s.vault.total_idle() >= s.vault.free_collateral()


def test_book_and_market_access(s, owner, keeper, attacker, chain):
    call, _ = new_series(s, keeper, chain, 3_000, True)
    for who in (owner, keeper, attacker):
        with ape.reverts("book: caller is not the market"):
            s.book.record_sale(call, WAD, sender=who)
        with ape.reverts("book: caller is not the market"):
            s.book.close_series(call, sender=who)
    for who in (keeper, attacker):
        with ape.reverts("book: caller is not the owner"):
            s.book.set_market(attacker, sender=who)
        with ape.reverts("book: caller is not the owner"):
            s.book.set_risk_limits(10**17, 10**17, 10**16, sender=who)
        with ape.reverts("market: caller is not the owner"):
            s.market.set_spread(0, sender=who)
    with ape.reverts("book: market already set"):
        s.book.set_market(s.market, sender=owner)
    with ape.reverts("book: max_utilisation out of bounds"):
        s.book.set_risk_limits(10**18, 10**17, 10**16, sender=owner)
    with ape.reverts("market: spread out of bounds"):
        s.market.set_spread(3 * 10**17, sender=owner)
