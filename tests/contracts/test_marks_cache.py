"""The marks cache: keeper-posted vols, bounded and rate-limited; on-chain marks; staleness guards."""
import ape
import pytest
from mpmath import mp, mpf, ncdf, npdf, exp, log, sqrt

from tests.conftest import USD

WAD = 10**18
DAY = 86_400
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


@pytest.fixture(scope="session")
def book_vault(deploy_vault):
    return deploy_vault()


@pytest.fixture(scope="session")
def option_book(project, owner, book_vault, oracle):
    book = project.OptionBook.deploy(book_vault, oracle, sender=owner)
    book_vault.set_option_book(book, sender=owner)
    return book


@pytest.fixture
def fresh_oracle(oracle, chain, owner):
    """set(price_usd): post a fresh oracle answer (8 decimals) at the next block's time."""

    def _set(price_usd):
        oracle.set_answer(int(price_usd * 10**8), sender=owner)

    return _set


def _series(option_book, keeper, chain, strike=3_000, days=30, is_call=True, vol=0.6):
    expiry = chain.pending_timestamp + days * DAY
    tx = option_book.create_series(strike * WAD, expiry, is_call, int(vol * WAD), sender=keeper)
    return tx.return_value, expiry


def test_marks_match_exact_black_scholes(option_book, keeper, chain, fresh_oracle):
    fresh_oracle(3_000)
    for is_call in (True, False):
        sid, expiry = _series(option_book, keeper, chain, strike=3_200, is_call=is_call, vol=0.75)
        m = option_book.marks(sid)
        tau = expiry - m.computed_at
        price, delta, gamma, vega = bs_ref(m.spot, 3_200 * WAD, tau, 0, m.vol, is_call)
        assert m.spot == 3_000 * WAD
        assert abs(m.price - price) <= 1e-15 * 3_000 * WAD
        assert abs(m.delta - delta) <= 1e3
        assert abs(m.gamma - gamma) <= 1e-12 * gamma
        assert abs(m.vega - vega) <= 1e-12 * vega


def test_vol_jump_beyond_rate_limit_is_rejected(option_book, keeper, chain, fresh_oracle):
    fresh_oracle(3_000)
    sid, _ = _series(option_book, keeper, chain, vol=0.6)
    rate = option_book.max_vol_rate()  # wad vol per second (default: 1.00 per day)
    chain.pending_timestamp += 3_600
    fresh_oracle(3_000)
    allowed = rate * (chain.pending_timestamp - option_book.marks(sid).vol_posted_at)
    with ape.reverts("book: vol moved faster than max_vol_rate"):
        option_book.post_vols([sid], [int(0.6 * WAD) + allowed + rate * 10], sender=keeper)
    tx = option_book.post_vols([sid], [int(0.6 * WAD) + allowed - rate], sender=keeper)
    assert option_book.marks(sid).vol == int(0.6 * WAD) + allowed - rate
    assert tx.events.filter(option_book.VolPosted)[0].series_id == sid
    # Downward moves are limited the same way.
    with ape.reverts("book: vol moved faster than max_vol_rate"):
        option_book.post_vols([sid], [int(0.2 * WAD)], sender=keeper)


def test_vol_bounds_and_bad_posts(option_book, keeper, attacker, chain, fresh_oracle):
    fresh_oracle(3_000)
    sid, _ = _series(option_book, keeper, chain)
    chain.pending_timestamp += 30 * DAY
    fresh_oracle(3_000)
    with ape.reverts("book: vol above MAX_VOL"):
        option_book.post_vols([sid], [3 * WAD + 1], sender=keeper)
    with ape.reverts("book: vol below MIN_VOL"):
        option_book.post_vols([sid], [WAD // 100], sender=keeper)
    with ape.reverts("book: unknown series"):
        option_book.post_vols([sid + 99], [WAD // 2], sender=keeper)
    with ape.reverts("book: ids and vols differ in length"):
        option_book.post_vols([sid], [], sender=keeper)
    with ape.reverts("book: caller is not the keeper"):
        option_book.post_vols([sid], [WAD // 2], sender=attacker)
    with ape.reverts("book: caller is not the keeper"):
        option_book.create_series(3_000 * WAD, chain.pending_timestamp + DAY, True, WAD // 2, sender=attacker)


def test_series_bounds(option_book, keeper, chain, fresh_oracle):
    fresh_oracle(3_000)
    now = chain.pending_timestamp
    with ape.reverts("book: strike below band"):
        option_book.create_series(1_400 * WAD, now + DAY, True, WAD // 2, sender=keeper)
    with ape.reverts("book: strike above band"):
        option_book.create_series(4_600 * WAD, now + DAY, True, WAD // 2, sender=keeper)
    with ape.reverts("book: expiry too soon"):
        option_book.create_series(3_000 * WAD, now + 60, True, WAD // 2, sender=keeper)
    with ape.reverts("book: expiry beyond horizon"):
        option_book.create_series(3_000 * WAD, now + 91 * DAY, True, WAD // 2, sender=keeper)
    with ape.reverts("book: zero strike"):
        option_book.create_series(0, now + DAY, True, WAD // 2, sender=keeper)
    for i in range(16):
        option_book.create_series((2_900 + i) * WAD, now + DAY, i % 2 == 0, WAD // 2, sender=keeper)
    assert option_book.live_count() == 16
    with ape.reverts("book: too many live series"):
        option_book.create_series(3_000 * WAD, now + DAY, True, WAD // 2, sender=keeper)


def test_update_marks_is_public_and_uses_new_spot(option_book, keeper, stranger, chain, fresh_oracle):
    fresh_oracle(3_000)
    sid, expiry = _series(option_book, keeper, chain, vol=0.5)
    chain.pending_timestamp += 3_600
    fresh_oracle(3_060)
    tx = option_book.update_marks(sender=stranger)
    m = option_book.marks(sid)
    assert m.spot == 3_060 * WAD
    assert m.vol == WAD // 2  # the last posted vol, unchanged
    price, *_ = bs_ref(m.spot, 3_000 * WAD, expiry - m.computed_at, 0, m.vol, True)
    assert abs(m.price - price) <= 1e-15 * m.spot
    assert len(tx.events.filter(option_book.MarkUpdated)) == 1


def test_stale_cache_blocks_deposit_until_refreshed(option_book, book_vault, keeper, depositor, fund, usdc, chain, fresh_oracle):
    usdc.approve(book_vault, 2**256 - 1, sender=depositor)
    fund(depositor, 1_000 * USD)
    fresh_oracle(3_000)
    _series(option_book, keeper, chain)
    book_vault.deposit(100 * USD, sender=depositor)
    chain.pending_timestamp += option_book.max_mark_age() + 1
    fresh_oracle(3_000)
    chain.mine()
    with ape.reverts("book: marks stale"):
        book_vault.deposit(100 * USD, sender=depositor)
    with ape.reverts("book: marks stale"):
        book_vault.withdraw(10 * USD, sender=depositor)
    option_book.update_marks(sender=depositor)
    book_vault.deposit(100 * USD, sender=depositor)
    assert book_vault.totalAssets() == 200 * USD


def test_drifted_spot_blocks_deposit(option_book, book_vault, keeper, depositor, fund, usdc, chain, fresh_oracle):
    usdc.approve(book_vault, 2**256 - 1, sender=depositor)
    fund(depositor, 1_000 * USD)
    fresh_oracle(3_000)
    _series(option_book, keeper, chain)
    fresh_oracle(3_000 * 1.049)  # inside the 5 % drift bound
    book_vault.deposit(100 * USD, sender=depositor)
    fresh_oracle(3_000 * 1.051)  # outside
    with ape.reverts("book: spot drifted since marks"):
        book_vault.deposit(100 * USD, sender=depositor)
    option_book.update_marks(sender=depositor)
    book_vault.deposit(100 * USD, sender=depositor)


def test_stale_oracle_blocks_new_marks(option_book, oracle, keeper, owner, stranger, chain, fresh_oracle):
    fresh_oracle(3_000)
    _series(option_book, keeper, chain)
    chain.pending_timestamp += option_book.oracle_heartbeat() + 1
    chain.mine()
    with ape.reverts("oracle: stale"):
        option_book.update_marks(sender=stranger)
    with ape.reverts("oracle: stale"):
        option_book.create_series(3_000 * WAD, chain.pending_timestamp + DAY, True, WAD // 2, sender=keeper)


def test_18_decimal_feed_gives_the_same_marks(project, owner, keeper, deploy_vault, chain):
    feed8 = project.MockAggregator.deploy(8, 3_000 * 10**8, "ETH / USD", sender=owner)
    feed18 = project.MockAggregator.deploy(18, 3_000 * 10**18, "ETH / USD", sender=owner)
    books = [project.OptionBook.deploy(deploy_vault(), f, sender=owner) for f in (feed8, feed18)]
    expiry = chain.pending_timestamp + 20 * DAY
    marks = []
    for b in books:
        b.create_series(3_100 * WAD, expiry, False, WAD // 2, sender=keeper)
        marks.append(b.marks(1))
    assert marks[0].spot == marks[1].spot == 3_000 * WAD
    for m in marks:  # each priced at its own block time, both from a 3,000 spot
        price, *_ = bs_ref(3_000 * WAD, 3_100 * WAD, expiry - m.computed_at, 0, WAD // 2, False)
        assert abs(m.price - price) <= 1e-15 * 3_000 * WAD
        assert m.price > 0


def test_parameters_are_bounded_and_owner_only(option_book, owner, attacker):
    with ape.reverts("book: caller is not the owner"):
        option_book.set_marks_limits(3_600, 5 * 10**16, 10**13, sender=attacker)
    with ape.reverts("book: max_mark_age out of bounds"):
        option_book.set_marks_limits(86_401, 5 * 10**16, 10**13, sender=owner)
    with ape.reverts("book: max_spot_drift out of bounds"):
        option_book.set_marks_limits(3_600, 3 * 10**17, 10**13, sender=owner)
    with ape.reverts("book: max_vol_rate out of bounds"):
        option_book.set_marks_limits(3_600, 5 * 10**16, 0, sender=owner)
    with ape.reverts("book: oracle_heartbeat out of bounds"):
        option_book.set_oracle_heartbeat(10, sender=owner)
    with ape.reverts("book: risk_free_rate out of bounds"):
        option_book.set_risk_free_rate(-10**17, sender=owner)
    with ape.reverts("book: strike_band out of bounds"):
        option_book.set_series_limits(10**18, 86_400, sender=owner)
    option_book.set_marks_limits(3_600, 2 * 10**16, 10**13, sender=owner)
    assert option_book.max_mark_age() == 3_600
