"""Pause (reversible) and shutdown (one-way) semantics: money can always leave."""
import ape

from tests.conftest import USD


def test_pause_blocks_deposits_not_withdrawals(vault, fund, depositor, guardian):
    fund(depositor, 100 * USD)
    vault.deposit(50 * USD, sender=depositor)
    tx = vault.pause(sender=guardian)
    assert tx.events.filter(vault.Paused)[0].account == guardian.address
    assert vault.maxDeposit(depositor) == 0
    assert vault.maxMint(depositor) == 0
    with ape.reverts("vault: paused"):
        vault.deposit(10 * USD, sender=depositor)
    with ape.reverts("vault: paused"):
        vault.mint(10**6, sender=depositor)
    vault.withdraw(20 * USD, sender=depositor)
    vault.redeem(vault.balanceOf(depositor), sender=depositor)
    assert vault.totalAssets() == 0
    vault.unpause(sender=guardian)
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
    with ape.reverts("vault: not paused"):
        vault.unpause(sender=guardian)
    vault.pause(sender=guardian)
    with ape.reverts("vault: already paused"):
        vault.pause(sender=guardian)


def test_transfers_of_shares(vault, fund, depositor, victim):
    fund(depositor, 10 * USD)
    shares = vault.deposit(10 * USD, sender=depositor).return_value
    vault.transfer(victim, shares, sender=depositor)
    assert vault.balanceOf(victim) == shares
    assert vault.maxWithdraw(victim) == 10 * USD
