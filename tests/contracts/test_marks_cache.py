"""The marks cache: keeper-posted vols, bounded and rate-limited; on-chain marks at
one cache point; staleness guards; the book's owner parameters and their timelock."""
import ape
import pytest
from mpmath import mp, mpf, ncdf, npdf, exp, log, sqrt

from tests.conftest import USD
from tests.contracts.conftest import DAY, TIMELOCK_DELAY, WAD, new_series, post

YEAR = 365 * DAY
mp.dps = 50


def bs_ref(spot, strike, tau, rate, vol, is_call):
    """Exact Black-Scholes (mpmath, 50 digits) in wad units: price, delta, gamma, vega."""
    S, K, T, r, v = (mpf(spot) / WAD, mpf(strike) / WAD, mpf(tau) / YEAR, mpf(rate) / WAD, mpf(vol) / WAD)
    d1 = (log(S / K) + (r + v * v / 2) * T) / (v * sqrt(T))
    d2 = d1 - v * sqrt(T)
    df = exp(-r * T)
    if is_call:
        price, delta = S * ncdf(d1) - K * df * ncdf(d2), ncdf(d1)
    else:
        price, delta = K * df * ncdf(-d2) - S * ncdf(-d1), ncdf(d1) - 1
    gamma = npdf(d1) / (S * v * sqrt(T))
    vega = S * npdf(d1) * sqrt(T)
    return price * WAD, delta * WAD, gamma * WAD, vega * WAD


def sell(s, buyer, chain, sid, size=WAD):
    s.usdc.mint(buyer, 100_000 * USD, sender=buyer)
    s.usdc.approve(s.vault, 2**256 - 1, sender=buyer)
    s.options.buy(sid, size, 10**12, chain.pending_timestamp + 60, sender=buyer)


def test_marks_match_exact_black_scholes(system, keeper, chain):
    # Marks now live at the book's one cache point: (spot, time) = cache(), not per series.
    for is_call in (True, False):
        sid, expiry = new_series(system, keeper, chain, 3_200, is_call, days=30, vol=0.75)
        m = system.book.marks(sid)
        spot, t0, _ = system.book.cache()
        price, delta, gamma, vega = bs_ref(spot, 3_200 * WAD, expiry - t0, 0, m.vol, is_call)
        assert spot == 3_000 * WAD
        assert m.vol == 75 * 10**16
        assert abs(m.price - price) <= 1e-15 * 3_000 * WAD
        assert abs(m.delta - delta) <= 1e3
        assert abs(m.gamma - gamma) <= 1e-12 * gamma
        assert abs(m.vega - vega) <= 1e-12 * vega


def test_vol_jump_beyond_rate_limit_is_rejected(system, keeper, owner, chain):
    book = system.book
    sid, _ = new_series(system, keeper, chain, 3_000, True, vol=0.6)
    rate = book.max_vol_rate()  # wad vol per second (default: 1.00 per day)
    chain.pending_timestamp += 3_600
    post(system.feed, owner, 3_000)
    # A post moves at most rate x min(time since the last post, VOL_ACCRUAL_CAP = 15 min).
    allowed = rate * min(chain.pending_timestamp - book.marks(sid).vol_posted_at, 900)
    with ape.reverts("book: vol moved faster than max_vol_rate"):
        book.post_vols([sid], [int(0.6 * WAD) + allowed + rate * 10], sender=keeper)
    tx = book.post_vols([sid], [int(0.6 * WAD) + allowed - rate], sender=keeper)
    assert book.marks(sid).vol == int(0.6 * WAD) + allowed - rate
    assert tx.events.filter(book.VolPosted)[0].series_id == sid
    # Downward moves are limited the same way.
    with ape.reverts("book: vol moved faster than max_vol_rate"):
        book.post_vols([sid], [int(0.3 * WAD)], sender=keeper)


def test_vol_bounds_and_bad_posts(system, keeper, attacker, owner, chain):
    book = system.book
    sid, _ = new_series(system, keeper, chain, 3_000, True)
    chain.pending_timestamp += 30 * DAY
    post(system.feed, owner, 3_000)
    # The bounds are the owner's vol_floor / vol_cap (defaults 20 % / 200 %) inside the
    # hard MIN_VOL / MAX_VOL (5 % / 300 %); the old test used the hard bounds.
    with ape.reverts("book: vol above cap"):
        book.post_vols([sid], [book.vol_cap() + 1], sender=keeper)
    with ape.reverts("book: vol above cap"):
        book.post_vols([sid], [3 * WAD + 1], sender=keeper)
    with ape.reverts("book: vol below floor"):
        book.post_vols([sid], [book.vol_floor() - 1], sender=keeper)
    with ape.reverts("book: vol below floor"):
        book.post_vols([sid], [WAD // 100], sender=keeper)
    with ape.reverts("book: unknown series"):
        book.post_vols([sid + 99], [WAD // 2], sender=keeper)
    with ape.reverts("book: ids and vols differ in length"):
        book.post_vols([sid], [], sender=keeper)
    with ape.reverts("book: caller is not the keeper"):
        book.post_vols([sid], [WAD // 2], sender=attacker)
    with ape.reverts("book: caller is not the keeper"):
        book.create_series(3_000 * WAD, chain.pending_timestamp + DAY, True, WAD // 2, sender=attacker)


def test_series_bounds(system, keeper, owner, chain):
    book = system.book
    now = chain.pending_timestamp
    with ape.reverts("book: strike below band"):
        book.create_series(1_400 * WAD, now + DAY, True, WAD // 2, sender=keeper)
    with ape.reverts("book: strike above band"):
        book.create_series(4_600 * WAD, now + DAY, True, WAD // 2, sender=keeper)
    with ape.reverts("book: expiry too soon"):
        book.create_series(3_000 * WAD, now + 60, True, WAD // 2, sender=keeper)
    with ape.reverts("book: expiry beyond horizon"):
        book.create_series(3_000 * WAD, now + 91 * DAY, True, WAD // 2, sender=keeper)
    # A zero strike (and one beyond 96 bits) is "out of range" now (was "zero strike").
    with ape.reverts("book: strike out of range"):
        book.create_series(0, now + DAY, True, WAD // 2, sender=keeper)
    with ape.reverts("book: strike out of range"):
        book.create_series(2**96, now + DAY, True, WAD // 2, sender=keeper)
    # MAX_LIVE is 64 now (was 16), and new series are limited to max_new_series a
    # day (default 8): the owner raises that to 64 (a loosening: it waits the timelock).
    book.set_series_limits(book.strike_band(), book.max_horizon(), 64, sender=owner)
    chain.pending_timestamp += TIMELOCK_DELAY
    book.set_series_limits(book.strike_band(), book.max_horizon(), 64, sender=owner)
    post(system.feed, owner, 3_000)
    # Far out-of-the-money, short-dated calls at the vol floor: the Black-Scholes
    # tails cut off early, so filling the book stays cheap.
    expiry = chain.pending_timestamp + 2 * 3_600
    for _ in range(64):
        book.create_series(4_500 * WAD, expiry, True, WAD // 5, sender=keeper, gas=8_000_000)
    assert book.live_count() == 64
    with ape.reverts("book: too many live series"):
        book.create_series(4_500 * WAD, expiry, True, WAD // 5, sender=keeper)


def test_update_marks_is_public_and_uses_new_spot(system, keeper, owner, stranger, chain):
    book = system.book
    sid, expiry = new_series(system, keeper, chain, 3_000, True, vol=0.5)
    chain.pending_timestamp += 3_600
    post(system.feed, owner, 3_060)
    tx = book.update_marks(sender=stranger)
    spot, t0, next_expiry = book.cache()
    m = book.marks(sid)
    assert spot == 3_060 * WAD and t0 == tx.timestamp and next_expiry == expiry
    assert m.vol == WAD // 2  # the last posted vol, unchanged
    price, *_ = bs_ref(spot, 3_000 * WAD, expiry - t0, 0, m.vol, True)
    assert abs(m.price - price) <= 1e-15 * spot
    (ev,) = tx.events.filter(book.MarksUpdated)
    assert ev.spot == spot and ev.live == 1


def test_stale_cache_blocks_deposit_until_refreshed(s, keeper, depositor, buyer, fund_system, owner, chain):
    """Marks older than max_mark_age: deposits wait for update_marks.

    Changed behaviour: the aggregates only go stale while options are open (a book
    with no open interest is always fresh), so a sale comes first; and withdrawals
    no longer revert on stale marks: they stay open at the conservative NAV
    (NAV minus the stress margin), and totalAssets reports that NAV.
    """
    vault, book = s.vault, s.book
    fund_system(depositor, 1_000 * USD)
    sid, _ = new_series(s, keeper, chain, 3_000, True)
    sell(s, buyer, chain, sid)
    vault.deposit(100 * USD, sender=depositor)
    chain.pending_timestamp += book.max_mark_age() + 1
    post(s.feed, owner, 3_000)
    status = vault.nav_status()
    assert not status.fresh
    liability, fresh = book.liability_at(3_000 * WAD)
    assert not fresh
    nav = vault.total_idle() - -(-liability // 10**12)
    assert status.margin > 0 and status.nav == nav - status.margin == vault.totalAssets()
    assert vault.maxDeposit(depositor) == 0 and vault.maxMint(depositor) == 0
    with ape.reverts("vault: marks stale, deposits wait for update_marks"):
        vault.deposit(100 * USD, sender=depositor)
    # The exit stays open, at the conservative price.
    supply, shares = vault.totalSupply(), vault.balanceOf(depositor)
    vault.withdraw(10 * USD, sender=depositor)
    assert shares - vault.balanceOf(depositor) == -(-(10 * USD) * (supply + 10**6) // (status.nav + 1))
    book.update_marks(sender=depositor)
    assert vault.nav_status().fresh
    vault.deposit(100 * USD, sender=depositor)


def test_drifted_spot_blocks_deposit(s, keeper, depositor, buyer, fund_system, owner, chain):
    # Open interest first: a book without it is fresh at any spot (changed behaviour).
    vault = s.vault
    fund_system(depositor, 1_000 * USD)
    sid, _ = new_series(s, keeper, chain, 3_000, True)
    sell(s, buyer, chain, sid)
    post(s.feed, owner, 3_000 * 1.049)  # inside the 5 % drift bound
    vault.deposit(100 * USD, sender=depositor)
    post(s.feed, owner, 3_000 * 1.051)  # outside
    with ape.reverts("vault: marks stale, deposits wait for update_marks"):
        vault.deposit(100 * USD, sender=depositor)
    s.book.update_marks(sender=depositor)
    vault.deposit(100 * USD, sender=depositor)


def test_stale_oracle_blocks_new_marks(system, keeper, stranger, chain):
    book = system.book
    sid, _ = new_series(system, keeper, chain, 3_000, True)
    # The heartbeat is the guard's one staleness knob now (was the book's).
    chain.pending_timestamp += system.guard.oracle_heartbeat() + 1
    chain.mine()
    with ape.reverts("book: oracle stale"):
        book.update_marks(sender=stranger)
    with ape.reverts("book: oracle stale"):
        book.create_series(3_000 * WAD, chain.pending_timestamp + DAY, True, WAD // 2, sender=keeper)
    with ape.reverts("book: oracle stale"):
        book.post_vols([sid], [WAD // 2], sender=keeper)


def test_18_decimal_feed_gives_the_same_marks(project, owner, keeper, system, deploy_system, chain):
    feed18 = project.MockAggregator.deploy(18, 3_000 * 10**18, "ETH / USD", sender=owner)
    systems = [system, deploy_system(feed=feed18)]
    assert system.feed.decimals() == 8
    expiry = chain.pending_timestamp + 20 * DAY
    marks = []
    for sy in systems:
        sid, _ = new_series(sy, keeper, chain, 3_100, False, expiry=expiry, vol=0.5)
        marks.append((sy.book.cache(), sy.book.marks(sid)))
    assert marks[0][0][0] == marks[1][0][0] == 3_000 * WAD
    for (spot, t0, _), m in marks:  # each priced at its own block time, both from a 3,000 spot
        price, *_ = bs_ref(3_000 * WAD, 3_100 * WAD, expiry - t0, 0, WAD // 2, False)
        assert abs(m.price - price) <= 1e-15 * 3_000 * WAD
        assert m.price > 0


def test_parameters_are_bounded_and_owner_only(system, owner, attacker, chain):
    book, guard = system.book, system.guard
    with ape.reverts("book: caller is not the owner"):
        book.set_marks_limits(3_600, 5 * 10**16, 10**13, sender=attacker)
    with ape.reverts("book: max_mark_age out of bounds"):
        book.set_marks_limits(86_401, 5 * 10**16, 10**13, sender=owner)
    with ape.reverts("book: max_spot_drift out of bounds"):
        book.set_marks_limits(3_600, 3 * 10**17, 10**13, sender=owner)
    with ape.reverts("book: max_vol_rate out of bounds"):
        book.set_marks_limits(3_600, 5 * 10**16, 0, sender=owner)
    # The oracle heartbeat moved to the guard (one staleness knob for every contract).
    with ape.reverts("guard: oracle_heartbeat out of bounds"):
        guard.set_oracle(10, guard.max_deviation(), guard.twap_window(), sender=owner)
    with ape.reverts("book: risk_free_rate out of bounds"):
        book.set_risk_free_rate(-10**17, sender=owner)
    with ape.reverts("book: strike_band out of bounds"):
        book.set_series_limits(10**18, 86_400, 8, sender=owner)
    with ape.reverts("book: max_new_series out of bounds"):
        book.set_series_limits(5 * 10**17, 86_400, 0, sender=owner)
    # Tightening applies at once, and each applied value is logged as ParameterSet.
    tx = book.set_marks_limits(3_600, 2 * 10**16, 10**13, sender=owner)
    assert book.max_mark_age() == 3_600
    assert [(e.name, e.value) for e in tx.events.filter(book.ParameterSet)] == [
        ("max_mark_age", 3_600), ("max_spot_drift", 2 * 10**16), ("max_vol_rate", 10**13)
    ]


def test_loosening_waits_the_timelock_and_can_be_cancelled(system, owner, attacker, chain):
    book = system.book
    tx = book.set_marks_limits(4 * 3_600, 5 * 10**16, book.max_vol_rate(), sender=owner)
    (queued,) = tx.events.filter(book.ChangeQueued)
    assert not tx.events.filter(book.ParameterSet)
    assert book.max_mark_age() == 3 * 3_600  # not applied
    assert book.queued(queued.change_id) == queued.eta == tx.timestamp + TIMELOCK_DELAY
    with ape.reverts("timelock: change not yet due"):
        book.set_marks_limits(4 * 3_600, 5 * 10**16, book.max_vol_rate(), sender=owner)
    with ape.reverts("timelock: caller is not the owner"):
        book.cancel_change(queued.change_id, sender=attacker)
    tx = book.cancel_change(queued.change_id, sender=owner)
    assert tx.events.filter(book.ChangeCancelled)[0].change_id == queued.change_id
    with ape.reverts("timelock: change not queued"):
        book.cancel_change(queued.change_id, sender=owner)
    # Queued again, it applies after the delay.
    book.set_marks_limits(4 * 3_600, 5 * 10**16, book.max_vol_rate(), sender=owner)
    chain.pending_timestamp += TIMELOCK_DELAY
    tx = book.set_marks_limits(4 * 3_600, 5 * 10**16, book.max_vol_rate(), sender=owner)
    assert book.max_mark_age() == 4 * 3_600
    assert ("max_mark_age", 4 * 3_600) in [(e.name, e.value) for e in tx.events.filter(book.ParameterSet)]
