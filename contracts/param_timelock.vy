# pragma version 0.4.3
"""
@title param_timelock
@notice Parameter changes that tighten risk apply at once; changes that loosen
        it wait `TIMELOCK_DELAY` seconds, so depositors see them coming and can
        leave. One vocabulary for every Ballast contract: the events of
        `interfaces/IParams.vyi`, and `cancel_change` written once, here.

        A setter works out whether its new values loosen anything and calls
        `_gate(id, loosens)`, where `id` hashes the setter's calldata (the
        queuing transaction shows the values). A loosening change is queued the
        first time the owner calls the setter (event `ChangeQueued`, nothing
        applied) and applies when the owner calls the same setter with the same
        arguments again after its `eta`, within `TIMELOCK_GRACE` of it. Calling
        early reverts (`timelock: change not yet due`); calling after the grace
        period queues it afresh. The owner may `cancel_change` a queued change.
        Applied values are logged with `_log_set(name, value)`.
@custom:kill Stateless apart from the queue; the owning contract's roles apply.
"""

from interfaces import IParams
import constants as c


interface IOwned:
    def owner() -> address: view


# change id -> the time it may be applied (0 = not queued)
queued: public(HashMap[bytes32, uint256])
# who owns this contract's parameters: the contract whose `owner()` decides
# (the vault, Ballast's role registry)
_roles: address


@deploy
def __init__(roles: address):
    self._roles = roles


@view
@internal
def _owner() -> address:
    return staticcall IOwned(self._roles).owner()


@internal
def _gate(change_id: bytes32, loosens: bool) -> bool:
    """
    @dev True when the change may be applied now. Tightening: always.
         Loosening: only a queued change whose eta has come.
    """
    if not loosens:
        return True
    eta: uint256 = self.queued[change_id]
    if eta == 0 or block.timestamp > eta + c.TIMELOCK_GRACE:
        eta = block.timestamp + c.TIMELOCK_DELAY
        self.queued[change_id] = eta
        log IParams.ChangeQueued(change_id=change_id, eta=eta)
        return False
    assert block.timestamp >= eta, "timelock: change not yet due"
    self.queued[change_id] = 0
    return True


@internal
def _log_set(name: String[32], amount: uint256):
    log IParams.ParameterSet(name=name, value=amount)


@external
def cancel_change(change_id: bytes32):
    """
    @notice Owner: drop a queued (loosening) parameter change.
    @param change_id keccak256 of the queuing call's calldata (see `ChangeQueued`).
    """
    assert msg.sender == self._owner(), "timelock: caller is not the owner"
    assert self.queued[change_id] != 0, "timelock: change not queued"
    self.queued[change_id] = 0
    log IParams.ChangeCancelled(change_id=change_id)
