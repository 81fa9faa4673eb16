# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title Ballast Vault
@notice ERC-4626 vault over the quote stablecoin. Depositors' collateral lives
        here: this contract holds the money. Shares are priced from NAV, computed
        by one internal function (`_nav`) from tracked state, never from
        `asset.balanceOf(self)`, so a donation cannot move the share price.

        Inflation / donation defence: virtual shares and assets. Shares carry
        `DECIMALS_OFFSET` more decimals than the asset, and every conversion
        adds `10**DECIMALS_OFFSET` virtual shares and 1 virtual asset unit, so
        assets sitting in the vault while the share supply is 0 stay with the
        virtual shares instead of going to a tiny first deposit.

        Rounding always favours the vault (EIP-4626): deposit and redeem round
        down what the user receives; mint and withdraw round up what the user
        pays.

        Roles: owner (parameters; two-step handover), keeper (marks and
        rebalances, in later modules), guardian (pause and shutdown; never
        moves funds). Every external entry point shares one reentrancy lock
        (`pragma nonreentrancy on`), views included, so no read-only
        reentrancy either.
@custom:kill The guardian or owner calls `shutdown()`: a one-way switch after
        which no deposit or mint is accepted and withdrawals stay open for as
        long as there is free collateral. `pause()` is the reversible brake.
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed
from ethereum.ercs import IERC4626

from snekmate.auth import ownable
from snekmate.tokens import erc20
from snekmate.utils import math
import param_timelock

interface IOptionBook:
    def liability() -> uint256: view
    def stress_margin() -> uint256: view
    def spot_latest() -> uint256: view


struct ExactInputSingleParams:
    tokenIn: address
    tokenOut: address
    fee: uint24
    recipient: address
    deadline: uint256
    amountIn: uint256
    amountOutMinimum: uint256
    sqrtPriceLimitX96: uint160


interface IRiskGuard:
    def vault_check(nav: uint256, supply: uint256) -> uint8: nonpayable
    def level() -> uint8: view
    def conditions() -> uint256: view


interface ISwapRouter:
    def exactInputSingle(params: ExactInputSingleParams) -> uint256: payable


implements: IERC20
implements: IERC20Detailed
implements: IERC4626

initializes: ownable
initializes: erc20[ownable := ownable]
initializes: param_timelock

exports: (
    erc20.totalSupply,
    erc20.balanceOf,
    erc20.allowance,
    erc20.name,
    erc20.symbol,
    erc20.decimals,
    ownable.owner,
    param_timelock.queued,
)


# ---------------------------------------------------------------- events

event RoleSet:
    role: String[8]
    account: indexed(address)

event OwnershipTransferStarted:
    previous_owner: indexed(address)
    new_owner: indexed(address)

event DepositCapSet:
    cap: uint256

event OptionBookSet:
    book: indexed(address)

event OptionMarketSet:
    market: indexed(address)

event HedgerSet:
    hedger: indexed(address)

event RiskGuardSet:
    guard: indexed(address)

event HedgeSwapped:
    buy_underlying: bool
    amount_in: uint256
    amount_out: uint256

event PremiumCollected:
    buyer: indexed(address)
    amount: uint256

event PayoutReserved:
    amount: uint256

event ClaimPaid:
    holder: indexed(address)
    amount: uint256

event Paused:
    account: indexed(address)

event Unpaused:
    account: indexed(address)

event Shutdown:
    account: indexed(address)


# ---------------------------------------------------------------- constants

# Shares have this many more decimals than the asset; also the size of the
# virtual share supply (10**DECIMALS_OFFSET) used by every conversion.
DECIMALS_OFFSET: public(constant(uint8)) = 6
VIRTUAL_SHARES: constant(uint256) = 10**6  # 10**DECIMALS_OFFSET
VIRTUAL_ASSETS: constant(uint256) = 1
MAX_ASSET_DECIMALS: constant(uint8) = 18
# Hard bound on the owner-set deposit cap: 10**12 whole asset units.
MAX_DEPOSIT_CAP_UNITS: constant(uint256) = 10**12


# ---------------------------------------------------------------- storage

asset: public(immutable(address))
_ASSET_UNIT: immutable(uint256)
# 10**(18 - asset decimals): wad USD -> asset units
_WAD_PER_ASSET: immutable(uint256)

pending_owner: public(address)
keeper: public(address)
guardian: public(address)

deposit_cap: public(uint256)
paused: public(bool)
is_shutdown: public(bool)

# The option book that reports the short book's liability (mark, never below
# intrinsic) and its stress margin. Set once by the owner; empty = no book.
option_book: public(address)

# The option market: collects premiums into this vault, reserves settled
# payoffs and pays claims. Set once by the owner.
option_market: public(address)

# The hedger: decides and checks rebalances; the swap itself runs here, so
# the hedge (WETH) is held by this vault. Set once by the owner.
hedger: public(address)
# The risk guard: circuit breakers and the graduated level (0 normal,
# 1 reduce-only, 2 withdraw-only, 3 halted). Deposits need level 0,
# withdrawals level < 3. Set once by the owner; empty = no breakers.
risk_guard: public(address)
GUARD_HALTED: constant(uint8) = 3

# Tracked hedge position in underlying units (wad of WETH). Read through the
# reentrant view `hedge_units()`: the book reads it while the vault is locked.
_hedge_units: uint256

# Settled payoffs not yet claimed, in asset units: held here, never NAV.
total_reserved: public(uint256)

# Tracked idle cash in asset units. Only deposits, withdrawals and (later)
# premiums, settlements and hedges change it; a direct transfer does not.
total_idle: public(uint256)


@deploy
def __init__(
    asset_: address,
    name_: String[25],
    symbol_: String[5],
    keeper_: address,
    guardian_: address,
    deposit_cap_: uint256,
):
    """
    @param asset_ The quote stablecoin (must be a contract with `decimals()`).
    @param deposit_cap_ Maximum NAV accepted through deposits, in asset units.
    """
    assert asset_.is_contract, "vault: asset not a contract"
    asset_decimals: uint8 = staticcall IERC20Detailed(asset_).decimals()
    assert asset_decimals <= MAX_ASSET_DECIMALS, "vault: asset decimals > 18"
    assert keeper_ != empty(address), "vault: zero keeper"
    assert guardian_ != empty(address), "vault: zero guardian"
    asset = asset_
    _ASSET_UNIT = 10**convert(asset_decimals, uint256)
    _WAD_PER_ASSET = 10**convert(18 - asset_decimals, uint256)
    assert deposit_cap_ <= MAX_DEPOSIT_CAP_UNITS * _ASSET_UNIT, "vault: cap above bound"

    ownable.__init__()
    erc20.__init__(name_, symbol_, asset_decimals + DECIMALS_OFFSET, name_, "1")

    self.keeper = keeper_
    self.guardian = guardian_
    self.deposit_cap = deposit_cap_
    log RoleSet(role="keeper", account=keeper_)
    log RoleSet(role="guardian", account=guardian_)
    log DepositCapSet(cap=deposit_cap_)


# ---------------------------------------------------------------- NAV

@view
@internal
def _nav() -> uint256:
    """
    @dev Net asset value in asset units: cash + hedge value - option
         liability, floored at 0 (an insolvent vault has NAV 0, never a
         negative or wrapped one). The hedge term arrives with the hedger.
    """
    assets: uint256 = self.total_idle
    book: address = self.option_book
    if book == empty(address):
        return assets
    units: uint256 = self._hedge_units
    if units != 0:
        # hedge value at the oracle price (wad USD per unit), in asset units, rounded down
        assets += units * staticcall IOptionBook(book).spot_latest() // (10**18 * _WAD_PER_ASSET)
    liability: uint256 = staticcall IOptionBook(book).liability()
    if liability >= assets:
        return 0
    return assets - liability


@view
@internal
def _free_collateral(nav_: uint256) -> uint256:
    """
    @dev Assets not locked against open options (NAV - stress margin),
         capped by the idle cash that can actually be paid out. Callers pass
         the NAV they computed, so one call evaluates the book once.
    """
    nav: uint256 = nav_
    book: address = self.option_book
    if book != empty(address):
        margin: uint256 = staticcall IOptionBook(book).stress_margin()
        if margin >= nav:
            return 0
        nav -= margin
    return min(nav, self.total_idle)


@view
@internal
def _to_shares(assets: uint256, nav: uint256, roundup: bool) -> uint256:
    return math._mul_div(assets, erc20.totalSupply + VIRTUAL_SHARES, nav + VIRTUAL_ASSETS, roundup)


@view
@internal
def _to_assets(shares: uint256, nav: uint256, roundup: bool) -> uint256:
    return math._mul_div(shares, nav + VIRTUAL_ASSETS, erc20.totalSupply + VIRTUAL_SHARES, roundup)


@view
@internal
def _max_deposit(nav: uint256) -> uint256:
    if self.paused or self.is_shutdown:
        return 0
    if nav >= self.deposit_cap:
        return 0
    return self.deposit_cap - nav


@view
@internal
def _max_withdraw(owner: address, nav: uint256, free: uint256) -> uint256:
    return min(self._to_assets(erc20.balanceOf[owner], nav, False), free)


@view
@internal
def _max_redeem(owner: address, nav: uint256, free: uint256) -> uint256:
    shares: uint256 = erc20.balanceOf[owner]
    if self._to_assets(shares, nav, False) <= free:
        return shares
    return self._to_shares(free, nav, False)


# ---------------------------------------------------------------- ERC-4626 views

@view
@external
@reentrant
def totalAssets() -> uint256:
    return self._nav()


@view
@external
@reentrant
def hedge_units() -> uint256:
    """
    @notice The hedge the vault holds, in wad of the underlying (WETH).
    """
    return self._hedge_units


@view
@external
@reentrant
def free_collateral() -> uint256:
    """
    @notice Assets that withdrawals may take now (not locked against open
            options), in asset units.
    """
    return self._free_collateral(self._nav())


@view
@external
@reentrant
def convertToShares(assets: uint256) -> uint256:
    return self._to_shares(assets, self._nav(), False)


@view
@external
@reentrant
def convertToAssets(shares: uint256) -> uint256:
    return self._to_assets(shares, self._nav(), False)


@view
@internal
def _guard_open() -> bool:
    """
    @dev True unless the risk guard is off normal or a breaker condition
         holds right now (then a deposit would revert: maxDeposit says 0).
    """
    guard: address = self.risk_guard
    if guard == empty(address):
        return True
    return staticcall IRiskGuard(guard).level() == 0 and staticcall IRiskGuard(guard).conditions() == 0


@view
@internal
def _guard_halted() -> bool:
    """
    @dev True while the guardian has halted the vault (withdrawals wait).
    """
    guard: address = self.risk_guard
    return guard != empty(address) and staticcall IRiskGuard(guard).level() == GUARD_HALTED


@view
@external
@reentrant
def maxDeposit(receiver: address) -> uint256:
    if not self._guard_open():
        return 0
    return self._max_deposit(self._nav())


@view
@external
@reentrant
def maxMint(receiver: address) -> uint256:
    if not self._guard_open():
        return 0
    nav: uint256 = self._nav()
    return self._to_shares(self._max_deposit(nav), nav, False)


@view
@external
@reentrant
def maxWithdraw(owner: address) -> uint256:
    if self._guard_halted():
        return 0
    nav: uint256 = self._nav()
    return self._max_withdraw(owner, nav, self._free_collateral(nav))


@view
@external
@reentrant
def maxRedeem(owner: address) -> uint256:
    if self._guard_halted():
        return 0
    nav: uint256 = self._nav()
    return self._max_redeem(owner, nav, self._free_collateral(nav))


@view
@external
@reentrant
def previewDeposit(assets: uint256) -> uint256:
    return self._to_shares(assets, self._nav(), False)


@view
@external
@reentrant
def previewMint(shares: uint256) -> uint256:
    return self._to_assets(shares, self._nav(), True)


@view
@external
@reentrant
def previewWithdraw(assets: uint256) -> uint256:
    return self._to_shares(assets, self._nav(), True)


@view
@external
@reentrant
def previewRedeem(shares: uint256) -> uint256:
    return self._to_assets(shares, self._nav(), False)


@view
@external
@reentrant
def price_per_share() -> uint256:
    """
    @notice Assets per 1 whole share (10**decimals share units), rounded down.
    """
    return self._to_assets(10**convert(erc20.decimals, uint256), self._nav(), False)


# ---------------------------------------------------------------- ERC-4626 actions

@internal
def _check_deposit(assets: uint256, shares: uint256, receiver: address, nav: uint256):
    assert not self.is_shutdown, "vault: shut down"
    assert not self.paused, "vault: paused"
    assert assets != 0, "vault: zero assets"
    assert shares != 0, "vault: zero shares"
    assert receiver != empty(address) and receiver != self, "vault: bad receiver"
    assert assets <= self._max_deposit(nav), "vault: deposit over cap"
    assert self._guard_level(nav) == 0, "vault: circuit breaker tripped, deposits closed"


@internal
def _guard_level(nav: uint256) -> uint8:
    """
    @dev Let the risk guard measure its breakers with the NAV just computed;
         returns its level (0 without a guard).
    """
    guard: address = self.risk_guard
    if guard == empty(address):
        return 0
    return extcall IRiskGuard(guard).vault_check(nav, erc20.totalSupply)


@internal
def _do_deposit(sender: address, receiver: address, assets: uint256, shares: uint256):
    # Pull first, then mint: the asset is trusted, but a fee-on-transfer or
    # rebasing token would be caught by the balance check.
    before: uint256 = staticcall IERC20(asset).balanceOf(self)
    assert extcall IERC20(asset).transferFrom(sender, self, assets, default_return_value=True), "vault: transferFrom failed"
    assert staticcall IERC20(asset).balanceOf(self) - before == assets, "vault: asset took a fee"
    self.total_idle += assets
    erc20._mint(receiver, shares)
    log IERC4626.Deposit(sender=sender, owner=receiver, assets=assets, shares=shares)


@internal
def _do_withdraw(
    sender: address, receiver: address, owner: address, assets: uint256, shares: uint256, free: uint256, nav: uint256
):
    assert assets != 0, "vault: zero assets"
    assert shares != 0, "vault: zero shares"
    assert receiver != empty(address), "vault: bad receiver"
    assert assets <= free, "vault: not enough free collateral"
    assert self._guard_level(nav) < GUARD_HALTED, "vault: halted by the guardian, withdrawals wait"
    if sender != owner:
        erc20._spend_allowance(owner, sender, shares)
    erc20._burn(owner, shares)
    self.total_idle -= assets
    assert extcall IERC20(asset).transfer(receiver, assets, default_return_value=True), "vault: transfer failed"
    log IERC4626.Withdraw(sender=sender, receiver=receiver, owner=owner, assets=assets, shares=shares)


@external
def deposit(assets: uint256, receiver: address = msg.sender) -> uint256:
    """
    @notice Deposit `assets` of the quote asset, mint shares (rounded down)
            to `receiver`.
    """
    nav: uint256 = self._nav()
    shares: uint256 = self._to_shares(assets, nav, False)
    self._check_deposit(assets, shares, receiver, nav)
    self._do_deposit(msg.sender, receiver, assets, shares)
    return shares


@external
def mint(shares: uint256, receiver: address = msg.sender) -> uint256:
    """
    @notice Mint exactly `shares` to `receiver`, paying assets rounded up.
    """
    nav: uint256 = self._nav()
    assets: uint256 = self._to_assets(shares, nav, True)
    self._check_deposit(assets, shares, receiver, nav)
    self._do_deposit(msg.sender, receiver, assets, shares)
    return assets


@external
def withdraw(assets: uint256, receiver: address = msg.sender, owner: address = msg.sender) -> uint256:
    """
    @notice Withdraw exactly `assets` to `receiver`, burning `owner`'s
            shares rounded up. Limited to free collateral.
    """
    nav: uint256 = self._nav()
    free: uint256 = self._free_collateral(nav)
    assert assets <= self._max_withdraw(owner, nav, free), "vault: withdraw over max"
    shares: uint256 = self._to_shares(assets, nav, True)
    self._do_withdraw(msg.sender, receiver, owner, assets, shares, free, nav)
    return shares


@external
def redeem(shares: uint256, receiver: address = msg.sender, owner: address = msg.sender) -> uint256:
    """
    @notice Burn exactly `shares` of `owner`, sending assets rounded down to
            `receiver`. Limited to free collateral.
    """
    assert shares != 0, "vault: zero shares"
    nav: uint256 = self._nav()
    free: uint256 = self._free_collateral(nav)
    assert shares <= self._max_redeem(owner, nav, free), "vault: redeem over max"
    assets: uint256 = self._to_assets(shares, nav, False)
    self._do_withdraw(msg.sender, receiver, owner, assets, shares, free, nav)
    return assets


# ---------------------------------------------------------------- option market hooks

@internal
def _only_market():
    assert msg.sender == self.option_market, "vault: caller is not the option market"


@external
def collect_premium(buyer: address, amount: uint256):
    """
    @notice Market only: pull an option premium from `buyer` (who approved
            this vault) into tracked cash. Refused while paused or shut down.
    """
    self._only_market()
    assert not self.is_shutdown, "vault: shut down"
    assert not self.paused, "vault: paused"
    before: uint256 = staticcall IERC20(asset).balanceOf(self)
    assert extcall IERC20(asset).transferFrom(buyer, self, amount, default_return_value=True), "vault: transferFrom failed"
    assert staticcall IERC20(asset).balanceOf(self) - before == amount, "vault: asset took a fee"
    self.total_idle += amount
    log PremiumCollected(buyer=buyer, amount=amount)


@external
def reserve_payout(amount: uint256):
    """
    @notice Market only: move a settled series' total payoff from cash to
            the claims reserve (out of NAV).
    """
    self._only_market()
    assert amount <= self.total_idle, "vault: not enough cash to reserve payout"
    self.total_idle -= amount
    self.total_reserved += amount
    log PayoutReserved(amount=amount)


@external
def pay_claim(holder: address, amount: uint256):
    """
    @notice Market only: pay a holder's settled payoff from the reserve.
    """
    self._only_market()
    self.total_reserved -= amount
    assert extcall IERC20(asset).transfer(holder, amount, default_return_value=True), "vault: transfer failed"
    log ClaimPaid(holder=holder, amount=amount)


@external
def hedge_swap(
    router: address, underlying: address, fee: uint24, buy_underlying: bool,
    amount_in: uint256, min_out: uint256, deadline: uint256
) -> uint256:
    """
    @notice Hedger only: swap cash for the underlying (or back) through the
            Uniswap V3 router; tracked cash and hedge units follow the actual
            balances. The hedger has already checked every bound.
    """
    assert msg.sender == self.hedger, "vault: caller is not the hedger"
    assert not self.is_shutdown or not buy_underlying, "vault: shut down"
    token_in: address = asset
    token_out: address = underlying
    if buy_underlying:
        assert amount_in <= self.total_idle, "vault: not enough cash to hedge"
    else:
        assert amount_in <= self._hedge_units, "vault: not enough hedge to sell"
        token_in = underlying
        token_out = asset
    before_in: uint256 = staticcall IERC20(token_in).balanceOf(self)
    before_out: uint256 = staticcall IERC20(token_out).balanceOf(self)
    assert extcall IERC20(token_in).approve(router, amount_in, default_return_value=True), "vault: approve failed"
    extcall ISwapRouter(router).exactInputSingle(ExactInputSingleParams(
        tokenIn=token_in, tokenOut=token_out, fee=fee, recipient=self, deadline=deadline,
        amountIn=amount_in, amountOutMinimum=min_out, sqrtPriceLimitX96=0,
    ))
    spent: uint256 = before_in - staticcall IERC20(token_in).balanceOf(self)
    received: uint256 = staticcall IERC20(token_out).balanceOf(self) - before_out
    assert received >= min_out, "vault: swap returned less than min_out"
    if buy_underlying:
        self.total_idle -= spent
        self._hedge_units += received
    else:
        self._hedge_units -= spent
        self.total_idle += received
    log HedgeSwapped(buy_underlying=buy_underlying, amount_in=spent, amount_out=received)
    return received


@external
def set_risk_guard(guard: address):
    """
    @notice Connect the risk guard (circuit breakers). Once only.
    """
    self._only_owner()
    assert self.risk_guard == empty(address), "vault: risk guard already set"
    assert guard.is_contract, "vault: risk guard not a contract"
    self.risk_guard = guard
    log RiskGuardSet(guard=guard)


@external
def set_hedger(hedger_: address):
    """
    @notice Connect the hedger. Once only.
    """
    self._only_owner()
    assert self.hedger == empty(address), "vault: hedger already set"
    assert hedger_.is_contract, "vault: hedger not a contract"
    self.hedger = hedger_
    log HedgerSet(hedger=hedger_)


# ---------------------------------------------------------------- share token (ERC-20)

@external
def transfer(to: address, amount: uint256) -> bool:
    erc20._transfer(msg.sender, to, amount)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    erc20._spend_allowance(owner, msg.sender, amount)
    erc20._transfer(owner, to, amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    erc20._approve(msg.sender, spender, amount)
    return True


# ---------------------------------------------------------------- roles

@internal
def _only_owner():
    assert msg.sender == ownable.owner, "vault: caller is not the owner"


@internal
def _only_guardian_or_owner():
    assert msg.sender == self.guardian or msg.sender == ownable.owner, "vault: caller is not guardian or owner"


@external
def transfer_ownership(new_owner: address):
    """
    @notice Step 1 of 2: nominate `new_owner`; it must call `accept_ownership`.
    """
    self._only_owner()
    assert new_owner != empty(address), "vault: zero owner"
    self.pending_owner = new_owner
    log OwnershipTransferStarted(previous_owner=ownable.owner, new_owner=new_owner)


@external
def accept_ownership():
    """
    @notice Step 2 of 2: the nominated owner takes over.
    """
    assert msg.sender == self.pending_owner, "vault: caller is not the pending owner"
    self.pending_owner = empty(address)
    ownable._transfer_ownership(msg.sender)


@external
def set_keeper(new_keeper: address):
    self._only_owner()
    assert new_keeper != empty(address), "vault: zero keeper"
    self.keeper = new_keeper
    log RoleSet(role="keeper", account=new_keeper)


@external
def set_guardian(new_guardian: address):
    self._only_owner()
    assert new_guardian != empty(address), "vault: zero guardian"
    self.guardian = new_guardian
    log RoleSet(role="guardian", account=new_guardian)


@external
def set_option_book(book: address):
    """
    @notice Connect the option book. Once only: a book that holds positions
            must never be swapped out from under them.
    """
    self._only_owner()
    assert self.option_book == empty(address), "vault: option book already set"
    assert book.is_contract, "vault: option book not a contract"
    self.option_book = book
    log OptionBookSet(book=book)


@external
def set_option_market(market: address):
    """
    @notice Connect the option market. Once only.
    """
    self._only_owner()
    assert self.option_market == empty(address), "vault: option market already set"
    assert market.is_contract, "vault: option market not a contract"
    self.option_market = market
    log OptionMarketSet(market=market)


@external
def set_deposit_cap(cap: uint256):
    """
    @notice Maximum NAV accepted through deposits, in asset units; bounded by
            `MAX_DEPOSIT_CAP_UNITS` whole units.
    """
    self._only_owner()
    assert cap <= MAX_DEPOSIT_CAP_UNITS * _ASSET_UNIT, "vault: cap above bound"
    # A higher cap takes on more risk: it waits out the timelock.
    if not param_timelock._gate(keccak256(slice(msg.data, 0, 36)), cap > self.deposit_cap):
        return
    self.deposit_cap = cap
    log DepositCapSet(cap=cap)


@external
def pause():
    """
    @notice Stop new deposits and mints (and, in later modules, new risk).
            Withdrawals stay open. Guardian or owner.
    """
    self._only_guardian_or_owner()
    assert not self.paused, "vault: already paused"
    self.paused = True
    log Paused(account=msg.sender)


@external
def unpause():
    self._only_guardian_or_owner()
    assert self.paused, "vault: not paused"
    self.paused = False
    log Unpaused(account=msg.sender)


@external
def shutdown():
    """
    @notice One-way emergency shutdown: no deposits or mints ever again;
            withdrawals stay open. Guardian or owner.
    """
    self._only_guardian_or_owner()
    assert not self.is_shutdown, "vault: already shut down"
    self.is_shutdown = True
    log Shutdown(account=msg.sender)


@external
def cancel_change(change_id: bytes32):
    """
    @notice Owner: drop a queued (loosening) parameter change.
    """
    self._only_owner()
    param_timelock._cancel(change_id)
