"""The contracts' parameters in human units, read from `contracts/constants.vy`.

`constants.vy` is the one place every parameter's default and hard bounds are
written; the simulator and the allocator read them from there, so the chain
and the keeper never disagree on a number:

    p = Params.from_constants()          # the repo's contracts/constants.vy
    p.max_utilisation                    # 0.5  (DEFAULT_MAX_UTILISATION, wad -> fraction)
    p.GRID                               # 16 spot shocks, -1.0 ... +2.0 (read-only array; the .vy name)
    p2 = p.replace(max_trade=0.05)       # a variant (checked against MIN_/MAX_MAX_TRADE)

Parsing: every line `NAME: constant(type) = expr` (an expression may span
lines inside brackets; `#` comments are dropped). `expr` is evaluated with
`ast`, never `eval`: integer literals, `+ - * // **`, unary minus and lists
only. Names the dataclass does not use are ignored; a name it needs that is
missing (or written with anything else) is a clear `ValueError`.

Units: wad fractions (1e18 = 100 %) become floats (0.5 = 50 %); times stay
integer seconds; `max_vol_rate` is vol (1.00 = 100 vol points) per second;
`budget_rate` is budget per hour (as the contract applies it).
"""
from __future__ import annotations

import ast
import dataclasses
import re
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

__all__ = ["Params", "parse_constants", "DEFAULT_CONSTANTS"]

DEFAULT_CONSTANTS = Path(__file__).resolve().parents[1] / "contracts" / "constants.vy"

WAD = 10**18
_LINE = re.compile(r"^([A-Z][A-Z0-9_]*)\s*:\s*constant\(([^)]*)\)\s*=\s*(.*)$")
_OPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Pow: lambda a, b: a**b,
}


def _eval(node, name):
    """Evaluate an integer expression node (ints, + - * // **, unary minus, lists)."""
    if isinstance(node, ast.Expression):
        return _eval(node.body, name)
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_eval(node.operand, name)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _eval(node.left, name), _eval(node.right, name)
        if isinstance(node.op, ast.Pow) and not 0 <= right <= 256:
            raise ValueError(f"{name}: exponent {right} out of range")
        if isinstance(node.op, ast.FloorDiv) and right == 0:
            raise ValueError(f"{name}: division by zero")
        return _OPS[type(node.op)](left, right)
    if isinstance(node, ast.List):
        return [_eval(e, name) for e in node.elts]
    raise ValueError(f"{name}: unsupported expression {ast.dump(node)[:60]}")


def _strip_comment(line: str) -> str:
    i = line.find("#")
    return line if i < 0 else line[:i]


def parse_constants(text: str) -> tuple[dict[str, int | list], dict[str, str]]:
    """All `NAME: constant(type) = expr` of a Vyper source.

    Returns (values, errors): `values[NAME]` is an int or a list of ints;
    `errors[NAME]` says why a constant could not be evaluated (it only
    matters if somebody needs that name)."""
    values: dict[str, int | list] = {}
    errors: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = _LINE.match(_strip_comment(lines[i]).rstrip())
        i += 1
        if not m:
            continue
        name, expr = m.group(1), m.group(3)
        # an expression continues while brackets are open
        while expr.count("[") + expr.count("(") > expr.count("]") + expr.count(")") and i < len(lines):
            expr += " " + _strip_comment(lines[i]).strip()
            i += 1
        try:
            values[name] = _eval(ast.parse(expr.strip(), mode="eval"), name)
        except SyntaxError:
            errors[name] = f"{name}: cannot parse {expr.strip()[:60]!r}"
        except ValueError as err:
            errors[name] = str(err)
    return values, errors


# Units of a field: how the integer in constants.vy becomes a human number.
_UNITS = {
    "wad": lambda v: v / WAD,           # fraction (or a wad value per unit)
    "sec": int,                          # seconds
    "int": int,                          # a count / an index / a level
    "grid_unit_usd": lambda v: v / WAD,  # wad USD per grid unit -> USD
}


def _p(const: str, unit: str, bounds: tuple[str | None, str | None] | None = None, **kw):
    """A Params field read from constant `const` in `unit`; `bounds` names its MIN_/MAX_ constants."""
    return field(metadata={"const": const, "unit": unit, "bounds": bounds}, **kw)


def _bounds(name: str) -> tuple[str, str]:
    """The MIN_/MAX_ names of DEFAULT_<name>."""
    return f"MIN_{name}", f"MAX_{name}"


@dataclass(frozen=True, eq=False)
class Params:
    """Every contract parameter the keeper needs, in human units (see module doc)."""

    # ------------------------------------------------ levels and shares
    normal: int = _p("NORMAL", "int")
    reduce_only: int = _p("REDUCE_ONLY", "int")
    withdraw_only: int = _p("WITHDRAW_ONLY", "int")
    halted: int = _p("HALTED", "int")
    decimals_offset: int = _p("DECIMALS_OFFSET", "int")
    virtual_shares: int = _p("VIRTUAL_SHARES", "int")
    virtual_assets: int = _p("VIRTUAL_ASSETS", "int")
    # ------------------------------------------------ the book
    max_live: int = _p("MAX_LIVE", "int")
    GRID: np.ndarray = _p("GRID", "wad")                 # spot shocks, fractions (-1.0 ... +2.0), read-only
    grid_zero: int = _p("GRID_ZERO", "int")              # index of the 0 % shock
    grid_unit_usd: float = _p("GRID_UNIT", "grid_unit_usd")  # grid losses are rounded up to this (1e-6 USD)
    min_vol: float = _p("MIN_VOL", "wad")                # hard floor of any posted vol
    max_vol: float = _p("MAX_VOL", "wad")                # hard cap
    vol_accrual_cap: int = _p("VOL_ACCRUAL_CAP", "sec")  # a vol post moves <= max_vol_rate x min(elapsed, this)
    min_time_to_expiry: int = _p("MIN_TIME_TO_EXPIRY", "sec")
    min_rate: float = _p("MIN_RATE", "wad")
    max_rate: float = _p("MAX_RATE", "wad")
    max_mark_age: int = _p("DEFAULT_MAX_MARK_AGE", "sec", _bounds("MAX_MARK_AGE"))
    max_spot_drift: float = _p("DEFAULT_MAX_SPOT_DRIFT", "wad", _bounds("MAX_SPOT_DRIFT"))
    max_vol_rate: float = _p("DEFAULT_MAX_VOL_RATE", "wad", _bounds("MAX_VOL_RATE"))  # vol per second
    vol_floor: float = _p("DEFAULT_VOL_FLOOR", "wad", ("MIN_VOL", "MAX_VOL"))
    vol_cap: float = _p("DEFAULT_VOL_CAP", "wad", ("MIN_VOL", "MAX_VOL"))
    strike_band: float = _p("DEFAULT_STRIKE_BAND", "wad", _bounds("STRIKE_BAND"))
    max_horizon: int = _p("DEFAULT_MAX_HORIZON", "sec", (None, "MAX_MAX_HORIZON"))
    max_new_series: int = _p("DEFAULT_MAX_NEW_SERIES", "int", _bounds("MAX_NEW_SERIES"))
    # ------------------------------------------------ the market
    spread: float = _p("DEFAULT_SPREAD", "wad", (None, "MAX_SPREAD"))
    # ------------------------------------------------ the guard: oracle and pool
    oracle_heartbeat: int = _p("DEFAULT_ORACLE_HEARTBEAT", "sec", _bounds("ORACLE_HEARTBEAT"))
    max_deviation: float = _p("DEFAULT_MAX_DEVIATION", "wad", _bounds("MAX_DEVIATION"))
    twap_window: int = _p("DEFAULT_TWAP_WINDOW", "sec", _bounds("TWAP_WINDOW"))
    # ------------------------------------------------ the guard: breakers
    max_spot_move: float = _p("DEFAULT_MAX_SPOT_MOVE", "wad", _bounds("MAX_SPOT_MOVE"))
    spot_move_window: int = _p("DEFAULT_SPOT_MOVE_WINDOW", "sec", _bounds("SPOT_MOVE_WINDOW"))
    max_drawdown: float = _p("DEFAULT_MAX_DRAWDOWN", "wad", _bounds("MAX_DRAWDOWN"))
    drawdown_window: int = _p("DEFAULT_DRAWDOWN_WINDOW", "sec", _bounds("DRAWDOWN_WINDOW"))
    min_pool_depth: float = _p("DEFAULT_MIN_POOL_DEPTH", "wad", (None, "MAX_MIN_POOL_DEPTH"))
    cooldown: int = _p("DEFAULT_COOLDOWN", "sec", _bounds("COOLDOWN"))
    max_halt: int = _p("MAX_HALT", "sec")
    halt_epoch: int = _p("HALT_EPOCH", "sec")
    # ------------------------------------------------ the guard: sale limits and the budget
    max_utilisation: float = _p("DEFAULT_MAX_UTILISATION", "wad", (None, "MAX_MAX_UTILISATION"))
    max_vega_ratio: float = _p("DEFAULT_MAX_VEGA_RATIO", "wad", (None, "MAX_MAX_VEGA_RATIO"))
    max_gamma_ratio: float = _p("DEFAULT_MAX_GAMMA_RATIO", "wad", (None, "MAX_MAX_GAMMA_RATIO"))
    delta_band: float = _p("DEFAULT_DELTA_BAND", "wad", (None, "MAX_DELTA_BAND"))
    budget_floor: float = _p("DEFAULT_BUDGET_FLOOR", "wad", ("MIN_BUDGET_FLOOR", None))
    budget_rate: float = _p("DEFAULT_BUDGET_RATE", "wad", _bounds("BUDGET_RATE"))  # budget per hour
    # ------------------------------------------------ the hedger
    max_slippage: float = _p("DEFAULT_MAX_SLIPPAGE", "wad", _bounds("MAX_SLIPPAGE"))
    max_trade: float = _p("DEFAULT_MAX_TRADE", "wad", (None, "MAX_MAX_TRADE"))
    hedge_cooldown: int = _p("DEFAULT_HEDGE_COOLDOWN", "sec", (None, "MAX_HEDGE_COOLDOWN"))
    max_hourly_notional: float = _p("DEFAULT_MAX_HOURLY_NOTIONAL", "wad", (None, "MAX_MAX_HOURLY_NOTIONAL"))
    max_daily_notional: float = _p("DEFAULT_MAX_DAILY_NOTIONAL", "wad", (None, "MAX_MAX_DAILY_NOTIONAL"))
    keeper_timeout: int = _p("DEFAULT_KEEPER_TIMEOUT", "sec", _bounds("KEEPER_TIMEOUT"))
    fallback_trade: float = _p("FALLBACK_TRADE", "wad")
    # ------------------------------------------------ the timelock
    timelock_delay: int = _p("TIMELOCK_DELAY", "sec")
    timelock_grace: int = _p("TIMELOCK_GRACE", "sec")
    # ------------------------------------------------ hard bounds of DEFAULT_ fields: name -> (lo, hi), None = none
    bounds: dict = field(default_factory=dict, repr=False, metadata={"const": None})

    # ------------------------------------------------------------ construction

    @classmethod
    def from_constants(cls, path: str | Path | None = None) -> "Params":
        """Parse `path` (default: the repo's contracts/constants.vy)."""
        path = Path(path) if path is not None else DEFAULT_CONSTANTS
        try:
            text = path.read_text()
        except OSError as err:
            raise ValueError(f"cannot read {path}: {err.strerror or err}") from None
        return cls.from_text(text, source=str(path))

    @classmethod
    def from_text(cls, text: str, source: str = "constants.vy") -> "Params":
        values, errors = parse_constants(text)

        def need(const):
            if const in values:
                return values[const]
            if const in errors:
                raise ValueError(f"{source}: {errors[const]}")
            raise ValueError(f"{source}: constant {const} is missing (keeper.params needs it)")

        def human(v, unit, const):
            if isinstance(v, list):
                if unit != "wad" or not all(isinstance(x, int) for x in v):
                    raise ValueError(f"{source}: {const} must be a flat list of integers")
                arr = np.array([x / WAD for x in v], dtype=float)
                arr.setflags(write=False)
                return arr
            return _UNITS[unit](v)

        kwargs, bounds = {}, {}
        for f in fields(cls):
            const = f.metadata.get("const")
            if const is None:
                continue
            unit = f.metadata["unit"]
            kwargs[f.name] = human(need(const), unit, const)
            if f.metadata.get("bounds"):
                lo_name, hi_name = f.metadata["bounds"]
                lo = human(values[lo_name], unit, lo_name) if lo_name in values else None
                hi = human(values[hi_name], unit, hi_name) if hi_name in values else None
                bounds[f.name] = (lo, hi)
        p = cls(**kwargs, bounds=bounds)
        if p.GRID.shape != (int(values.get("GRID_N", p.GRID.size)),):
            raise ValueError(f"{source}: GRID has {p.GRID.size} points, GRID_N says {values.get('GRID_N')}")
        if not 0 <= p.grid_zero < p.GRID.size or p.GRID[p.grid_zero] != 0.0:
            raise ValueError(f"{source}: GRID[GRID_ZERO] must be the 0 % shock")
        p.check()
        return p

    def check(self) -> None:
        """Every bounded field within its hard bounds (ValueError names the first that is not)."""
        for name, (lo, hi) in self.bounds.items():
            v = getattr(self, name)
            if isinstance(v, float) and not np.isfinite(v):
                raise ValueError(f"{name} must be finite, got {v}")
            if lo is not None and v < lo:
                raise ValueError(f"{name} = {v} is below its hard minimum {lo}")
            if hi is not None and v > hi:
                raise ValueError(f"{name} = {v} is above its hard maximum {hi}")
        if self.vol_floor > self.vol_cap:
            raise ValueError(f"vol_floor {self.vol_floor} is above vol_cap {self.vol_cap}")
        if self.max_daily_notional < self.max_hourly_notional:
            raise ValueError("max_daily_notional must be >= max_hourly_notional")

    def replace(self, **overrides) -> "Params":
        """A copy with some fields changed (names checked; bounded fields kept within their hard bounds)."""
        names = {f.name for f in fields(self)} - {"bounds"}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise ValueError(f"unknown parameter(s): {', '.join(unknown)}")
        if "GRID" in overrides:
            g = np.array(overrides["GRID"], dtype=float)
            g.setflags(write=False)
            overrides["GRID"] = g
        p = dataclasses.replace(self, **overrides)
        p.check()
        return p

    # ------------------------------------------------------------ equality (grid is an array)

    def __eq__(self, other):
        if not isinstance(other, Params):
            return NotImplemented
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, np.ndarray):
                if not np.array_equal(a, b):
                    return False
            elif a != b:
                return False
        return True

    __hash__ = None
