"""Defect 7: what a stolen keeper key can do beyond the rate limits.

- It could open a series at any starting vol (a 90-day call marked 29.71 instead of
  355.27): now the first vol lies in [vol_floor, vol_cap] and within MAX_NEW_VOL_GAP of
  the book's mean vol.
- The vol allowance accrued without bound (after 3 quiet days one post moved NAV
  -11.3 %): now one post moves at most max_vol_rate x VOL_ACCRUAL_CAP.
- It could fill every series slot: now at most max_new_series a day, and the guardian
  retires empty series.
- Hedge churn: the daily notional cap bounds what round trips through the pool can
  cost; measured here on the real pool, against SECURITY.md's bound of
  max_daily_notional x (max_slippage + pool fee) = 0.42 % of NAV a day.
"""
import ape

from tests.attacks.conftest import DAY, USD, WAD


def test_a_first_vol_far_from_the_book_is_refused(ballast, keeper, chain):
    expiry = chain.pending_timestamp + 90 * DAY
    with ape.reverts("book: vol below floor"):
        ballast.book.create_series(3_000 * WAD, expiry, True, 5 * 10**16, sender=keeper)
    ballast.book.create_series(3_000 * WAD, expiry, True, 8 * 10**17, sender=keeper)
    with ape.reverts("book: vol too far from the book's mean vol"):
        ballast.book.create_series(3_200 * WAD, expiry, True, 3 * 10**17, sender=keeper)
    ballast.book.create_series(3_200 * WAD, expiry, True, 6 * 10**17, sender=keeper)


def test_quiet_days_do_not_bank_a_large_vol_move(ballast, owner, keeper, chain):
    sid = ballast.book.create_series(3_000 * WAD, chain.pending_timestamp + 30 * DAY, True, 8 * 10**17, sender=keeper).return_value
    chain.pending_timestamp += 3 * DAY
    ballast.set_price(owner, 3_000)
    step = ballast.book.max_vol_rate() * 900
    with ape.reverts("book: vol moved faster than max_vol_rate"):
        ballast.book.post_vols([sid], [8 * 10**17 - step - 1], sender=keeper)
    ballast.book.post_vols([sid], [8 * 10**17 - step], sender=keeper)


def test_series_slots_cannot_be_filled_in_a_day_and_empty_ones_are_retired(ballast, keeper, guardian, chain):
    expiry = chain.pending_timestamp + 90 * DAY
    sids = [ballast.book.create_series((2_000 + 100 * i) * WAD, expiry, True, 6 * 10**17, sender=keeper).return_value for i in range(8)]
    with ape.reverts("book: too many new series today"):
        ballast.book.create_series(3_000 * WAD, expiry, False, 6 * 10**17, sender=keeper)
    for sid in sids:
        ballast.book.retire_series(sid, sender=guardian)
    assert ballast.book.live_count() == 0


def test_hedge_churn_costs_at_most_the_daily_cap_times_slippage_and_fee(ballast, owner, keeper, buyer, chain):
    d = ballast
    sid = d.book.create_series(3_000 * WAD, chain.pending_timestamp + 7 * DAY, True, 6 * 10**17, sender=keeper).return_value
    d.options.buy(sid, 20 * WAD, 10**12, chain.pending_timestamp + 60, sender=buyer)
    nav0 = d.vault.totalAssets()
    traded, legs, leg = 0, 0, 4_000 * USD  # legs inside the band (1 % of NAV), so only the caps stop them
    refused = None
    for i in range(80):  # churn: buy, sell back, as fast as the cooldown and the caps allow
        chain.pending_timestamp += 301
        d.set_price(owner, 3_000)
        d.book.update_marks(sender=keeper)
        if i == 0:  # first bring delta near zero, so the churn legs stay inside the band
            usdc_in = -d.hedger.net_delta() * 3_000 * USD // WAD
            call = (True, usdc_in)
        elif i % 2:
            call = (True, leg)
        else:
            call = (False, leg * 10**12 * WAD // d.spot())
        buy, amount = call
        if buy:
            floor = amount * 10**12 * WAD // d.spot() * (WAD - d.hedger.max_slippage()) // WAD
        else:
            floor = amount * d.spot() // WAD // 10**12 * (WAD - d.hedger.max_slippage()) // WAD
        try:
            d.hedger.rebalance(buy, amount, floor, chain.pending_timestamp + 60, sender=keeper)
        except ape.exceptions.ContractLogicError as err:
            refused = str(err)
            if "hourly" in refused:
                chain.pending_timestamp += 3_600
                continue
            break
        traded += amount if buy else amount * 3_000 * USD // WAD
        legs += 1
    loss = nav0 - d.vault.totalAssets()
    print(f"{legs} legs, {traded / USD:,.0f} USDC of notional ({traded / nav0:.1%} of NAV) before '{refused}'; "
          f"NAV loss {loss / USD:,.2f} USDC = {loss / nav0:.4%} of NAV")
    assert refused is not None and "daily hedge notional cap" in refused
    # the daily bucket drains while the churn runs (~4.5 h): 40 % of NAV plus what drained
    assert traded <= nav0 * 40 // 100 * (DAY + 5 * 3_600) // DAY + leg
    assert loss <= nav0 * 42 // 10_000  # 0.42 % of NAV: daily cap x (slippage + pool fee)
