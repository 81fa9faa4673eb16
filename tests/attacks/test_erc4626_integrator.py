"""An outside integrator that knows only the EIP-4626 ABI (no Ballast ABI, no ape
project types) uses the vault in every state: fresh, open options with a hedge, a
breaker holding, marks stale, halted, shut down, dust balances. In every state the
views answer (EIP-4626: they must not revert), and whatever `max*` says is possible
succeeds with exactly what `preview*` said; whatever it says is impossible is 0."""
import json

import pytest
from ethpm_types import ContractType

from tests.attacks.conftest import DAY, USD, WAD

_UINT = {"type": "uint256", "name": ""}


def _fn(name, inputs, outputs, mutability):
    return {"type": "function", "name": name, "stateMutability": mutability,
            "inputs": [{"type": t, "name": n} for n, t in inputs], "outputs": [dict(_UINT, type=t) for t in outputs]}


# OpenZeppelin's IERC4626 (and the ERC-20 it extends), written out: nothing from this repository.
IERC4626_ABI = [
    _fn("asset", [], ["address"], "view"),
    _fn("totalAssets", [], ["uint256"], "view"),
    _fn("totalSupply", [], ["uint256"], "view"),
    _fn("balanceOf", [("account", "address")], ["uint256"], "view"),
    _fn("transfer", [("to", "address"), ("value", "uint256")], ["bool"], "nonpayable"),
    _fn("convertToShares", [("assets", "uint256")], ["uint256"], "view"),
    _fn("convertToAssets", [("shares", "uint256")], ["uint256"], "view"),
    _fn("maxDeposit", [("receiver", "address")], ["uint256"], "view"),
    _fn("previewDeposit", [("assets", "uint256")], ["uint256"], "view"),
    _fn("deposit", [("assets", "uint256"), ("receiver", "address")], ["uint256"], "nonpayable"),
    _fn("maxMint", [("receiver", "address")], ["uint256"], "view"),
    _fn("previewMint", [("shares", "uint256")], ["uint256"], "view"),
    _fn("mint", [("shares", "uint256"), ("receiver", "address")], ["uint256"], "nonpayable"),
    _fn("maxWithdraw", [("owner", "address")], ["uint256"], "view"),
    _fn("previewWithdraw", [("assets", "uint256")], ["uint256"], "view"),
    _fn("withdraw", [("assets", "uint256"), ("receiver", "address"), ("owner", "address")], ["uint256"], "nonpayable"),
    _fn("maxRedeem", [("owner", "address")], ["uint256"], "view"),
    _fn("previewRedeem", [("shares", "uint256")], ["uint256"], "view"),
    _fn("redeem", [("shares", "uint256"), ("receiver", "address"), ("owner", "address")], ["uint256"], "nonpayable"),
]
VIEWS = ("totalAssets", "totalSupply")
VIEWS_AMOUNT = ("convertToShares", "convertToAssets", "previewDeposit", "previewMint", "previewWithdraw", "previewRedeem")
VIEWS_ACCOUNT = ("maxDeposit", "maxMint", "maxWithdraw", "maxRedeem", "balanceOf")


def as_integrator(vault):
    from ape.contracts import ContractInstance

    ct = ContractType.model_validate({"contractName": "IERC4626", "abi": json.loads(json.dumps(IERC4626_ABI))})
    return ContractInstance(vault.address, ct)


def open_book(d, keeper, buyer, chain):
    sid = d.book.create_series(3_000 * WAD, chain.pending_timestamp + 7 * DAY, True, 6 * 10**17, sender=keeper).return_value
    d.options.buy(sid, 20 * WAD, 10**12, chain.pending_timestamp + 60, sender=buyer)
    usdc_in = 15_000 * USD
    floor = usdc_in * 10**12 * WAD // d.spot() * (WAD - d.hedger.max_slippage()) // WAD
    d.hedger.rebalance(True, usdc_in, floor, chain.pending_timestamp + 60, sender=keeper)
    return sid


def state_fresh(d, owner, keeper, guardian, buyer, chain):
    pass


def state_open_options_hedged(d, owner, keeper, guardian, buyer, chain):
    open_book(d, keeper, buyer, chain)


def state_breaker_holding(d, owner, keeper, guardian, buyer, chain):
    open_book(d, keeper, buyer, chain)
    chain.pending_timestamp += 3_601  # the feed misses its heartbeat
    d.guard.poke(sender=buyer)
    assert d.guard.level() == 2


def state_marks_stale(d, owner, keeper, guardian, buyer, chain):
    open_book(d, keeper, buyer, chain)
    chain.pending_timestamp += 4 * 3_600  # marks older than max_mark_age, oracle alive
    d.feed.set_answer(2_900 * 10**8, sender=owner)
    assert not d.vault.nav_status().fresh


def state_oracle_and_marks_dead(d, owner, keeper, guardian, buyer, chain):
    open_book(d, keeper, buyer, chain)
    chain.pending_timestamp += 4 * 3_600  # no oracle answer for 4 h, marks 4 h old
    chain.mine(1)  # views read the latest block: let it carry the new time


def state_halted(d, owner, keeper, guardian, buyer, chain):
    open_book(d, keeper, buyer, chain)
    d.guard.trip(3, sender=guardian)


def state_shut_down(d, owner, keeper, guardian, buyer, chain):
    open_book(d, keeper, buyer, chain)
    d.vault.shutdown(sender=guardian)


STATES = [state_fresh, state_open_options_hedged, state_breaker_holding, state_marks_stale,
          state_oracle_and_marks_dead, state_halted, state_shut_down]


@pytest.mark.parametrize("setup", STATES, ids=[s.__name__.removeprefix("state_") for s in STATES])
def test_an_eip4626_integrator_is_never_surprised(setup, ballast, owner, keeper, guardian, depositor, buyer, stranger, chain):
    setup(ballast, owner, keeper, guardian, buyer, chain)
    v = as_integrator(ballast.vault)
    assert v.asset() == ballast.usdc.address
    for name in VIEWS:
        getattr(v, name)()
    for name in VIEWS_AMOUNT:
        for amount in (0, 1, 10**6, 10**12, 10**30):
            getattr(v, name)(amount)
    for name in VIEWS_ACCOUNT:
        for who in (depositor, stranger):
            getattr(v, name)(who)

    # what max* allows goes through with exactly what preview* says (same block)
    deposit_room = v.maxDeposit(depositor)
    if deposit_room:
        amount = min(deposit_room, 1_000 * USD)
        expected = v.previewDeposit(amount)
        assert v.deposit(amount, depositor, sender=depositor).return_value == expected
    shares = v.maxRedeem(depositor)
    if shares:
        shares = min(shares, v.balanceOf(depositor) // 10)
        expected = v.previewRedeem(shares)
        assert expected > 0
        assert v.redeem(shares, depositor, depositor, sender=depositor).return_value == expected
    room = v.maxWithdraw(depositor)
    if room:
        assets = min(room, 1_000 * USD)
        expected = v.previewWithdraw(assets)
        assert v.withdraw(assets, depositor, depositor, sender=depositor).return_value == expected
    if setup is state_halted:
        assert v.maxWithdraw(depositor) == v.maxRedeem(depositor) == 0
    elif setup is not state_fresh or v.balanceOf(depositor):
        assert v.maxRedeem(depositor) > 0, "there is always an exit below a guardian halt"
    if setup in (state_breaker_holding, state_marks_stale, state_oracle_and_marks_dead, state_halted, state_shut_down):
        assert v.maxDeposit(depositor) == 0 and v.maxMint(depositor) == 0


def test_a_dust_holder_is_told_the_truth(ballast, depositor, stranger):
    v = as_integrator(ballast.vault)
    v.transfer(stranger, 1, sender=depositor)  # one share unit: worth less than one asset unit
    assert v.convertToAssets(1) == 0
    assert v.maxRedeem(stranger) == 0 and v.maxWithdraw(stranger) == 0


def test_a_withdrawal_sent_with_the_nodes_estimate_lands_in_a_later_block(ballast, owner, keeper, buyer, depositor, chain):
    """While a breaker condition holds, a withdrawal's gas must not depend on the block
    it lands in (it writes no breaker state)."""
    open_book(ballast, keeper, buyer, chain)
    chain.pending_timestamp += 3_601  # the oracle goes stale: a breaker condition holds, not yet latched
    v = as_integrator(ballast.vault)
    tx = v.redeem.as_transaction(10**15, depositor, depositor, sender=depositor)
    estimate = chain.provider.estimate_gas_cost(tx)
    chain.mine(1)
    chain.pending_timestamp += 600
    receipt = v.redeem(10**15, depositor, depositor, sender=depositor, gas_limit=estimate)
    assert receipt.gas_used <= estimate
