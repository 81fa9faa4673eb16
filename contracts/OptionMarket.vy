# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title Ballast Option Market: sales, long positions, settlement, claims
@notice Buyers buy options the vault writes: `buy(series, size, max_premium,
        deadline)` prices from the book's cached mark plus `spread`, pulls
        the premium into the vault (the buyer approves the vault, which holds
        all money), records the short interest in the book, and then asks the
        book to check every limit (stress margin vs NAV x max_utilisation,
        net vega, net gamma): a sale that breaks one reverts naming it.

        Long positions are an ERC-6909 ledger (minimal multi-token: balances
        per (holder, series id), per-id allowances, operators). Chosen over
        ERC-1155 because ERC-1155 transfers call `onERC1155Received` on the
        receiver, handing control to arbitrary code in the middle of a
        transfer: an extra reentrancy surface an options ledger has no use
        for. Positions stay freely transferable.

        After expiry anyone calls `settle(series, round_id)` with the oracle
        round that is the first one updated at or after expiry (checked
        on-chain, so nobody can pick a better price); the total payoff moves
        into the vault's claims reserve, out of NAV, and holders `claim`.
        Sizes are in wad of underlying (1e18 = 1 ETH); premiums and payoffs
        in the vault asset's units.
@custom:kill The vault's guardian pauses or shuts the vault down: `buy` is
        refused, `settle` and `claim` keep working so buyers are always paid.
"""

import oracle
import param_timelock

initializes: param_timelock
exports: param_timelock.queued


interface IBook:
    def series(sid: uint256) -> (uint256, uint256, bool): view
    def marks(sid: uint256) -> (uint256, uint256, uint256, uint256, uint256, int256, uint256, uint256): view
    def is_open(sid: uint256) -> bool: view
    def check_marks() -> bool: view
    def check_sale_limits() -> bool: view
    def oracle_heartbeat() -> uint256: view
    def record_sale(sid: uint256, size: uint256): nonpayable
    def close_series(sid: uint256) -> uint256: nonpayable


interface IVault:
    def owner() -> address: view
    def asset() -> address: view
    def paused() -> bool: view
    def is_shutdown() -> bool: view
    def risk_guard() -> address: view
    def collect_premium(buyer: address, amount: uint256): nonpayable
    def reserve_payout(amount: uint256): nonpayable
    def pay_claim(holder: address, amount: uint256): nonpayable


interface IERC20Detailed:
    def decimals() -> uint8: view


interface IGuard:
    def poke() -> uint8: nonpayable


# ---------------------------------------------------------------- events (ERC-6909 + market)

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

event Bought:
    buyer: indexed(address)
    series_id: indexed(uint256)
    size: uint256
    premium: uint256

event Settled:
    series_id: indexed(uint256)
    price: uint256
    payoff_per_unit: uint256
    total_payout: uint256

event Claimed:
    holder: indexed(address)
    series_id: indexed(uint256)
    size: uint256
    amount: uint256

event SpreadSet:
    spread: uint256


WAD: constant(uint256) = 10**18
MAX_SPREAD: constant(uint256) = 2 * 10**17   # 20 %

vault: public(immutable(address))
book: public(immutable(address))
feed: public(immutable(address))
FEED_DECIMALS: immutable(uint8)
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
def __init__(vault_: address, book_: address, feed_: address):
    assert vault_.is_contract, "market: vault not a contract"
    assert book_.is_contract, "market: book not a contract"
    vault = vault_
    book = book_
    feed = feed_
    FEED_DECIMALS = oracle._feed_decimals(feed_)
    asset_decimals: uint8 = staticcall IERC20Detailed(staticcall IVault(vault_).asset()).decimals()
    ASSET_SCALE = 10 ** convert(18 - asset_decimals, uint256)
    self.spread = 2 * 10**16   # 2 %


# ---------------------------------------------------------------- pricing

@view
@internal
def _premium(sid: uint256, size: uint256) -> uint256:
    price: uint256 = (staticcall IBook(book).marks(sid))[4]
    # wad price x wad size x (1 + spread), to asset units, rounded up
    num: uint256 = price * size // WAD * (WAD + self.spread)
    scale: uint256 = WAD * ASSET_SCALE
    return (num + scale - 1) // scale


@view
@external
@reentrant
def quote(sid: uint256, size: uint256) -> uint256:
    """
    @notice Premium in asset units for `size` (wad of underlying) of series
            `sid` at the cached mark plus spread. Reverts on stale marks.
    """
    assert staticcall IBook(book).check_marks()
    return self._premium(sid, size)


@external
def buy(sid: uint256, size: uint256, max_premium: uint256, deadline: uint256) -> uint256:
    """
    @notice Buy `size` (wad of underlying) of series `sid`, paying at most
            `max_premium` (asset units) before `deadline`. Approve the vault
            for the premium first. Returns the premium paid.
    """
    assert size != 0, "market: zero size"
    assert block.timestamp <= deadline, "market: deadline passed"
    assert staticcall IBook(book).is_open(sid), "market: series not open"
    guard: address = staticcall IVault(vault).risk_guard()
    if guard != empty(address):
        assert extcall IGuard(guard).poke() == 0, "market: circuit breaker tripped, no sales"
    spot: uint256 = oracle._fresh(feed, FEED_DECIMALS, staticcall IBook(book).oracle_heartbeat())
    assert staticcall IBook(book).check_marks()
    premium: uint256 = self._premium(sid, size)
    assert premium != 0, "market: premium rounds to zero"
    assert premium <= max_premium, "market: premium above max_premium"

    extcall IVault(vault).collect_premium(msg.sender, premium)
    extcall IBook(book).record_sale(sid, size)
    assert staticcall IBook(book).check_sale_limits()

    self.balanceOf[msg.sender][sid] += size
    self.totalSupply[sid] += size
    log Transfer(caller=msg.sender, sender=empty(address), receiver=msg.sender, id=sid, amount=size)
    log Bought(buyer=msg.sender, series_id=sid, size=size, premium=premium)
    return premium


# ---------------------------------------------------------------- settlement

@external
def settle(sid: uint256, round_id: uint80):
    """
    @notice After expiry, fix the settlement price from oracle round
            `round_id`, which must be the first round updated at or after
            expiry; reserve the series' total payoff in the vault.
    """
    strike: uint256 = 0
    expiry: uint256 = 0
    is_call: bool = False
    strike, expiry, is_call = staticcall IBook(book).series(sid)
    assert expiry != 0, "market: unknown series"
    assert block.timestamp >= expiry, "market: series not expired"
    assert not self.settled[sid], "market: already settled"
    price: uint256 = oracle._first_after(feed, FEED_DECIMALS, round_id, expiry)

    payoff: uint256 = 0
    if is_call and price > strike:
        payoff = price - strike
    elif not is_call and strike > price:
        payoff = strike - price
    oi: uint256 = extcall IBook(book).close_series(sid)
    scale: uint256 = WAD * ASSET_SCALE
    total: uint256 = (oi * payoff + scale - 1) // scale
    if total != 0:
        extcall IVault(vault).reserve_payout(total)

    self.settled[sid] = True
    self.settlement_price[sid] = price
    self.payoff_per_unit[sid] = payoff
    log Settled(series_id=sid, price=price, payoff_per_unit=payoff, total_payout=total)


@external
def claim(sid: uint256) -> uint256:
    """
    @notice Holder: burn your settled position in `sid` and receive its
            payoff (asset units, rounded down) from the vault's reserve.
    """
    assert self.settled[sid], "market: series not settled"
    size: uint256 = self.balanceOf[msg.sender][sid]
    assert size != 0, "market: nothing to claim"
    self.balanceOf[msg.sender][sid] = 0
    self.totalSupply[sid] -= size
    amount: uint256 = size * self.payoff_per_unit[sid] // (WAD * ASSET_SCALE)
    log Transfer(caller=msg.sender, sender=msg.sender, receiver=empty(address), id=sid, amount=size)
    log Claimed(holder=msg.sender, series_id=sid, size=size, amount=amount)
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
    self._move(msg.sender, receiver, id, amount)
    return True


@external
def transferFrom(sender: address, receiver: address, id: uint256, amount: uint256) -> bool:
    if sender != msg.sender and not self.isOperator[sender][msg.sender]:
        allowed: uint256 = self.allowance[sender][msg.sender][id]
        if allowed != max_value(uint256):
            assert allowed >= amount, "market: insufficient allowance"
            self.allowance[sender][msg.sender][id] = allowed - amount
    self._move(sender, receiver, id, amount)
    return True


@external
def approve(spender: address, id: uint256, amount: uint256) -> bool:
    self.allowance[msg.sender][spender][id] = amount
    log Approval(owner=msg.sender, spender=spender, id=id, amount=amount)
    return True


@external
def setOperator(spender: address, approved: bool) -> bool:
    self.isOperator[msg.sender][spender] = approved
    log OperatorSet(owner=msg.sender, spender=spender, approved=approved)
    return True


@view
@external
@reentrant
def supportsInterface(interface_id: bytes4) -> bool:
    # ERC-165 and ERC-6909
    return interface_id == 0x01ffc9a7 or interface_id == 0x0f632fb3


# ---------------------------------------------------------------- parameters

@external
def set_spread(spread_: uint256):
    """
    @notice Owner: premium spread over the cached mark (wad, <= 20 %).
    """
    assert msg.sender == staticcall IVault(vault).owner(), "market: caller is not the owner"
    assert spread_ <= MAX_SPREAD, "market: spread out of bounds"
    # A thinner spread loosens: it waits out the timelock.
    if not param_timelock._gate(keccak256(slice(msg.data, 0, 36)), spread_ < self.spread):
        return
    self.spread = spread_
    log SpreadSet(spread=spread_)


@external
def cancel_change(change_id: bytes32):
    """
    @notice Owner: drop a queued (loosening) parameter change.
    """
    assert msg.sender == staticcall IVault(vault).owner(), "market: caller is not the owner"
    param_timelock._cancel(change_id)
