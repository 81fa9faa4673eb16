# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title Ballast Vault
@notice ERC-4626 vault over the quote stablecoin. This contract holds the
        money: depositors' cash, the WETH hedge and the claims reserve. Every
        other Ballast contract holds none.

        NAV = cash + hedge x spot - option liability, from tracked state
        (never `asset.balanceOf(self)`, so a donation cannot move the share
        price), at the oracle's answer now: the liability comes from the
        option book's cached aggregates, Taylor-expanded to today's spot, so
        a price a user pays or receives is never the cache's stale one. When
        the aggregates may not be used (too old, spot drifted, an expiry since,
        oracle unreadable) NAV is the conservative `NAV - stress margin`:
        deposits wait, withdrawals stay open at that price: there is always
        an exit. Free collateral (what withdrawals may take) is
        `min(NAV - stress margin, cash - the book's intrinsic value - unpaid
        settlements)`: cash stays for in-the-money options.

        Inflation / donation defence: virtual shares and assets (shares carry
        DECIMALS_OFFSET more decimals; every conversion adds VIRTUAL_SHARES
        shares and VIRTUAL_ASSETS asset units). Rounding always favours the
        vault (EIP-4626): deposit and redeem round down what the user
        receives; mint and withdraw round up what the user pays.

        Deposits need: not paused, not shut down, the risk guard at level
        normal with a fresh oracle (as the guard last measured it; anyone may
        `poke` it), fresh aggregates, and NAV within the guard's deposit cap.
        Withdrawals need only that the guardian has not halted the vault. The
        ERC-4626 views never revert: in every state they say what a call
        would do now.

        Roles: owner (snekmate `ownable_2step`; owns every contract's
        parameters), keeper (marks, vols, budget, rebalances), guardian
        (pause, trip the guard, shutdown; never moves funds). Every external
        entry point shares one reentrancy lock (`pragma nonreentrancy on`);
        views the other contracts call back are `@reentrant`.
@custom:kill The guardian or owner calls `shutdown()`: a one-way switch after
        which no deposit or mint is accepted and withdrawals stay open.
        `pause()` is the reversible brake.
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed
from ethereum.ercs import IERC4626
from interfaces import IVault
from interfaces import IOptionBook
from interfaces import IRiskGuard
from interfaces import ISwapRouter

from snekmate.auth import ownable
from snekmate.auth import ownable_2step
from snekmate.tokens import erc20
from snekmate.utils import math
from snekmate.utils import pausable
import constants as c

implements: IERC20
implements: IERC20Detailed
implements: IERC4626
implements: IVault

initializes: ownable
initializes: ownable_2step[ownable := ownable]
initializes: erc20[ownable := ownable]
initializes: pausable

exports: (
    erc20.totalSupply,
    erc20.balanceOf,
    erc20.allowance,
    erc20.name,
    erc20.symbol,
    erc20.decimals,
    ownable.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
    pausable.paused,
)


WAD: constant(uint256) = c.WAD
M128: constant(uint256) = 2**128 - 1
DECIMALS_OFFSET: public(constant(uint8)) = c.DECIMALS_OFFSET

asset: public(immutable(address))
ASSET_SCALE: immutable(uint256)      # 10**(18 - asset decimals): wad USD -> asset units

keeper: public(address)
guardian: public(address)
is_shutdown: public(bool)

# The other Ballast contracts, connected once by the owner (`connect`).
option_book: public(address)
option_market: public(address)
hedger: public(address)
risk_guard: public(address)

# Tracked cash (asset units) and hedge (wad of WETH): only deposits,
# withdrawals, premiums, settlements and hedges change them, never a transfer.
# packed in one slot (every NAV reads both): idle (128) | hedge (128)
_cash: uint256
# Settled payoffs not yet claimed, asset units: held here, not NAV.
total_reserved: public(uint256)


@deploy
def __init__(asset_: address, name_: String[25], symbol_: String[5], keeper_: address, guardian_: address):
    """
    @param asset_ The quote stablecoin (a contract with `decimals()` <= 18).
    @param name_ Share token name.
    @param symbol_ Share token symbol.
    @param keeper_ The keeper's address.
    @param guardian_ The guardian's address.
    """
    assert asset_.is_contract, "vault: asset not a contract"
    asset_decimals: uint8 = staticcall IERC20Detailed(asset_).decimals()
    assert asset_decimals <= c.MAX_ASSET_DECIMALS, "vault: asset decimals > 18"
    assert keeper_ != empty(address), "vault: zero keeper"
    assert guardian_ != empty(address), "vault: zero guardian"
    asset = asset_
    ASSET_SCALE = 10**convert(18 - asset_decimals, uint256)
    ownable.__init__()
    ownable_2step.__init__()
    erc20.__init__(name_, symbol_, asset_decimals + c.DECIMALS_OFFSET, name_, "1")
    pausable.__init__()
    self.keeper = keeper_
    self.guardian = guardian_
    log IVault.RoleSet(role="keeper", account=keeper_)
    log IVault.RoleSet(role="guardian", account=guardian_)


# ---------------------------------------------------------------- NAV

struct Val:
    nav: uint256        # asset units; the conservative NAV when not fresh
    margin: uint256     # asset units locked by the stress grid
    free: uint256       # asset units withdrawals may take
    fresh: bool


@view
@internal
def _load_cash() -> (uint256, uint256):
    """
    @dev (tracked cash in asset units, hedge in wad of the underlying).
    """
    x: uint256 = self._cash
    return x & M128, x >> 128


@internal
def _add_cash(amount: uint256, add: bool):
    x: uint256 = self._cash
    idle: uint256 = x & M128
    if add:
        idle += amount
        assert idle <= M128, "vault: cash out of range"
    else:
        idle -= amount
    self._cash = idle | ((x >> 128) << 128)


@view
@internal
def _spot() -> uint256:
    """
    @dev The oracle's answer now (the guard's reading of this transaction
         when there is one); 0 when unreadable.
    """
    guard: address = self.risk_guard
    if guard == empty(address):
        return 0
    spot: uint256 = 0
    updated: uint256 = 0
    spot, updated = staticcall IRiskGuard(guard).spot()
    return spot


@view
@internal
def _val(spot: uint256) -> Val:
    """
    @dev NAV, margin and free collateral at `spot`, from the book's
         aggregates: one call, whatever the number of series.
    """
    idle: uint256 = 0
    hedge: uint256 = 0
    idle, hedge = self._load_cash()
    book: address = self.option_book
    if book == empty(address):
        return Val(nav=idle, margin=0, free=idle, fresh=True)
    v: IOptionBook.Valuation = staticcall IOptionBook(book).valuation(spot, hedge)
    s: uint256 = spot
    if s == 0 and hedge != 0:
        s = (staticcall IOptionBook(book).cache())[0]   # oracle unreadable: the cache's spot
    # hedge value rounded down, liability and margin rounded up: errors favour the vault
    gross: uint256 = idle + hedge * s // WAD // ASSET_SCALE
    liability: uint256 = math._ceil_div(v.liability, ASSET_SCALE)
    margin: uint256 = math._ceil_div(v.margin, ASSET_SCALE)
    nav: uint256 = 0
    if gross > liability:
        nav = gross - liability
    lockable: uint256 = nav - min(nav, margin)
    if not v.fresh:
        nav = lockable
    keep: uint256 = math._ceil_div(v.intrinsic + v.settle_need, ASSET_SCALE)
    return Val(nav=nav, margin=margin, free=min(lockable, idle - min(idle, keep)), fresh=v.fresh)


@view
@internal
def _nav_quick(spot: uint256) -> (uint256, bool):
    """
    @dev (NAV asset units, aggregates fresh) without the stress grid: for
         deposits (which need fresh aggregates anyway) and the guard.
    """
    idle: uint256 = 0
    hedge: uint256 = 0
    idle, hedge = self._load_cash()
    book: address = self.option_book
    if book == empty(address):
        return idle, True
    liability: uint256 = 0
    fresh: bool = False
    liability, fresh = staticcall IOptionBook(book).liability_at(spot)
    gross: uint256 = idle + hedge * spot // WAD // ASSET_SCALE
    liability = math._ceil_div(liability, ASSET_SCALE)
    if gross > liability:
        return gross - liability, fresh
    return 0, fresh


@view
@internal
def _to_shares(assets: uint256, nav: uint256, roundup: bool) -> uint256:
    return math._mul_div(assets, erc20.totalSupply + c.VIRTUAL_SHARES, nav + c.VIRTUAL_ASSETS, roundup)


@view
@internal
def _to_assets(shares: uint256, nav: uint256, roundup: bool) -> uint256:
    return math._mul_div(shares, nav + c.VIRTUAL_ASSETS, erc20.totalSupply + c.VIRTUAL_SHARES, roundup)


@view
@internal
def _halted() -> bool:
    guard: address = self.risk_guard
    if guard == empty(address):
        return False
    spot: uint256 = 0
    halted: bool = False
    spot, halted = staticcall IRiskGuard(guard).exit_check()
    return halted


@view
@internal
def _deposit_room(spot: uint256, fresh_oracle: bool, level: uint8, val: Val) -> uint256:
    """
    @dev Asset units a deposit may add now (0 when deposits are closed).
    """
    if pausable.paused or self.is_shutdown or not val.fresh:
        return 0
    guard: address = self.risk_guard
    if guard == empty(address):
        return max_value(uint256) - val.nav
    if level != c.NORMAL or not fresh_oracle:
        return 0
    return staticcall IRiskGuard(guard).max_deposit(val.nav)


@view
@internal
def _max_withdraw(owner: address, val: Val) -> uint256:
    if self._halted():
        return 0
    return min(self._to_assets(erc20.balanceOf[owner], val.nav, False), val.free)


@view
@internal
def _max_redeem(owner: address, val: Val) -> uint256:
    if self._halted():
        return 0
    shares: uint256 = erc20.balanceOf[owner]
    if self._to_assets(shares, val.nav, False) > val.free:
        shares = self._to_shares(val.free, val.nav, False)
    if self._to_assets(shares, val.nav, False) == 0:
        return 0  # dust: redeeming it would pay nothing
    return shares


# ---------------------------------------------------------------- ERC-4626 and Ballast views

@view
@external
@reentrant
def totalAssets() -> uint256:
    """
    @notice NAV in asset units at the oracle's answer now (the conservative
            NAV while the book's aggregates may not be used; see nav_status).
    @return Asset units.
    """
    return self._val(self._spot()).nav


@view
@external
@reentrant
def nav_status() -> IVault.NavStatus:
    """
    @notice NAV (asset units), the stress margin locked (asset units), and
            whether NAV is the fresh one (False: the conservative one).
    @return (nav, margin, fresh)
    """
    val: Val = self._val(self._spot())
    return IVault.NavStatus(nav=val.nav, margin=val.margin, fresh=val.fresh)


@view
@external
@reentrant
def nav_quick() -> (uint256, bool):
    """
    @notice NAV (asset units) at the oracle's answer now, without the
            conservative haircut, and whether the book's aggregates are fresh:
            what the risk guard and the hedger measure with.
    @return (nav, fresh)
    """
    return self._nav_quick(self._spot())


@view
@external
@reentrant
def valuation_at(spot: uint256) -> (uint256, IOptionBook.Valuation):
    """
    @notice NAV (asset units, not haircut) at `spot` together with the
            book's valuation there, from one read of the book: what the risk
            guard checks a sale against.
    @param spot Wad USD per underlying.
    @return (nav, the book's valuation at `spot` net of the vault's hedge)
    """
    idle: uint256 = 0
    hedge: uint256 = 0
    idle, hedge = self._load_cash()
    v: IOptionBook.Valuation = staticcall IOptionBook(self.option_book).valuation(spot, hedge)
    gross: uint256 = idle + hedge * spot // WAD // ASSET_SCALE
    liability: uint256 = math._ceil_div(v.liability, ASSET_SCALE)
    if gross > liability:
        return gross - liability, v
    return 0, v


@view
@external
@reentrant
def hedge_units() -> uint256:
    """
    @notice The hedge the vault holds, in wad of the underlying (WETH).
    @return Wad.
    """
    return self._cash >> 128


@view
@external
@reentrant
def total_idle() -> uint256:
    """
    @notice Tracked cash (asset units): deposits, premiums and hedge sales in,
            withdrawals, reserved payoffs and hedge purchases out; never a
            direct transfer.
    @return Asset units.
    """
    return self._cash & M128


@view
@external
@reentrant
def free_collateral() -> uint256:
    """
    @notice Assets that withdrawals may take now, in asset units.
    @return Asset units.
    """
    return self._val(self._spot()).free


@view
@external
@reentrant
def convertToShares(assets: uint256) -> uint256:
    """
    @notice Shares `assets` are worth at NAV now (EIP-4626 ideal conversion,
            rounded down, with VIRTUAL_SHARES and VIRTUAL_ASSETS added). NAV
            is at the oracle's answer now, the conservative one while the
            book's aggregates may not be used. Ignores pause, breakers, the
            deposit cap and free collateral: it answers in every vault state.
    @param assets Asset units.
    @return Share units (asset decimals + DECIMALS_OFFSET).
    """
    return self._to_shares(assets, self._val(self._spot()).nav, False)


@view
@external
@reentrant
def convertToAssets(shares: uint256) -> uint256:
    """
    @notice Assets `shares` are worth at NAV now (EIP-4626 ideal conversion,
            rounded down, with VIRTUAL_SHARES and VIRTUAL_ASSETS added). NAV
            is at the oracle's answer now, the conservative one while the
            book's aggregates may not be used. Ignores pause, breakers and
            free collateral: it answers in every vault state.
    @param shares Share units (asset decimals + DECIMALS_OFFSET).
    @return Asset units.
    """
    return self._to_assets(shares, self._val(self._spot()).nav, False)


@view
@external
@reentrant
def maxDeposit(receiver: address) -> uint256:
    """
    @notice Most assets `deposit` accepts now: the guard's deposit cap minus
            NAV. 0 while paused or shut down, while the guard's level (as last
            measured) is not normal or the oracle is stale, and while the
            book's aggregates may not be used (call `update_marks`). No risk
            guard connected yet: max uint256 minus NAV. Never reverts.
    @param receiver Ignored: the limit is the same for every receiver
           (`deposit` refuses the zero address and the vault itself).
    @return Asset units.
    """
    spot: uint256 = 0
    fresh: bool = True
    level: uint8 = 0
    if self.risk_guard != empty(address):
        spot, fresh, level = staticcall IRiskGuard(self.risk_guard).quick()
    return self._deposit_room(spot, fresh, level, self._val(spot))


@view
@external
@reentrant
def maxMint(receiver: address) -> uint256:
    """
    @notice Most shares `mint` accepts now: `maxDeposit` converted to shares
            at NAV now, rounded down; 0 whenever `maxDeposit` is 0; max uint256
            when the room is too large to convert (no risk guard connected).
            Never reverts.
    @param receiver Ignored: the limit is the same for every receiver.
    @return Share units.
    """
    spot: uint256 = 0
    fresh: bool = True
    level: uint8 = 0
    if self.risk_guard != empty(address):
        spot, fresh, level = staticcall IRiskGuard(self.risk_guard).quick()
    val: Val = self._val(spot)
    room: uint256 = self._deposit_room(spot, fresh, level, val)
    if room > max_value(uint256) // (erc20.totalSupply + c.VIRTUAL_SHARES):
        return max_value(uint256)
    return self._to_shares(room, val.nav, False)


@view
@external
@reentrant
def maxWithdraw(owner: address) -> uint256:
    """
    @notice Most assets `owner` can `withdraw` now: their shares' value at
            NAV now (rounded down), capped at the vault's free collateral
            (cash kept for in-the-money options and unpaid settlements stays).
            Not reduced by pause, shutdown or breaker levels below halted; 0
            while the guardian's halt holds. Never reverts.
    @param owner The share holder.
    @return Asset units.
    """
    return self._max_withdraw(owner, self._val(self._spot()))


@view
@external
@reentrant
def maxRedeem(owner: address) -> uint256:
    """
    @notice Most shares `owner` can `redeem` now: their balance, capped at
            the shares of the vault's free collateral (rounded down). 0 while
            the guardian's halt holds, and 0 for a dust balance worth 0 assets
            (redeeming it would pay nothing). Never reverts.
    @param owner The share holder.
    @return Share units.
    """
    return self._max_redeem(owner, self._val(self._spot()))


@view
@external
@reentrant
def previewDeposit(assets: uint256) -> uint256:
    """
    @notice Shares `deposit(assets)` would mint in this block: `assets` at
            NAV now, rounded down (what the depositor receives). Does not
            check the deposit conditions (see `maxDeposit`): a deposit that
            `maxDeposit` refuses reverts rather than minting this.
    @param assets Asset units.
    @return Share units.
    """
    return self._to_shares(assets, self._val(self._spot()).nav, False)


@view
@external
@reentrant
def previewMint(shares: uint256) -> uint256:
    """
    @notice Assets `mint(shares)` would pull in this block: `shares` at NAV
            now, rounded up (what the depositor pays). Does not check the
            deposit conditions (see `maxMint`).
    @param shares Share units.
    @return Asset units.
    """
    return self._to_assets(shares, self._val(self._spot()).nav, True)


@view
@external
@reentrant
def previewWithdraw(assets: uint256) -> uint256:
    """
    @notice Shares `withdraw(assets)` would burn in this block: `assets` at
            NAV now (the conservative NAV while the aggregates may not be
            used), rounded up (what the holder pays). Does not check the
            holder's balance, free collateral or the halt (see `maxWithdraw`).
    @param assets Asset units.
    @return Share units.
    """
    return self._to_shares(assets, self._val(self._spot()).nav, True)


@view
@external
@reentrant
def previewRedeem(shares: uint256) -> uint256:
    """
    @notice Assets `redeem(shares)` would pay in this block: `shares` at NAV
            now (the conservative NAV while the aggregates may not be used),
            rounded down (what the holder receives). Does not check free
            collateral or the halt (see `maxRedeem`).
    @param shares Share units.
    @return Asset units.
    """
    return self._to_assets(shares, self._val(self._spot()).nav, False)


@view
@external
@reentrant
def price_per_share() -> uint256:
    """
    @notice Assets per 1 whole share (10**decimals share units), rounded down.
    @return Asset units.
    """
    return self._to_assets(10**convert(erc20.decimals, uint256), self._val(self._spot()).nav, False)


# ---------------------------------------------------------------- ERC-4626 actions

@internal
def _deposit_val(assets: uint256, receiver: address) -> Val:
    """
    @dev The deposit checks, each with a reason; returns the valuation.
    """
    assert not self.is_shutdown, "vault: shut down"
    pausable._require_not_paused()
    assert assets != 0, "vault: zero assets"
    assert receiver != empty(address) and receiver != self, "vault: bad receiver"
    spot: uint256 = 0
    fresh: bool = True
    level: uint8 = 0
    guard: address = self.risk_guard
    if guard != empty(address):
        spot, fresh, level = staticcall IRiskGuard(guard).quick()
    assert level == c.NORMAL, "vault: circuit breaker tripped, deposits closed"
    assert fresh, "vault: oracle stale, deposits closed"
    nav: uint256 = 0
    marks_fresh: bool = False
    nav, marks_fresh = self._nav_quick(spot)
    assert marks_fresh, "vault: marks stale, deposits wait for update_marks"
    val: Val = Val(nav=nav, margin=0, free=0, fresh=True)
    assert assets <= self._deposit_room(spot, fresh, level, val), "vault: deposit over cap"
    return val


@internal
def _do_deposit(sender: address, receiver: address, assets: uint256, shares: uint256):
    assert shares != 0, "vault: zero shares"
    # Pull first, then mint: the balance check catches a fee-on-transfer token.
    before: uint256 = staticcall IERC20(asset).balanceOf(self)
    assert extcall IERC20(asset).transferFrom(sender, self, assets, default_return_value=True), "vault: transferFrom failed"
    assert staticcall IERC20(asset).balanceOf(self) - before == assets, "vault: asset took a fee"
    self._add_cash(assets, True)
    erc20._mint(receiver, shares)
    log IERC4626.Deposit(sender=sender, owner=receiver, assets=assets, shares=shares)


@internal
def _do_withdraw(sender: address, receiver: address, owner: address, assets: uint256, shares: uint256):
    assert assets != 0, "vault: zero assets"
    assert shares != 0, "vault: zero shares"
    assert receiver != empty(address), "vault: bad receiver"
    if sender != owner:
        erc20._spend_allowance(owner, sender, shares)
    erc20._burn(owner, shares)
    self._add_cash(assets, False)
    assert extcall IERC20(asset).transfer(receiver, assets, default_return_value=True), "vault: transfer failed"
    log IERC4626.Withdraw(sender=sender, receiver=receiver, owner=owner, assets=assets, shares=shares)


@external
def deposit(assets: uint256, receiver: address = msg.sender) -> uint256:
    """
    @notice Deposit `assets` of the quote asset, mint shares (rounded down).
    @dev Needs (each reverts with its reason): not shut down ("vault:
         shut down"), not paused ("pausable: contract is paused"), `assets`
         != 0 ("vault: zero assets"), a receiver that is neither zero nor
         the vault ("vault: bad receiver"), the guard at level normal
         ("vault: circuit breaker tripped, deposits closed") with a fresh
         oracle ("vault: oracle stale, deposits closed"), fresh aggregates
         ("vault: marks stale, deposits wait for update_marks"), NAV +
         `assets` within the deposit cap ("vault: deposit over cap"), at
         least 1 share out ("vault: zero shares"), and exactly `assets`
         arriving ("vault: asset took a fee"). The caller approves this
         vault for `assets`.
    @param assets Asset units.
    @param receiver Who gets the shares.
    @return Shares minted.
    """
    val: Val = self._deposit_val(assets, receiver)
    shares: uint256 = self._to_shares(assets, val.nav, False)
    self._do_deposit(msg.sender, receiver, assets, shares)
    return shares


@external
def mint(shares: uint256, receiver: address = msg.sender) -> uint256:
    """
    @notice Mint exactly `shares`, paying assets rounded up.
    @dev The same conditions and reasons as `deposit`, for the assets
         `shares` cost at the fresh NAV; "vault: zero shares" for 0. The
         caller approves this vault for `previewMint(shares)`.
    @param shares Share units.
    @param receiver Who gets the shares.
    @return Asset units paid.
    """
    assert shares != 0, "vault: zero shares"
    nav: uint256 = 0
    fresh: bool = False
    nav, fresh = self._nav_quick(self._spot())
    assets: uint256 = self._to_assets(shares, nav, True)
    val: Val = self._deposit_val(assets, receiver)
    self._do_deposit(msg.sender, receiver, assets, shares)
    return assets


@internal
def _withdraw_val(owner: address) -> Val:
    guard: address = self.risk_guard
    spot: uint256 = 0
    halted: bool = False
    if guard != empty(address):
        spot, halted = staticcall IRiskGuard(guard).exit_check()
    assert not halted, "vault: halted by the guardian, withdrawals wait"
    return self._val(spot)


@external
def withdraw(assets: uint256, receiver: address = msg.sender, owner: address = msg.sender) -> uint256:
    """
    @notice Withdraw exactly `assets`, burning `owner`'s shares rounded up.
            Limited to free collateral.
    @dev Open while paused, shut down and at every breaker level, at the
         conservative NAV while the aggregates may not be used. Reverts:
         "vault: halted by the guardian, withdrawals wait", "vault: withdraw
         over max" (above `maxWithdraw(owner)`), "vault: zero assets",
         "vault: bad receiver" (zero address), "erc20: insufficient
         allowance" (caller not `owner`).
    @param assets Asset units.
    @param receiver Who gets the assets.
    @param owner Whose shares burn (approve the caller if not the caller).
    @return Shares burned.
    """
    val: Val = self._withdraw_val(owner)
    assert assets <= min(self._to_assets(erc20.balanceOf[owner], val.nav, False), val.free), "vault: withdraw over max"
    shares: uint256 = self._to_shares(assets, val.nav, True)
    self._do_withdraw(msg.sender, receiver, owner, assets, shares)
    return shares


@external
def redeem(shares: uint256, receiver: address = msg.sender, owner: address = msg.sender) -> uint256:
    """
    @notice Burn exactly `shares` of `owner`, sending assets rounded down.
            Limited to free collateral.
    @dev Open while paused, shut down and at every breaker level, at the
         conservative NAV while the aggregates may not be used. Reverts:
         "vault: zero shares", "vault: halted by the guardian, withdrawals
         wait", "vault: redeem over max" (more than `owner` holds), "vault:
         not enough free collateral", "vault: zero assets" (dust worth
         nothing), "vault: bad receiver" (zero address), "erc20:
         insufficient allowance" (caller not `owner`).
    @param shares Share units.
    @param receiver Who gets the assets.
    @param owner Whose shares burn.
    @return Asset units paid.
    """
    assert shares != 0, "vault: zero shares"
    val: Val = self._withdraw_val(owner)
    assert shares <= erc20.balanceOf[owner], "vault: redeem over max"
    assets: uint256 = self._to_assets(shares, val.nav, False)
    assert assets <= val.free, "vault: not enough free collateral"
    self._do_withdraw(msg.sender, receiver, owner, assets, shares)
    return assets


# ---------------------------------------------------------------- hooks for the market and the hedger

@external
def collect_premium(buyer: address, amount: uint256):
    """
    @notice Market only: pull an option premium from `buyer` (who approved
            this vault) into tracked cash. Refused while paused or shut down.
    @param buyer Who pays.
    @param amount Asset units.
    """
    assert msg.sender == self.option_market, "vault: caller is not the option market"
    assert not self.is_shutdown, "vault: shut down"
    pausable._require_not_paused()
    before: uint256 = staticcall IERC20(asset).balanceOf(self)
    assert extcall IERC20(asset).transferFrom(buyer, self, amount, default_return_value=True), "vault: transferFrom failed"
    assert staticcall IERC20(asset).balanceOf(self) - before == amount, "vault: asset took a fee"
    self._add_cash(amount, True)
    log IVault.PremiumCollected(buyer=buyer, amount=amount)


@external
def reserve_payout(amount: uint256):
    """
    @notice Market only: move a settled series' payoff from cash to the
            claims reserve (out of NAV).
    @param amount Asset units.
    """
    assert msg.sender == self.option_market, "vault: caller is not the option market"
    assert amount <= self._cash & M128, "vault: not enough cash to reserve payout"
    self._add_cash(amount, False)
    self.total_reserved += amount
    log IVault.PayoutReserved(amount=amount)


@external
def pay_claim(holder: address, amount: uint256):
    """
    @notice Market only: pay a holder's settled payoff from the reserve.
    @param holder Who is paid.
    @param amount Asset units.
    """
    assert msg.sender == self.option_market, "vault: caller is not the option market"
    self.total_reserved -= amount
    assert extcall IERC20(asset).transfer(holder, amount, default_return_value=True), "vault: transfer failed"
    log IVault.ClaimPaid(holder=holder, amount=amount)


@external
def hedge_swap(
    router: address, underlying: address, fee: uint24, buy_underlying: bool,
    amount_in: uint256, min_out: uint256, deadline: uint256
) -> uint256:
    """
    @notice Hedger only: swap cash for the underlying (or back) through the
            Uniswap V3 router; tracked cash and hedge follow the actual
            balances. The hedger has already checked every bound.
    @dev Reverts: "vault: caller is not the hedger", "vault: shut down"
         (buying after shutdown; selling stays open), "vault: not enough
         cash to hedge" / "vault: not enough hedge to sell" (above the
         tracked amounts), "vault: swap returned less than min_out" (by
         balance change). Approves `router` for max uint256 of the input
         token when the standing allowance is short (the router pulls only
         from its caller, this vault).
    @param router The Uniswap V3 SwapRouter (the hedger's `router`).
    @param underlying The underlying token (WETH, 18 decimals).
    @param fee The pool's fee tier, hundredths of a basis point (500 = 0.05 %).
    @param buy_underlying True: asset -> underlying; False: underlying -> asset.
    @param amount_in Asset units when buying, wad of underlying when
           selling; at most the tracked cash, resp. hedge.
    @param min_out Least output accepted: wad of underlying when buying,
           asset units when selling.
    @param deadline Unix time, passed to the router.
    @return The amount received (balance change): wad of underlying when
            buying, asset units when selling.
    """
    assert msg.sender == self.hedger, "vault: caller is not the hedger"
    assert not self.is_shutdown or not buy_underlying, "vault: shut down"
    token_in: address = asset
    token_out: address = underlying
    if buy_underlying:
        assert amount_in <= self._cash & M128, "vault: not enough cash to hedge"
    else:
        assert amount_in <= self._cash >> 128, "vault: not enough hedge to sell"
        token_in = underlying
        token_out = asset
    before_in: uint256 = staticcall IERC20(token_in).balanceOf(self)
    before_out: uint256 = staticcall IERC20(token_out).balanceOf(self)
    if staticcall IERC20(token_in).allowance(self, router) < amount_in:
        # the router only pulls from the account that calls it (this vault),
        # so one standing approval saves ~20k gas per trade
        assert extcall IERC20(token_in).approve(router, max_value(uint256), default_return_value=True), "vault: approve failed"
    extcall ISwapRouter(router).exactInputSingle(ISwapRouter.ExactInputSingleParams(
        tokenIn=token_in, tokenOut=token_out, fee=fee, recipient=self, deadline=deadline,
        amountIn=amount_in, amountOutMinimum=min_out, sqrtPriceLimitX96=0,
    ))
    spent: uint256 = before_in - staticcall IERC20(token_in).balanceOf(self)
    received: uint256 = staticcall IERC20(token_out).balanceOf(self) - before_out
    assert received >= min_out, "vault: swap returned less than min_out"
    idle: uint256 = 0
    hedge: uint256 = 0
    idle, hedge = self._load_cash()
    if buy_underlying:
        idle -= spent
        hedge += received
    else:
        hedge -= spent
        idle += received
    assert idle <= M128 and hedge <= M128, "vault: cash or hedge out of range"
    self._cash = idle | (hedge << 128)
    log IVault.HedgeSwapped(buy_underlying=buy_underlying, amount_in=spent, amount_out=received)
    return received


# ---------------------------------------------------------------- share token (ERC-20)

@external
def transfer(to: address, amount: uint256) -> bool:
    """
    @notice Move `amount` of the caller's shares to `to` (ERC-20). Share
            transfers stay open in every vault state (paused, halted, shut
            down); moving shares does not move NAV or the share price.
    @dev Reverts with snekmate's "erc20: transfer to the zero address" or
         "erc20: transfer amount exceeds balance"; never returns False.
    @param to The receiver of the shares.
    @param amount Share units (asset decimals + DECIMALS_OFFSET).
    @return True (a failure reverts).
    """
    erc20._transfer(msg.sender, to, amount)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    """
    @notice Move `amount` of `owner`'s shares to `to`, spending the caller's
            allowance from `owner` (ERC-20; needed even when the caller is
            `owner`). An allowance of max uint256 is never decreased. Open in
            every vault state.
    @dev Reverts with snekmate's "erc20: insufficient allowance", "erc20:
         transfer to the zero address" or "erc20: transfer amount exceeds
         balance"; never returns False.
    @param owner Whose shares move.
    @param to The receiver of the shares.
    @param amount Share units (asset decimals + DECIMALS_OFFSET).
    @return True (a failure reverts).
    """
    erc20._spend_allowance(owner, msg.sender, amount)
    erc20._transfer(owner, to, amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    """
    @notice Let `spender` move up to `amount` of the caller's shares with
            `transferFrom`, `withdraw` or `redeem` (ERC-20; overwrites the
            previous allowance). max uint256 is an allowance that is never
            spent down.
    @dev Reverts with "erc20: approve to the zero address" for a zero
         `spender`; never returns False.
    @param spender Who may spend the caller's shares.
    @param amount Share units.
    @return True (a failure reverts).
    """
    erc20._approve(msg.sender, spender, amount)
    return True


# ---------------------------------------------------------------- roles and wiring

@internal
def _only_guardian_or_owner():
    assert msg.sender == self.guardian or msg.sender == ownable.owner, "vault: caller is not guardian or owner"


@external
def connect(book: address, market: address, hedger_: address, guard: address):
    """
    @notice Owner, once: connect the option book, the option market, the
            hedger and the risk guard. A book that holds positions must never
            be swapped out from under them, so this cannot be repeated.
    @param book The OptionBook.
    @param market The OptionMarket.
    @param hedger_ The Hedger.
    @param guard The RiskGuard.
    """
    ownable._check_owner()
    assert self.option_book == empty(address), "vault: already connected"
    assert book.is_contract and market.is_contract and hedger_.is_contract and guard.is_contract, "vault: not a contract"
    self.option_book = book
    self.option_market = market
    self.hedger = hedger_
    self.risk_guard = guard
    log IVault.Connected(book=book, market=market, hedger=hedger_, guard=guard)


@external
def set_keeper(new_keeper: address):
    """
    @notice Owner: replace the keeper (e.g. a stolen key), at once.
    @param new_keeper The new keeper address.
    """
    ownable._check_owner()
    assert new_keeper != empty(address), "vault: zero keeper"
    self.keeper = new_keeper
    log IVault.RoleSet(role="keeper", account=new_keeper)


@external
def set_guardian(new_guardian: address):
    """
    @notice Owner: replace the guardian.
    @param new_guardian The new guardian address.
    """
    ownable._check_owner()
    assert new_guardian != empty(address), "vault: zero guardian"
    self.guardian = new_guardian
    log IVault.RoleSet(role="guardian", account=new_guardian)


@external
def pause():
    """
    @notice Guardian or owner: stop deposits and option sales (reversible).
            Withdrawals, settlement and claims stay open.
    """
    self._only_guardian_or_owner()
    pausable._pause()


@external
def unpause():
    """
    @notice Guardian or owner: lift the pause.
    """
    self._only_guardian_or_owner()
    pausable._unpause()


@external
def shutdown():
    """
    @notice Guardian or owner: one-way emergency shutdown. No deposits,
            mints, sales or hedge purchases ever again; withdrawals stay open.
    """
    self._only_guardian_or_owner()
    assert not self.is_shutdown, "vault: already shut down"
    self.is_shutdown = True
    log IVault.Shutdown(account=msg.sender)
