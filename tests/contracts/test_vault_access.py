"""Access-control matrix: every state-changing function against every non-authorised role."""
import ape
import pytest

from tests.conftest import USD

ROLES = ["owner", "keeper", "guardian", "depositor", "attacker"]

# function -> (args builder, authorised roles, expected revert message)
OWNER_ONLY = "vault: caller is not the owner"
GUARDIAN_OR_OWNER = "vault: caller is not guardian or owner"

MATRIX = {
    "set_keeper": (lambda a: [a["stranger"]], {"owner"}, OWNER_ONLY),
    "set_guardian": (lambda a: [a["stranger"]], {"owner"}, OWNER_ONLY),
    "set_deposit_cap": (lambda a: [1], {"owner"}, OWNER_ONLY),
    "set_option_book": (lambda a: [a["book"]], {"owner"}, OWNER_ONLY),
    "transfer_ownership": (lambda a: [a["stranger"]], {"owner"}, OWNER_ONLY),
    "accept_ownership": (lambda a: [], set(), "vault: caller is not the pending owner"),
    "set_option_market": (lambda a: [a["book"]], {"owner"}, OWNER_ONLY),
    "collect_premium": (lambda a: [a["stranger"], 1], set(), "vault: caller is not the option market"),
    "reserve_payout": (lambda a: [1], set(), "vault: caller is not the option market"),
    "pay_claim": (lambda a: [a["stranger"], 1], set(), "vault: caller is not the option market"),
    "set_hedger": (lambda a: [a["book"]], {"owner"}, OWNER_ONLY),
    "set_risk_guard": (lambda a: [a["book"]], {"owner"}, OWNER_ONLY),
    "cancel_change": (lambda a: [b"\x01" * 32], {"owner"}, OWNER_ONLY),
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


def test_two_step_ownership(vault, owner, stranger, attacker):
    vault.transfer_ownership(stranger, sender=owner)
    assert vault.owner() == owner.address
    with ape.reverts("vault: caller is not the pending owner"):
        vault.accept_ownership(sender=attacker)
    tx = vault.accept_ownership(sender=stranger)
    assert vault.owner() == stranger.address
    assert vault.pending_owner() == "0x0000000000000000000000000000000000000000"
    with ape.reverts(OWNER_ONLY):
        vault.set_deposit_cap(0, sender=owner)


def test_role_changes_emit_events(vault, owner, stranger):
    tx = vault.set_keeper(stranger, sender=owner)
    assert [(e.role, e.account) for e in tx.events.filter(vault.RoleSet)] == [("keeper", stranger.address)]
    assert vault.keeper() == stranger.address


def test_bad_parameters_revert(vault, owner, book, stranger):
    with ape.reverts("vault: cap above bound"):
        vault.set_deposit_cap(10**12 * USD + 1, sender=owner)
    with ape.reverts("vault: zero keeper"):
        vault.set_keeper("0x0000000000000000000000000000000000000000", sender=owner)
    with ape.reverts("vault: option book not a contract"):
        vault.set_option_book(stranger, sender=owner)
    vault.set_option_book(book, sender=owner)
    with ape.reverts("vault: option book already set"):
        vault.set_option_book(book, sender=owner)
