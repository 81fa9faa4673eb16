"""Pause (reversible) and shutdown (one-way) semantics: money can always leave.

Pausing is snekmate's `pausable` now: its revert messages and events."""
import ape

from tests.conftest import USD
from tests.contracts.conftest import WAD, new_series, post


def test_pause_blocks_deposits_not_withdrawals(vault, fund, depositor, guardian):
    fund(depositor, 100 * USD)
    vault.deposit(50 * USD, sender=depositor)
    tx = vault.pause(sender=guardian)
    assert tx.events.filter(vault.Paused)[0].account == guardian.address
    assert vault.maxDeposit(depositor) == 0
    assert vault.maxMint(depositor) == 0
    with ape.reverts("pausable: contract is paused"):
        vault.deposit(10 * USD, sender=depositor)
    with ape.reverts("pausable: contract is paused"):
        vault.mint(10**6, sender=depositor)
    vault.withdraw(20 * USD, sender=depositor)
    vault.redeem(vault.balanceOf(depositor), sender=depositor)
    assert vault.totalAssets() == 0
    tx = vault.unpause(sender=guardian)
    assert tx.events.filter(vault.Unpaused)[0].account == guardian.address
    vault.deposit(10 * USD, sender=depositor)
    assert vault.totalAssets() == 10 * USD


def test_shutdown_is_one_way_and_keeps_withdrawals_open(vault, fund, depositor, guardian, owner):
    fund(depositor, 100 * USD)
    vault.deposit(100 * USD, sender=depositor)
    tx = vault.shutdown(sender=guardian)
    assert tx.events.filter(vault.Shutdown)[0].account == guardian.address
    assert vault.is_shutdown()
    with ape.reverts("vault: shut down"):
        vault.deposit(1 * USD, sender=depositor)
    with ape.reverts("vault: shut down"):
        vault.mint(10**6, sender=depositor)
    with ape.reverts("vault: already shut down"):
        vault.shutdown(sender=owner)
    # No function turns it back on; unpausing does not help.
    vault.pause(sender=guardian)
    vault.unpause(sender=guardian)
    with ape.reverts("vault: shut down"):
        vault.deposit(1 * USD, sender=depositor)
    assert vault.maxDeposit(depositor) == 0
    vault.redeem(vault.balanceOf(depositor), sender=depositor)
    assert vault.totalAssets() == 0


def test_pause_twice_and_unpause_unpaused_revert(vault, guardian):
    with ape.reverts("pausable: contract is not paused"):
        vault.unpause(sender=guardian)
    vault.pause(sender=guardian)
    with ape.reverts("pausable: contract is paused"):
        vault.pause(sender=guardian)


def test_transfers_of_shares(vault, fund, depositor, victim):
    fund(depositor, 10 * USD)
    vault.deposit(10 * USD, sender=depositor)
    shares = vault.balanceOf(depositor)
    vault.transfer(victim, shares, sender=depositor)
    assert vault.balanceOf(victim) == shares
    assert vault.maxWithdraw(victim) == 10 * USD


def test_pause_and_shutdown_stop_sales_not_settlement(s, chain, owner, keeper, guardian, buyer, fund_system):
    """The market's `buy` is refused while the vault is paused or shut down;
    settlement and claims keep working, so buyers are always paid."""
    call, expiry = new_series(s, keeper, chain, 3_000, True)
    fund_system(buyer, 10_000 * USD)
    s.options.buy(call, WAD, 10**12, chain.pending_timestamp + 60, sender=buyer)
    s.vault.pause(sender=guardian)
    with ape.reverts("pausable: contract is paused"):
        s.options.buy(call, WAD, 10**12, chain.pending_timestamp + 60, sender=buyer)
    s.vault.unpause(sender=guardian)
    s.vault.shutdown(sender=guardian)
    with ape.reverts("vault: shut down"):
        s.options.buy(call, WAD, 10**12, chain.pending_timestamp + 60, sender=buyer)
    s.vault.pause(sender=guardian)
    chain.pending_timestamp = expiry + 1
    post(s.feed, owner, 3_100)
    s.options.settle(call, s.feed.latest_round(), sender=buyer)
    tx = s.options.claim(call, sender=buyer)
    assert tx.events.filter(s.options.Claimed)[0].amount == 100 * USD
