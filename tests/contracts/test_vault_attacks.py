"""Attacks on share pricing, performed and shown to fail."""
import ape
import pytest

from tests.conftest import USD

WAD_PER_UNIT = 10**12  # the stand-in book reports wad USD


@pytest.fixture(autouse=True)
def _fresh_oracle(fresh_feed):
    """Deposits into the guarded vault need a fresh oracle."""


def test_inflation_attack_on_empty_vault_fails(vault, usdc, fund, attacker, victim):
    """Classic first-depositor attack: 1-unit deposit, big donation, victim rounds to 0.

    Tracked-state NAV ignores the donation, and the virtual shares make the
    attacker's share of any later deposit worth what they paid.
    """
    fund(attacker, 20_001 * USD)
    fund(victim, 10_000 * USD)
    attacker_start = usdc.balanceOf(attacker)

    vault.deposit(1, sender=attacker)  # 1 wei of USDC
    usdc.transfer(vault, 20_000 * USD, sender=attacker)  # the "donation"
    assert vault.totalAssets() == 1  # the donation is not NAV

    vault.deposit(10_000 * USD, sender=victim)
    victim_shares = vault.balanceOf(victim)
    assert victim_shares > 0
    # The victim can take out what they put in (minus at most 1 unit of rounding).
    assert vault.maxWithdraw(victim) >= 10_000 * USD - 1

    vault.redeem(vault.balanceOf(attacker), sender=attacker)
    # The attacker lost the donation and gained nothing from the victim.
    assert usdc.balanceOf(attacker) <= attacker_start - 20_000 * USD
    vault.redeem(vault.balanceOf(victim), sender=victim)
    assert usdc.balanceOf(victim) >= 10_000 * USD - 1


def test_inflation_through_nav_gain_is_bounded_by_virtual_shares(
    booked_vault, book, usdc, fund, owner, attacker, victim
):
    """Even a real NAV gain (book liability falling) cannot be used to round a victim to 0.

    The attacker holds 1 wei of shares-worth, then the book gains 10,000 USDC
    of value; the victim deposit still mints shares worth their deposit.
    """
    vault = booked_vault
    fund(attacker, 10_000 * USD + 1)
    fund(victim, 1_000 * USD)
    vault.deposit(10_000 * USD + 1, sender=attacker)
    book.set_liability(10_000 * USD * WAD_PER_UNIT, sender=owner)  # NAV = 1 unit
    vault.redeem(vault.maxRedeem(attacker), sender=attacker)
    book.set_liability(0, sender=owner)  # the liability vanishes: NAV jumps
    nav, supply = vault.totalAssets(), vault.totalSupply()
    vault.deposit(1_000 * USD, sender=victim)
    victim_shares = vault.balanceOf(victim)
    assert victim_shares > 0
    # The victim loses at most one share unit's worth to rounding (here
    # 10,000 units = 0.01 USDC, 1e-5 of the deposit): the gain stays with the
    # virtual shares rather than being captured by anyone.
    one_share = -(-(nav + 1) // (supply + 10**6))
    assert vault.previewRedeem(victim_shares) >= 1_000 * USD - one_share - 1
    assert 1_000 * USD - vault.previewRedeem(victim_shares) <= 1_000 * USD // 10**5


def test_assets_left_with_zero_supply_cannot_be_captured(booked_vault, book, usdc, fund, owner, depositor, attacker):
    """Thetanuts: assets in the vault while share supply is 0 must not go to a tiny first deposit.

    The depositor leaves while 400 USDC are reserved against a liability; the
    options then expire worthless, so 400 USDC of NAV sit with zero shares.
    """
    vault = booked_vault
    fund(depositor, 1_000 * USD)
    vault.deposit(1_000 * USD, sender=depositor)
    book.set_liability(400 * USD * WAD_PER_UNIT, sender=owner)
    vault.redeem(vault.balanceOf(depositor), sender=depositor)
    book.set_liability(0, sender=owner)
    assert vault.totalSupply() == 0
    residue = vault.totalAssets()
    assert residue >= 400 * USD

    fund(attacker, 2_000 * USD)
    start = usdc.balanceOf(attacker)
    # A dust deposit mints nothing and is refused ...
    with ape.reverts("vault: zero shares"):
        vault.deposit(1, sender=attacker)
    # ... and any larger one gets back no more than it paid.
    for amount in (1 * USD, 10 * USD, 1_000 * USD):
        vault.deposit(amount, sender=attacker)
        vault.redeem(vault.balanceOf(attacker), sender=attacker)
        assert usdc.balanceOf(attacker) <= start
    assert vault.totalAssets() >= residue


def test_donation_then_withdraw_cannot_take_the_donation(vault, usdc, fund, depositor, attacker):
    fund(depositor, 1_000 * USD)
    vault.deposit(1_000 * USD, sender=depositor)
    usdc.mint(vault, 500 * USD, sender=attacker)
    assert vault.maxWithdraw(depositor) == 1_000 * USD
    with ape.reverts("vault: withdraw over max"):
        vault.withdraw(1_000 * USD + 1, sender=depositor)
