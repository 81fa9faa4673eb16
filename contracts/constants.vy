# pragma version 0.4.3
"""
@title constants
@notice The shared vocabulary of the Ballast contracts: fixed-point units,
        risk levels, the vault's virtual shares, the stress grid, and every
        owner-set parameter's default and hard bounds. Contracts import it
        (`import constants`); the keeper's backtest reads the defaults from
        this file (`keeper.params`), so the simulator and the chain never
        disagree on a number.

        Units: `_WAD` fractions (1e18 = 100 %), seconds, wad USD per 1
        underlying for prices, asset units where a name ends in `_UNITS`.
        Every parameter X has DEFAULT_X and MIN_X/MAX_X (inclusive).
@custom:kill Constants only; nothing to disable.
"""

WAD: constant(uint256) = 10**18
WAD_I: constant(int256) = 10**18

# ---------------------------------------------------------------- risk levels
NORMAL: constant(uint8) = 0
REDUCE_ONLY: constant(uint8) = 1      # no sales, no deposits; hedges only shrink |delta|
WITHDRAW_ONLY: constant(uint8) = 2    # as 1, and the keeper may only sell the hedge
HALTED: constant(uint8) = 3           # guardian only; nothing moves (bounded by the halt budget)

# ---------------------------------------------------------------- vault shares
# Shares carry DECIMALS_OFFSET more decimals than the asset; every conversion
# adds VIRTUAL_SHARES shares and VIRTUAL_ASSETS asset units (donation defence).
DECIMALS_OFFSET: constant(uint8) = 6
VIRTUAL_SHARES: constant(uint256) = 10**6
VIRTUAL_ASSETS: constant(uint256) = 1
MAX_ASSET_DECIMALS: constant(uint8) = 18

# ---------------------------------------------------------------- the option book
MAX_LIVE: constant(uint256) = 64                   # live series at once
# Spot shocks of the stress grid (1e18 = 100 %): from spot -> 0 (puts pay
# their whole strike) to a +200 % rally (calls), with the kinks near spot.
GRID_N: constant(uint256) = 16
GRID: constant(int256[16]) = [
    -10**18, -75 * 10**16, -5 * 10**17, -35 * 10**16, -25 * 10**16, -15 * 10**16, -8 * 10**16, -4 * 10**16,
    0, 4 * 10**16, 8 * 10**16, 15 * 10**16, 25 * 10**16, 5 * 10**17, 10**18, 2 * 10**18,
]
GRID_ZERO: constant(uint256) = 8                   # index of the 0 % shock (intrinsic value now)
# The same shocks packed for cheap reads on-chain (indexing a constant array
# copies it to memory): 16 bits per shock, (percent + 100) at bits 16k.
# tests/contracts/test_constants.py checks it equals GRID.
GRID_PACKED: constant(uint256) = 530059511484555934551225303086269501930306571330408699803159198394526269440
# Grid losses are kept in micro-USD (1e-6 USD), 64 bits each, four per slot.
GRID_UNIT: constant(uint256) = 10**12              # wad USD per grid unit
GRID_MAX: constant(uint256) = 2**64 - 1

MIN_VOL: constant(uint256) = 5 * 10**16            # 5 %: hard floor of any posted vol
MAX_VOL: constant(uint256) = 3 * 10**18            # 300 %: hard cap
# A vol post may move at most max_vol_rate x min(time since last post, VOL_ACCRUAL_CAP).
VOL_ACCRUAL_CAP: constant(uint256) = 900
MIN_TIME_TO_EXPIRY: constant(uint256) = 3_600
MIN_RATE: constant(int256) = -5 * 10**16
MAX_RATE: constant(int256) = 2 * 10**17

DEFAULT_MAX_MARK_AGE: constant(uint256) = 3 * 3_600          # Lyra staleUpdateDuration
MIN_MAX_MARK_AGE: constant(uint256) = 300
MAX_MAX_MARK_AGE: constant(uint256) = 86_400
DEFAULT_MAX_SPOT_DRIFT: constant(uint256) = 5 * 10**16       # 5 %, Lyra acceptableSpotPricePercentMove
MIN_MAX_SPOT_DRIFT: constant(uint256) = 5 * 10**15
MAX_MAX_SPOT_DRIFT: constant(uint256) = 2 * 10**17
DEFAULT_MAX_VOL_RATE: constant(uint256) = 10**18 // 86_400   # 100 vol points per day
MIN_MAX_VOL_RATE: constant(uint256) = 10**16 // 86_400       # 1 vol point per day
MAX_MAX_VOL_RATE: constant(uint256) = 5 * 10**18 // 86_400   # 500 vol points per day
DEFAULT_VOL_FLOOR: constant(uint256) = 2 * 10**17            # 20 %: lowest vol the keeper may post
DEFAULT_VOL_CAP: constant(uint256) = 2 * 10**18              # 200 %: highest
DEFAULT_STRIKE_BAND: constant(uint256) = 5 * 10**17          # new strikes within +-50 % of spot
MIN_STRIKE_BAND: constant(uint256) = 10**16
MAX_STRIKE_BAND: constant(uint256) = 9 * 10**17
DEFAULT_MAX_HORIZON: constant(uint256) = 90 * 86_400
MAX_MAX_HORIZON: constant(uint256) = 365 * 86_400
DEFAULT_MAX_NEW_SERIES: constant(uint256) = 8                # new series per rolling day
MIN_MAX_NEW_SERIES: constant(uint256) = 1
MAX_MAX_NEW_SERIES: constant(uint256) = 64

# ---------------------------------------------------------------- the option market
DEFAULT_SPREAD: constant(uint256) = 2 * 10**16               # premium = value x (1 + 2 %)
MAX_SPREAD: constant(uint256) = 2 * 10**17

# ---------------------------------------------------------------- the risk guard: the oracle and the pool
DEFAULT_ORACLE_HEARTBEAT: constant(uint256) = 3_600          # Rysk STALE_PRICE_DELAY
MIN_ORACLE_HEARTBEAT: constant(uint256) = 60
MAX_ORACLE_HEARTBEAT: constant(uint256) = 86_400
DEFAULT_MAX_DEVIATION: constant(uint256) = 2 * 10**16        # oracle vs pool (TWAP and spot): 2 %
MIN_MAX_DEVIATION: constant(uint256) = 10**15
MAX_MAX_DEVIATION: constant(uint256) = 2 * 10**17
DEFAULT_TWAP_WINDOW: constant(uint256) = 600                 # >= Opyn Crab's 420 s
MIN_TWAP_WINDOW: constant(uint256) = 420
MAX_TWAP_WINDOW: constant(uint256) = 7_200

# ---------------------------------------------------------------- the risk guard: breakers
DEFAULT_MAX_SPOT_MOVE: constant(uint256) = 10**17            # 10 % ...
MIN_MAX_SPOT_MOVE: constant(uint256) = 10**16
MAX_MAX_SPOT_MOVE: constant(uint256) = 5 * 10**17
DEFAULT_SPOT_MOVE_WINDOW: constant(uint256) = 3_600          # ... within about an hour
MIN_SPOT_MOVE_WINDOW: constant(uint256) = 300
MAX_SPOT_MOVE_WINDOW: constant(uint256) = 86_400
DEFAULT_MAX_DRAWDOWN: constant(uint256) = 10**17             # NAV/share 10 % below ...
MIN_MAX_DRAWDOWN: constant(uint256) = 10**16
MAX_MAX_DRAWDOWN: constant(uint256) = 5 * 10**17
DEFAULT_DRAWDOWN_WINDOW: constant(uint256) = 86_400          # ... its 1-day peak
MIN_DRAWDOWN_WINDOW: constant(uint256) = 3_600
MAX_DRAWDOWN_WINDOW: constant(uint256) = 7 * 86_400
DEFAULT_MIN_POOL_DEPTH: constant(uint256) = 10**16           # USD per 1 % move >= 1 % of NAV (Lyra)
MAX_MIN_POOL_DEPTH: constant(uint256) = 10**18
DEFAULT_COOLDOWN: constant(uint256) = 3_600                  # breaker latch clears / level steps up
MIN_COOLDOWN: constant(uint256) = 300
MAX_COOLDOWN: constant(uint256) = 7 * 86_400
# The guardian's halts draw on MAX_HALT seconds per HALT_EPOCH.
MAX_HALT: constant(uint256) = 3 * 86_400
HALT_EPOCH: constant(uint256) = 30 * 86_400

# ---------------------------------------------------------------- the risk guard: sale limits and the budget
DEFAULT_MAX_UTILISATION: constant(uint256) = 5 * 10**17      # stress margin <= 50 % of NAV
MAX_MAX_UTILISATION: constant(uint256) = 9 * 10**17
DEFAULT_MAX_VEGA_RATIO: constant(uint256) = 25 * 10**16      # |vega per 1.00 vol| <= 25 % of NAV
MAX_MAX_VEGA_RATIO: constant(uint256) = 10**18
DEFAULT_MAX_GAMMA_RATIO: constant(uint256) = 5 * 10**16      # |cash gamma per 1 % move| <= 5 % of NAV
MAX_MAX_GAMMA_RATIO: constant(uint256) = 2 * 10**17
DEFAULT_DELTA_BAND: constant(uint256) = 10**16               # |net delta| x spot <= 1 % of NAV
MAX_DELTA_BAND: constant(uint256) = 2 * 10**17
# The keeper's risk budget b in [budget_floor, 1] scales the four limits above.
DEFAULT_BUDGET_FLOOR: constant(uint256) = 10**17             # 10 %
MIN_BUDGET_FLOOR: constant(uint256) = 10**16
DEFAULT_BUDGET_RATE: constant(uint256) = 10**17              # loosening: +10 % of full per hour
MIN_BUDGET_RATE: constant(uint256) = 10**16
MAX_BUDGET_RATE: constant(uint256) = 10**18
MAX_DEPOSIT_CAP_UNITS: constant(uint256) = 10**12            # whole asset units

# ---------------------------------------------------------------- the hedger
DEFAULT_MAX_SLIPPAGE: constant(uint256) = 10**16             # min_out >= oracle value - 1 % (Rysk)
MIN_MAX_SLIPPAGE: constant(uint256) = 10**15
MAX_MAX_SLIPPAGE: constant(uint256) = 3 * 10**16
DEFAULT_MAX_TRADE: constant(uint256) = 10**17                # one trade <= 10 % of NAV
MAX_MAX_TRADE: constant(uint256) = 25 * 10**16
DEFAULT_HEDGE_COOLDOWN: constant(uint256) = 300
MAX_HEDGE_COOLDOWN: constant(uint256) = 86_400
DEFAULT_MAX_HOURLY_NOTIONAL: constant(uint256) = 15 * 10**16 # <= 15 % of NAV per rolling hour
MAX_MAX_HOURLY_NOTIONAL: constant(uint256) = 10**18
DEFAULT_MAX_DAILY_NOTIONAL: constant(uint256) = 4 * 10**17   # <= 40 % of NAV per rolling day
MAX_MAX_DAILY_NOTIONAL: constant(uint256) = 3 * 10**18
DEFAULT_KEEPER_TIMEOUT: constant(uint256) = 6 * 3_600
MIN_KEEPER_TIMEOUT: constant(uint256) = 3_600
MAX_KEEPER_TIMEOUT: constant(uint256) = 7 * 86_400
FALLBACK_TRADE: constant(uint256) = 10**16                   # a fallback trade moves <= 1 % of NAV

# ---------------------------------------------------------------- the timelock
TIMELOCK_DELAY: constant(uint256) = 86_400                   # loosening changes wait 1 day ...
TIMELOCK_GRACE: constant(uint256) = 7 * 86_400               # ... and lapse 7 days after their eta
