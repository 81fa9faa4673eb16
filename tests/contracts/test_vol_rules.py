"""The book's vol and series rules: the owner's vol floor and cap, the rate limit with
its accrual cap, a new series' vol near the book's mean, new series per day, and
retiring a series nobody holds."""
import ape
import pytest

from tests.conftest import USD
from tests.contracts.conftest import DAY, WAD, new_series, post

VOL_ACCRUAL_CAP = 900  # constants.VOL_ACCRUAL_CAP
MAX_NEW_VOL_GAP = 25 * 10**16
MIN_VOL, MAX_VOL = 5 * 10**16, 3 * 10**18


def test_vol_floor_and_cap_are_owner_bounds(system, chain, owner, keeper):
    book = system.book
    assert (book.vol_floor(), book.vol_cap()) == (2 * 10**17, 2 * 10**18)
    sid, _ = new_series(system, keeper, chain, 3_000, True, vol=0.31)  # within one post (~1 vol point) of the floor
    tx = book.set_vol_bounds(3 * 10**17, 15 * 10**17, sender=owner)  # narrower: at once
    assert [(e.name, e.value) for e in tx.events.filter(book.ParameterSet)] == [
        ("vol_floor", 3 * 10**17), ("vol_cap", 15 * 10**17)
    ]
    chain.pending_timestamp += DAY
    post(system.feed, owner, 3_000)
    with ape.reverts("book: vol below floor"):
        book.post_vols([sid], [3 * 10**17 - 1], sender=keeper)
    with ape.reverts("book: vol above cap"):
        book.post_vols([sid], [15 * 10**17 + 1], sender=keeper)
    with ape.reverts("book: vol below floor"):
        book.create_series(3_000 * WAD, chain.pending_timestamp + DAY, True, 3 * 10**17 - 1, sender=keeper)
    with ape.reverts("book: vol above cap"):
        book.create_series(3_000 * WAD, chain.pending_timestamp + DAY, True, 15 * 10**17 + 1, sender=keeper)
    book.post_vols([sid], [3 * 10**17], sender=keeper)  # the floor itself is allowed
    # the hard bounds MIN_VOL / MAX_VOL, and floor < cap
    with ape.reverts("book: vol bounds out of bounds"):
        book.set_vol_bounds(MIN_VOL - 1, WAD, sender=owner)
    with ape.reverts("book: vol bounds out of bounds"):
        book.set_vol_bounds(3 * 10**17, MAX_VOL + 1, sender=owner)
    with ape.reverts("book: vol bounds out of bounds"):
        book.set_vol_bounds(WAD, WAD, sender=owner)
    # wider bounds loosen: queued, not applied
    tx = book.set_vol_bounds(MIN_VOL, MAX_VOL, sender=owner)
    assert tx.events.filter(book.ChangeQueued) and book.vol_floor() == 3 * 10**17


def test_a_quiet_period_does_not_bank_a_large_vol_move(system, chain, owner, keeper):
    """After 3 quiet days one post may move at most max_vol_rate x VOL_ACCRUAL_CAP."""
    book = system.book
    sid, _ = new_series(system, keeper, chain, 3_000, True, days=30, vol=0.6)
    rate = book.max_vol_rate()
    step = rate * VOL_ACCRUAL_CAP  # about 1 vol point (not 3 days x 100 points)
    chain.pending_timestamp += 3 * DAY
    post(system.feed, owner, 3_000)
    with ape.reverts("book: vol moved faster than max_vol_rate"):
        book.post_vols([sid], [6 * 10**17 + step + 1], sender=keeper)
    with ape.reverts("book: vol moved faster than max_vol_rate"):
        book.post_vols([sid], [6 * 10**17 - step - 1], sender=keeper)
    tx = book.post_vols([sid], [6 * 10**17 + step], sender=keeper)
    assert book.marks(sid).vol == 6 * 10**17 + step
    assert book.marks(sid).vol_posted_at == tx.timestamp
    # right after a post, the allowance starts again from zero
    chain.pending_timestamp = tx.timestamp + 10
    with ape.reverts("book: vol moved faster than max_vol_rate"):
        book.post_vols([sid], [6 * 10**17 + step + 10 * rate + 1], sender=keeper)
    chain.pending_timestamp = tx.timestamp + 10
    book.post_vols([sid], [6 * 10**17 + step + 10 * rate], sender=keeper)


def test_a_new_series_starts_near_the_books_mean_vol(system, chain, keeper):
    book = system.book
    new_series(system, keeper, chain, 3_000, True, vol=1.5)  # the first: any vol in bounds
    assert book.mean_vol() == 15 * 10**17
    expiry = chain.pending_timestamp + 7 * DAY
    with ape.reverts("book: vol too far from the book's mean vol"):
        book.create_series(3_000 * WAD, expiry, False, 15 * 10**17 - MAX_NEW_VOL_GAP - 1, sender=keeper)
    with ape.reverts("book: vol too far from the book's mean vol"):
        book.create_series(3_000 * WAD, expiry, False, 15 * 10**17 + MAX_NEW_VOL_GAP + 1, sender=keeper)
    new_series(system, keeper, chain, 3_000, False, expiry=expiry, vol=1.75)  # exactly 25 points above
    assert book.mean_vol() == (15 * 10**17 + 175 * 10**16) // 2
    mean = book.mean_vol()
    with ape.reverts("book: vol too far from the book's mean vol"):
        book.create_series(2_900 * WAD, expiry, False, mean - MAX_NEW_VOL_GAP - 1, sender=keeper)
    new_series(system, keeper, chain, 2_900, False, expiry=expiry, vol=(mean - MAX_NEW_VOL_GAP) / WAD)


def test_at_most_max_new_series_a_day(system, chain, owner, keeper):
    book = system.book
    assert book.max_new_series() == 8
    expiry = chain.pending_timestamp + 7 * DAY
    first = chain.pending_timestamp
    for i in range(8):
        book.create_series((2_900 + 10 * i) * WAD, expiry, True, 6 * 10**17, sender=keeper)
    with ape.reverts("book: too many new series today"):
        book.create_series(3_000 * WAD, expiry, True, 6 * 10**17, sender=keeper)
    chain.pending_timestamp = first + DAY
    post(system.feed, owner, 3_000)
    book.create_series(3_000 * WAD, expiry, True, 6 * 10**17, sender=keeper)
    # fewer a day is a tightening: at once
    tx = book.set_series_limits(book.strike_band(), book.max_horizon(), 1, sender=owner)
    assert ("max_new_series", 1) in [(e.name, e.value) for e in tx.events.filter(book.ParameterSet)]
    with ape.reverts("book: too many new series today"):
        book.create_series(3_000 * WAD, expiry, False, 6 * 10**17, sender=keeper)


def test_new_series_are_limited_per_day_window_as_documented(system, chain, owner, keeper):
    """Changed (was a strict xfail asking for a rolling day): the limit is per day
    window, as OptionBook's notice now says; across a window's end up to twice
    max_new_series can land close together, and no more."""
    book = system.book
    expiry = chain.pending_timestamp + 7 * DAY
    start = chain.pending_timestamp
    book.create_series(2_900 * WAD, expiry, True, 6 * 10**17, sender=keeper)  # opens the window
    chain.pending_timestamp = start + DAY - 60
    post(system.feed, owner, 3_000)
    for i in range(7):
        book.create_series((2_910 + 10 * i) * WAD, expiry, True, 6 * 10**17, sender=keeper)
    with ape.reverts("book: too many new series today"):
        book.create_series(3_000 * WAD, expiry, True, 6 * 10**17, sender=keeper)
    chain.pending_timestamp = start + DAY + 1
    for i in range(8):  # a new window: 8 more
        book.create_series((3_000 + 10 * i) * WAD, expiry, False, 6 * 10**17, sender=keeper)
    with ape.reverts("book: too many new series today"):
        book.create_series(3_100 * WAD, expiry, False, 6 * 10**17, sender=keeper)


def test_retire_series(s, chain, owner, keeper, guardian, buyer, stranger, fund_system):
    book = s.book
    fund_system(buyer, 10_000 * USD)
    a, _ = new_series(s, keeper, chain, 3_000, True)
    b, _ = new_series(s, keeper, chain, 3_100, True)
    c, _ = new_series(s, keeper, chain, 3_200, True)
    d, _ = new_series(s, keeper, chain, 3_300, True)
    s.options.buy(d, WAD, 10**12, chain.pending_timestamp + 60, sender=buyer)
    with ape.reverts("book: caller may not retire series"):
        book.retire_series(a, sender=stranger)
    with ape.reverts("book: series has open interest"):
        book.retire_series(d, sender=keeper)
    with ape.reverts("book: unknown series"):
        book.retire_series(99, sender=keeper)
    for sid, who in ((a, keeper), (b, guardian), (c, owner)):
        tx = book.retire_series(sid, sender=who)
        (ev,) = tx.events.filter(book.SeriesRetired)
        assert (ev.series_id, ev.by) == (sid, who.address)
        assert not book.is_open(sid)
    assert book.live_count() == 1 and book.live_series(0) == d
    with ape.reverts("book: unknown series"):
        book.retire_series(a, sender=keeper)
    with ape.reverts("book: series not open"):
        s.options.buy(a, WAD, 10**12, chain.pending_timestamp + 60, sender=buyer)
    with ape.reverts("book: unknown series"):
        book.post_vols([b], [6 * 10**17], sender=keeper)
