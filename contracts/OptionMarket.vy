# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title Ballast Option Market: sales, long positions, settlement, claims
@notice Buyers buy options the vault writes: `buy(series, size, max_premium,
        deadline)` asks the risk guard for the level (as last measured by a
        poke or a rebalance) and a fresh oracle answer, has the book price the sale at
        that spot (never below its value now, nor below the liability it adds:
        see OptionBook.unit_price) and record it, pulls the premium (value x
        (1 + spread)) into the vault (the buyer approves the vault, which holds
        all money), and has the guard check every sale limit (stress margin,
        net vega, net gamma, scaled by the keeper's risk budget): a sale that
        breaks one reverts naming it.

        Long positions are an ERC-6909 ledger (minimal multi-token: balances
        per (holder, series id), per-id allowances, operators). Chosen over
        ERC-1155 because ERC-1155 transfers call `onERC1155Received` on the
        receiver, handing control to arbitrary code in the middle of a
        transfer: an extra reentrancy surface an options ledger has no use
        for. Positions stay freely transferable.

        After expiry anyone calls `settle(series, round_id)` with the oracle
        round that is the first one updated at or after expiry (checked by
        the guard, so nobody can pick a better price); the total payoff moves
        into the vault's claims reserve, out of NAV, and holders `claim`. If
        the vault's cash is short, the hedge is sold first (anyone may call
        `Hedger.raise_settlement_cash`); with no hedge left the payoff is paid
        pro rata from the cash there is, so settlement never reverts forever.
        Sizes are in wad of underlying (1e18 = 1 ETH); premiums and payoffs in
        the vault asset's units.
@custom:kill The vault's guardian pauses or shuts the vault down: `buy` is
        refused, `settle` and `claim` keep working so buyers are always paid.
"""

from interfaces import IOptionMarket
from interfaces import IOptionBook
from interfaces import IRiskGuard
from interfaces import IVault
from ethereum.ercs import IERC20Detailed
import constants as c
import param_timelock

implements: IOptionMarket

initializes: param_timelock
exports: (param_timelock.queued, param_timelock.cancel_change)


# ---------------------------------------------------------------- events (ERC-6909)

event Transfer:
    caller: address
    sender: indexed(address)
    receiver: indexed(address)
    id: indexed(uint256)
    amount: uint256

event OperatorSet:
    owner: indexed(address)
    spender: indexed(address)
    approved: bool

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    id: indexed(uint256)
    amount: uint256


WAD: constant(uint256) = c.WAD

vault: public(immutable(address))
book: public(immutable(address))
guard: public(immutable(address))
ASSET_SCALE: immutable(uint256)

spread: public(uint256)

# ERC-6909 ledger
balanceOf: public(HashMap[address, HashMap[uint256, uint256]])
allowance: public(HashMap[address, HashMap[address, HashMap[uint256, uint256]]])
isOperator: public(HashMap[address, HashMap[address, bool]])
totalSupply: public(HashMap[uint256, uint256])

settled: public(HashMap[uint256, bool])
settlement_price: public(HashMap[uint256, uint256])
payoff_per_unit: public(HashMap[uint256, uint256])


@deploy
def __init__(vault_: address, book_: address, guard_: address):
    """
    @param vault_ The vault (holds premiums and the claims reserve).
    @param book_ The option book (series, marks, positions).
    @param guard_ The risk guard (level, oracle, sale limits).
    """
    assert vault_.is_contract, "market: vault not a contract"
    assert book_.is_contract, "market: book not a contract"
    assert guard_.is_contract, "market: guard not a contract"
    vault = vault_
    book = book_
    guard = guard_
    asset_decimals: uint8 = staticcall IERC20Detailed(staticcall IVault(vault_).asset()).decimals()
    ASSET_SCALE = 10 ** convert(18 - asset_decimals, uint256)
    param_timelock.__init__(vault_)
    self.spread = c.DEFAULT_SPREAD


# ---------------------------------------------------------------- pricing

@view
@internal
def _premium(unit: uint256, size: uint256) -> uint256:
    # wad unit price x wad size x (1 + spread), to asset units, rounded up
    num: uint256 = unit * size // WAD * (WAD + self.spread)
    scale: uint256 = WAD * ASSET_SCALE
    return (num + scale - 1) // scale


@view
@external
@reentrant
def quote(sid: uint256, size: uint256) -> uint256:
    """
    @notice Premium in asset units for `size` of series `sid` at the oracle's
            latest spot: what `buy` charges in this block if nothing moves.
    @param sid The series id.
    @param size Wad of underlying.
    @return Asset units.
    """
    spot: uint256 = 0
    updated: uint256 = 0
    spot, updated = staticcall IRiskGuard(guard).spot()
    assert spot != 0, "market: oracle unreadable"
    return self._premium(staticcall IOptionBook(book).unit_price(sid, spot), size)


@external
def buy(sid: uint256, size: uint256, max_premium: uint256, deadline: uint256) -> uint256:
    """
    @notice Buy `size` (wad of underlying) of series `sid`, paying at most
            `max_premium` (asset units) before `deadline`. Approve the vault
            for the premium first.
    @param sid The series id.
    @param size Wad of underlying.
    @param max_premium Most the buyer pays, asset units.
    @param deadline Unix time after which the sale is refused.
    @return The premium paid, asset units.
    """
    assert size != 0, "market: zero size"
    assert block.timestamp <= deadline, "market: deadline passed"
    # the level as the guard last measured it (every poke and rebalance
    # measures; the keeper pokes when a condition changes) and the oracle now
    spot: uint256 = 0
    fresh: bool = False
    level: uint8 = 0
    spot, fresh, level = staticcall IRiskGuard(guard).quick()
    assert level == c.NORMAL, "market: circuit breaker tripped, no sales"
    assert fresh, "market: oracle stale"
    unit: uint256 = extcall IOptionBook(book).record_sale(sid, size, spot)
    premium: uint256 = self._premium(unit, size)
    assert premium != 0, "market: premium rounds to zero"
    assert premium <= max_premium, "market: premium above max_premium"
    extcall IVault(vault).collect_premium(msg.sender, premium)
    assert staticcall IRiskGuard(guard).check_sale(spot)

    self.balanceOf[msg.sender][sid] += size
    self.totalSupply[sid] += size
    log Transfer(caller=msg.sender, sender=empty(address), receiver=msg.sender, id=sid, amount=size)
    log IOptionMarket.Bought(buyer=msg.sender, series_id=sid, size=size, premium=premium)
    return premium


# ---------------------------------------------------------------- settlement

@external
def settle(sid: uint256, round_id: uint80):
    """
    @notice After expiry, fix the settlement price from oracle round
            `round_id` (the first round updated at or after expiry) and move
            the series' total payoff into the vault's claims reserve: in full,
            or pro rata when the cash is short and no hedge is left to sell.
    @param sid The series id.
    @param round_id The feed's round id.
    """
    strike: uint256 = 0
    expiry: uint256 = 0
    is_call: bool = False
    strike, expiry, is_call = staticcall IOptionBook(book).series(sid)
    assert expiry != 0, "market: unknown series"
    assert block.timestamp >= expiry, "market: series not expired"
    assert not self.settled[sid], "market: already settled"
    price: uint256 = staticcall IRiskGuard(guard).settlement_price(round_id, expiry)

    payoff: uint256 = 0
    if is_call and price > strike:
        payoff = price - strike
    elif not is_call and strike > price:
        payoff = strike - price
    oi: uint256 = extcall IOptionBook(book).close_series(sid)
    scale: uint256 = WAD * ASSET_SCALE
    total: uint256 = (oi * payoff + scale - 1) // scale
    pro_rata: bool = False
    if total != 0:
        cash: uint256 = staticcall IVault(vault).total_idle()
        if total > cash:
            assert staticcall IVault(vault).hedge_units() == 0, "market: not enough cash, call hedger.raise_settlement_cash"
            # no hedge left to sell: pay what there is, pro rata
            pro_rata = True
            total = cash
            payoff = cash * scale // oi
        if total != 0:
            extcall IVault(vault).reserve_payout(total)

    self.settled[sid] = True
    self.settlement_price[sid] = price
    self.payoff_per_unit[sid] = payoff
    log IOptionMarket.Settled(series_id=sid, price=price, payoff_per_unit=payoff, total_payout=total, pro_rata=pro_rata)


@external
def claim(sid: uint256) -> uint256:
    """
    @notice Holder: burn your settled position in `sid` and receive its
            payoff from the vault's reserve.
    @param sid The series id.
    @return Asset units paid (rounded down).
    """
    assert self.settled[sid], "market: series not settled"
    size: uint256 = self.balanceOf[msg.sender][sid]
    assert size != 0, "market: nothing to claim"
    self.balanceOf[msg.sender][sid] = 0
    self.totalSupply[sid] -= size
    amount: uint256 = size * self.payoff_per_unit[sid] // (WAD * ASSET_SCALE)
    log Transfer(caller=msg.sender, sender=msg.sender, receiver=empty(address), id=sid, amount=size)
    log IOptionMarket.Claimed(holder=msg.sender, series_id=sid, size=size, amount=amount)
    if amount != 0:
        extcall IVault(vault).pay_claim(msg.sender, amount)
    return amount


# ---------------------------------------------------------------- ERC-6909

@internal
def _move(sender: address, receiver: address, sid: uint256, amount: uint256):
    assert receiver != empty(address), "market: transfer to zero address"
    bal: uint256 = self.balanceOf[sender][sid]
    assert bal >= amount, "market: insufficient balance"
    self.balanceOf[sender][sid] = bal - amount
    self.balanceOf[receiver][sid] += amount
    log Transfer(caller=msg.sender, sender=sender, receiver=receiver, id=sid, amount=amount)


@external
def transfer(receiver: address, id: uint256, amount: uint256) -> bool:
    """
    @notice Move `amount` of the caller's long position in series `id` to
            `receiver` (ERC-6909). Positions stay transferable in every vault
            state and after settlement: whoever holds them at `claim` is paid.
            No receiver hook is called.
    @dev Reverts with "market: transfer to zero address" or "market:
         insufficient balance"; never returns False.
    @param receiver Who gets the position (not the zero address).
    @param id The series id.
    @param amount Wad of underlying (1e18 = 1 ETH of options).
    @return True (a failure reverts).
    """
    self._move(msg.sender, receiver, id, amount)
    return True


@external
def transferFrom(sender: address, receiver: address, id: uint256, amount: uint256) -> bool:
    """
    @notice Move `amount` of `sender`'s position in series `id` to `receiver`
            (ERC-6909). The caller is `sender`, an operator of `sender` (no
            allowance spent), or spends its allowance for `id`; an allowance
            of max uint256 is never decreased.
    @dev Reverts with "market: insufficient allowance", "market: transfer
         to zero address" or "market: insufficient balance"; never returns
         False.
    @param sender Whose position moves.
    @param receiver Who gets it (not the zero address).
    @param id The series id.
    @param amount Wad of underlying.
    @return True (a failure reverts).
    """
    if sender != msg.sender and not self.isOperator[sender][msg.sender]:
        allowed: uint256 = self.allowance[sender][msg.sender][id]
        if allowed != max_value(uint256):
            assert allowed >= amount, "market: insufficient allowance"
            self.allowance[sender][msg.sender][id] = allowed - amount
    self._move(sender, receiver, id, amount)
    return True


@external
def approve(spender: address, id: uint256, amount: uint256) -> bool:
    """
    @notice Let `spender` move up to `amount` of the caller's position in
            series `id` with `transferFrom` (ERC-6909; per series, overwrites
            the previous allowance, max uint256 is never spent down). Emits
            Approval.
    @param spender Who may spend (no zero-address check).
    @param id The series id.
    @param amount Wad of underlying.
    @return True.
    """
    self.allowance[msg.sender][spender][id] = amount
    log Approval(owner=msg.sender, spender=spender, id=id, amount=amount)
    return True


@external
def setOperator(spender: address, approved: bool) -> bool:
    """
    @notice Make `spender` an operator of the caller (or revoke it): an
            operator may `transferFrom` every series of the caller without an
            allowance (ERC-6909). Emits OperatorSet.
    @param spender The operator.
    @param approved True to grant, False to revoke.
    @return True.
    """
    self.isOperator[msg.sender][spender] = approved
    log OperatorSet(owner=msg.sender, spender=spender, approved=approved)
    return True


@view
@external
@reentrant
def supportsInterface(interface_id: bytes4) -> bool:
    """
    @notice ERC-165: True for ERC-165 (0x01ffc9a7) and ERC-6909 (0x0f632fb3),
            False for any other id (the optional ERC-6909 extensions are not
            advertised).
    @param interface_id The 4-byte interface id.
    @return Whether this contract implements it.
    """
    # ERC-165 and ERC-6909
    return interface_id == 0x01ffc9a7 or interface_id == 0x0f632fb3


# ---------------------------------------------------------------- parameters

@external
def set_spread(spread_: uint256):
    """
    @notice Owner: premium spread over the option's value (wad, <= MAX_SPREAD).
            A thinner spread loosens: it waits out the timelock.
    @param spread_ Wad fraction.
    """
    assert msg.sender == param_timelock._owner(), "market: caller is not the owner"
    assert spread_ <= c.MAX_SPREAD, "market: spread out of bounds"
    if not param_timelock._gate(keccak256(slice(msg.data, 0, 36)), spread_ < self.spread):
        return
    self.spread = spread_
    param_timelock._log_set("spread", spread_)
