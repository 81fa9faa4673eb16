# pragma version 0.4.3
"""
@title param_timelock
@notice Parameter changes that tighten risk apply at once; changes that loosen
        it wait `DELAY` seconds, so depositors see them coming and can leave.

        A setter works out whether its new values loosen anything and calls
        `_gate(id, loosens)`, where `id` hashes a tag for the setter and its
        arguments (the queuing transaction shows the values). A loosening change is queued the first time the owner
        calls the setter (event `ChangeQueued`, nothing applied) and applies
        when the owner calls the same setter with the same arguments again
        after its `eta`, within `GRACE` seconds of it. Calling early reverts
        (`timelock: change not yet due`); calling after the grace period
        queues it afresh. The owner may `cancel` a queued change.
@custom:kill Stateless apart from the queue; the owning contract's roles apply.
"""

# Loosening changes wait this long (1 day) ...
DELAY: public(constant(uint256)) = 86_400
# ... and must be applied within this long after their eta (7 days).
GRACE: public(constant(uint256)) = 7 * 86_400


event ChangeQueued:
    change_id: indexed(bytes32)
    eta: uint256

event ChangeCancelled:
    change_id: indexed(bytes32)


# change id -> the time it may be applied (0 = not queued)
queued: public(HashMap[bytes32, uint256])


@internal
def _gate(change_id: bytes32, loosens: bool) -> bool:
    """
    @dev True when the change may be applied now. Tightening: always.
         Loosening: only a queued change whose eta has come.
    """
    if not loosens:
        return True
    eta: uint256 = self.queued[change_id]
    if eta == 0 or block.timestamp > eta + GRACE:
        eta = block.timestamp + DELAY
        self.queued[change_id] = eta
        log ChangeQueued(change_id=change_id, eta=eta)
        return False
    assert block.timestamp >= eta, "timelock: change not yet due"
    self.queued[change_id] = 0
    return True


@internal
def _cancel(change_id: bytes32):
    assert self.queued[change_id] != 0, "timelock: change not queued"
    self.queued[change_id] = 0
    log ChangeCancelled(change_id=change_id)
