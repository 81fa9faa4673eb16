"""Access-control matrix: every state-changing function against every non-authorised role."""
import ape
import pytest

from tests.conftest import USD
from tests.contracts.conftest import ZERO

ROLES = ["owner", "keeper", "guardian", "depositor", "attacker"]

# function -> (args builder, authorised roles, expected revert message)
# Ownership is snekmate's ownable / ownable_2step now: its messages.
OWNER_ONLY = "ownable: caller is not the owner"
GUARDIAN_OR_OWNER = "vault: caller is not guardian or owner"

MATRIX = {
    "set_keeper": (lambda a: [a["stranger"]], {"owner"}, OWNER_ONLY),
    "set_guardian": (lambda a: [a["stranger"]], {"owner"}, OWNER_ONLY),
    "transfer_ownership": (lambda a: [a["stranger"]], {"owner"}, OWNER_ONLY),
    "accept_ownership": (lambda a: [], set(), "ownable_2step: caller is not the new owner"),
    # book, market, hedger and guard are connected once, together (were four setters)
    "connect": (lambda a: [a["book"], a["book"], a["book"], a["book"]], {"owner"}, OWNER_ONLY),
    "collect_premium": (lambda a: [a["stranger"], 1], set(), "vault: caller is not the option market"),
    "reserve_payout": (lambda a: [1], set(), "vault: caller is not the option market"),
    "pay_claim": (lambda a: [a["stranger"], 1], set(), "vault: caller is not the option market"),
    "hedge_swap": (
        lambda a: [a["stranger"], a["stranger"], 500, True, 1, 0, 0],
        set(),
        "vault: caller is not the hedger",
    ),
    "pause": (lambda a: [], {"owner", "guardian"}, GUARDIAN_OR_OWNER),
    "shutdown": (lambda a: [], {"owner", "guardian"}, GUARDIAN_OR_OWNER),
}


@pytest.fixture(scope="module")
def actors(owner, keeper, guardian, depositor, attacker, stranger, book):
    return {
        "owner": owner,
        "keeper": keeper,
        "guardian": guardian,
        "depositor": depositor,
        "attacker": attacker,
        "stranger": stranger,
        "book": book,
    }


UNAUTHORISED = [(fn, role) for fn in sorted(MATRIX) for role in ROLES if role not in MATRIX[fn][1]]


@pytest.mark.parametrize("fn,role", UNAUTHORISED)
def test_unauthorised_callers_revert(vault, actors, fn, role):
    args_of, _, message = MATRIX[fn]
    with ape.reverts(message):
        getattr(vault, fn)(*args_of(actors), sender=actors[role])


def test_unpause_is_guardian_or_owner(vault, guardian, keeper, attacker):
    vault.pause(sender=guardian)
    for who in (keeper, attacker):
        with ape.reverts(GUARDIAN_OR_OWNER):
            vault.unpause(sender=who)
    vault.unpause(sender=guardian)
    assert not vault.paused()


def test_matrix_covers_every_state_changing_function(vault):
    """A new state-changing function must be added to the matrix (or to the public list)."""
    public = {"deposit", "mint", "withdraw", "redeem", "transfer", "transferFrom", "approve", "unpause"}
    mutating = {m.name for m in vault.contract_type.mutable_methods}
    assert mutating == set(MATRIX) | public


# The parameters moved out of the vault: every other contract's owner-, keeper- and
# guardian-only entry points, called by the attacker. The owner of each is the vault's.
OTHERS = [
    ("guard", "set_oracle", lambda s, a: [3_600, 2 * 10**16, 600], "guard: caller is not the owner"),
    ("guard", "set_breakers", lambda s, a: [10**17, 3_600, 10**17, 86_400, 10**16, 3_600], "guard: caller is not the owner"),
    ("guard", "set_limits", lambda s, a: [10**17, 10**17, 10**16, 10**16], "guard: caller is not the owner"),
    ("guard", "set_budget_rules", lambda s, a: [10**17, 10**17], "guard: caller is not the owner"),
    ("guard", "set_deposit_cap", lambda s, a: [1], "guard: caller is not the owner"),
    ("guard", "post_risk_budget", lambda s, a: [10**18], "guard: caller is not the keeper"),
    ("guard", "trip", lambda s, a: [1], "guard: caller is not guardian or owner"),
    ("guard", "reset", lambda s, a: [], "guard: caller is not guardian or owner"),
    ("guard", "cancel_change", lambda s, a: [b"\x01" * 32], "timelock: caller is not the owner"),
    ("book", "set_market", lambda s, a: [s.options], "book: caller is not the owner"),
    ("book", "set_marks_limits", lambda s, a: [3_600, 10**16, 10**13], "book: caller is not the owner"),
    ("book", "set_vol_bounds", lambda s, a: [3 * 10**17, 10**18], "book: caller is not the owner"),
    ("book", "set_series_limits", lambda s, a: [10**17, 86_400, 1], "book: caller is not the owner"),
    ("book", "set_risk_free_rate", lambda s, a: [0], "book: caller is not the owner"),
    ("book", "create_series", lambda s, a: [3_000 * 10**18, 2**39, True, 5 * 10**17], "book: caller is not the keeper"),
    ("book", "post_vols", lambda s, a: [[], []], "book: caller is not the keeper"),
    ("book", "retire_series", lambda s, a: [1], "book: caller may not retire series"),
    ("book", "record_sale", lambda s, a: [1, 1, 1], "book: caller is not the market"),
    ("book", "close_series", lambda s, a: [1], "book: caller is not the market"),
    ("book", "cancel_change", lambda s, a: [b"\x01" * 32], "timelock: caller is not the owner"),
    ("options", "set_spread", lambda s, a: [10**16], "market: caller is not the owner"),
    ("options", "cancel_change", lambda s, a: [b"\x01" * 32], "timelock: caller is not the owner"),
    ("hedger", "set_keeper_timeout", lambda s, a: [3_600], "hedger: caller is not the owner"),
    ("hedger", "set_hedge_limits", lambda s, a: [10**16, 10**17, 300], "hedger: caller is not the owner"),
    ("hedger", "set_hedge_caps", lambda s, a: [10**17, 10**17], "hedger: caller is not the owner"),
    ("hedger", "rebalance", lambda s, a: [True, 1, 0, 2**40], "hedger: caller is not the keeper"),
    ("hedger", "ping", lambda s, a: [], "hedger: caller is not the keeper"),
    ("hedger", "cancel_change", lambda s, a: [b"\x01" * 32], "timelock: caller is not the owner"),
]


@pytest.mark.parametrize("part,fn,args_of,message", OTHERS, ids=[f"{p}.{f}" for p, f, *_ in OTHERS])
def test_other_contracts_refuse_the_attacker(system, attacker, actors, part, fn, args_of, message):
    contract = getattr(system, part)
    with ape.reverts(message):
        getattr(contract, fn)(*args_of(system, actors), sender=attacker)


def test_cancel_change_needs_a_queued_change(system, owner):
    for part in ("guard", "book", "options", "hedger"):
        with ape.reverts("timelock: change not queued"):
            getattr(system, part).cancel_change(b"\x01" * 32, sender=owner)


def test_two_step_ownership(system, owner, stranger, attacker):
    vault, guard = system.vault, system.guard
    vault.transfer_ownership(stranger, sender=owner)
    assert vault.owner() == owner.address
    assert vault.pending_owner() == stranger.address
    with ape.reverts("ownable_2step: caller is not the new owner"):
        vault.accept_ownership(sender=attacker)
    vault.accept_ownership(sender=stranger)
    assert vault.owner() == stranger.address
    assert vault.pending_owner() == ZERO
    with ape.reverts(OWNER_ONLY):
        vault.set_keeper(attacker, sender=owner)
    # The vault's owner owns every contract's parameters: they follow at once.
    with ape.reverts("guard: caller is not the owner"):
        guard.set_deposit_cap(0, sender=owner)
    guard.set_deposit_cap(0, sender=stranger)
    assert guard.deposit_cap() == 0


def test_role_changes_emit_events(vault, owner, stranger):
    tx = vault.set_keeper(stranger, sender=owner)
    assert [(e.role, e.account) for e in tx.events.filter(vault.RoleSet)] == [("keeper", stranger.address)]
    assert vault.keeper() == stranger.address
    tx = vault.set_guardian(stranger, sender=owner)
    assert [(e.role, e.account) for e in tx.events.filter(vault.RoleSet)] == [("guardian", stranger.address)]
    assert vault.guardian() == stranger.address


def test_bad_parameters_revert(project, vault, owner, keeper, guardian, book, stranger, market, system, usdc):
    # The deposit cap and its bound live in the guard (was "vault: cap above bound").
    with ape.reverts("guard: deposit_cap out of bounds"):
        system.guard.set_deposit_cap(10**12 * USD + 1, sender=owner)
    with ape.reverts("guard: deposit_cap out of bounds"):
        project.RiskGuard.deploy(vault, market.feed, market.pool, market.weth, 10**12 * USD + 1, sender=owner)
    with ape.reverts("vault: zero keeper"):
        vault.set_keeper(ZERO, sender=owner)
    with ape.reverts("vault: zero guardian"):
        vault.set_guardian(ZERO, sender=owner)
    with ape.reverts("vault: zero keeper"):
        project.Vault.deploy(usdc, "x", "x", ZERO, guardian, sender=owner)
    with ape.reverts("vault: zero guardian"):
        project.Vault.deploy(usdc, "x", "x", keeper, ZERO, sender=owner)
    # One `connect` replaces the four setters: each address must be a contract, and
    # it cannot be repeated (was "vault: option book not a contract" / "... already set").
    with ape.reverts("vault: not a contract"):
        vault.connect(stranger, book, book, book, sender=owner)
    with ape.reverts("vault: not a contract"):
        vault.connect(book, book, book, stranger, sender=owner)
    tx = vault.connect(book, book, book, book, sender=owner)
    (ev,) = tx.events.filter(vault.Connected)
    assert ev.book == ev.market == ev.hedger == ev.guard == book.address
    with ape.reverts("vault: already connected"):
        vault.connect(book, book, book, book, sender=owner)
