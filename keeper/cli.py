"""`keeper` command line: the quant core from the shell, and a read-only status.

    keeper greeks --spot 3000 --strike 3200 --days 7 --vol 0.65 [--rate 0.0] [--put]
    keeper iv --price 21.06 --spot 3000 --strike 3200 --days 7 [--rate 0.0] [--put]
    keeper status --vault 0x... [--network http://127.0.0.1:8545 | ethereum:mainnet:node] [--json]
    keeper backtest --model {gbm,merton,garch,crash,csv} [--csv FILE] --paths N --days D
                    --step-minutes M --seed S --strategies no_hedge,hedge_every:4,fixed_band:0.01,dynamic
                    --out DIR

Bad input gives a one-line error on stderr and exit status 2, never a traceback.
`backtest` imports neither ape nor a node (keeper.backtest; docs/backtest.md).
The bot commands (run, once, report) arrive with the keeper bot.
"""
import argparse
import dataclasses
import json
import math
import re
import sys

from keeper.greeks import bs_greeks, implied_vol

DAYS_PER_YEAR = 365.0


def _option_args(p, with_vol):
    p.add_argument("--spot", type=float, required=True, help="underlying price, USD")
    p.add_argument("--strike", type=float, required=True, help="strike, USD")
    p.add_argument("--days", type=float, required=True, help="calendar days to expiry")
    if with_vol:
        p.add_argument("--vol", type=float, required=True, help="annualised vol, 0.65 = 65 %%")
    p.add_argument("--rate", type=float, default=0.0, help="continuously compounded rate, 0.05 = 5 %% (default 0)")
    p.add_argument("--put", action="store_true", help="a put (default: call)")


def parser():
    p = argparse.ArgumentParser(prog="keeper", description="Ballast keeper")
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("greeks", help="Black-Scholes price and Greeks of one option")
    _option_args(g, with_vol=True)
    iv = sub.add_parser("iv", help="implied vol of one option price")
    iv.add_argument("--price", type=float, required=True, help="option price, USD")
    _option_args(iv, with_vol=False)
    st = sub.add_parser("status", help="read a deployment through a node and print its state (sends nothing)")
    st.add_argument("--vault", required=True, help="the vault's address (0x...)")
    st.add_argument(
        "--network", default="http://127.0.0.1:8545",
        help="an RPC URL or an ape network choice such as ethereum:mainnet:node (default http://127.0.0.1:8545)",
    )
    st.add_argument("--json", action="store_true", help="print the snapshot as one JSON object (for monitoring)")
    bt = sub.add_parser(
        "backtest", help="simulate the vault over many price paths and compare hedging strategies",
        description="Simulate the vault (contracts/SPEC.md, parameters from contracts/constants.vy) over "
        "simulated or historical price paths; write results.md, results.csv and plots to --out.",
    )
    bt.error = _one_line_error  # every bad input: one line, exit 2
    bt.add_argument("--model", required=True, help="gbm, merton, garch, crash or csv")
    bt.add_argument("--csv", metavar="FILE",
                    help="timestamp,price history: required by csv, optional for garch (fit on it)")
    bt.add_argument("--paths", type=int, default=200, help="number of paths (default 200)")
    bt.add_argument("--days", type=int, default=30, help="days per path (default 30)")
    bt.add_argument("--step-minutes", type=int, default=60, help="simulation step; must divide a day (default 60)")
    bt.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    bt.add_argument(
        "--strategies", default="no_hedge,hedge_every:4,fixed_band:0.01",
        help="comma-separated: no_hedge, hedge_every:HOURS, fixed_band:FRACTION_OF_NAV, dynamic",
    )
    bt.add_argument("--out", required=True, metavar="DIR", help="directory for results.md, results.csv and PNGs")
    bt.add_argument("--gas-gwei", type=float, default=None, help="gas price, gwei (default 3)")
    bt.add_argument("--vol-premium", type=float, default=None,
                    help="static strategies: vol posted over the model's vol (default 0.05)")
    bt.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _one_line_error(message):
    """argparse error handler for `backtest`: `keeper: error: ...` on one line, exit 2."""
    print(f"keeper: error: {message}", file=sys.stderr)
    sys.exit(2)


def _backtest(args, argv) -> int:
    """Run `keeper backtest`; input errors -> one line on stderr and 2."""
    from dataclasses import replace

    from keeper.backtest import MODELS, SimConfig, StaticConfig, run_backtest

    def fail(msg):
        print(f"keeper: error: {msg}", file=sys.stderr)
        return 2

    if args.model not in MODELS:
        return fail(f"unknown model {args.model!r} (choose from {', '.join(MODELS)})")
    for name in ("paths", "days", "step_minutes"):
        if getattr(args, name) <= 0:
            return fail(f"--{name.replace('_', '-')} must be > 0")
    if args.seed < 0:
        return fail("--seed must be >= 0")
    for name in ("gas_gwei", "vol_premium"):
        v = getattr(args, name)
        if v is not None and not math.isfinite(v):
            return fail(f"--{name.replace('_', '-')} must be a finite number")
    if args.gas_gwei is not None and args.gas_gwei < 0:
        return fail("--gas-gwei must be >= 0")
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    if not strategies:
        return fail("--strategies names no strategy")
    sim_cfg = SimConfig() if args.gas_gwei is None else replace(SimConfig(), gas_gwei=args.gas_gwei)
    static_cfg = None if args.vol_premium is None else StaticConfig(vol_premium=args.vol_premium)
    command = "keeper " + " ".join(argv)
    try:
        from keeper.backtest import resolve_strategy

        for s in strategies:  # unknown / unavailable strategies fail before any work
            resolve_strategy(s)
        if args.quiet:
            results = run_backtest(args.model, strategies, args.paths, args.days, args.step_minutes, args.seed,
                                   sim_cfg=sim_cfg, csv=args.csv, static_cfg=static_cfg)
        else:
            results = _with_progress(args, strategies, sim_cfg, static_cfg)
        from keeper.backtest_report import markdown_table, write_report

        write_report(results, args.out, command=command)
    except (ValueError, OSError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        return fail(reason)
    print(markdown_table([r.summary() for r in results.values()]))
    print(f"wrote {args.out}/results.md, results.csv, nav_fan.png, drawdown.png, daily_pnl.png")
    return 0


def _with_progress(args, strategies, sim_cfg, static_cfg):
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from keeper.backtest import run_backtest

    steps = args.days * (1440 // args.step_minutes) if args.step_minutes > 0 and 1440 % args.step_minutes == 0 else 0
    total = len(strategies) * args.paths * (steps + 1)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>5.1f} %"),
                  TimeRemainingColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"backtest {args.model}", total=total or None)

        def progress(name, k):
            bar.update(task, advance=k, description=f"backtest {args.model}: {name}")

        return run_backtest(args.model, strategies, args.paths, args.days, args.step_minutes, args.seed,
                            sim_cfg=sim_cfg, csv=args.csv, static_cfg=static_cfg, progress=progress)


def _status(vault: str, network: str, as_json: bool = False) -> int:
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", vault):
        print("keeper: error: --vault must be a 0x-prefixed 20-byte hex address", file=sys.stderr)
        return 2
    from ape import networks
    from ape.exceptions import ApeException
    from ape.logging import logger

    logger.set_level("WARNING")  # stdout carries the status (or the JSON) only

    from keeper.market import format_status, read_snapshot

    try:
        with networks.parse_network_choice(network):
            snapshot = read_snapshot(vault, validate=False)  # show what the chain says, flagged if unsound
        if as_json:
            try:
                snapshot.validate()
                invalid = None
            except ValueError as err:
                invalid = str(err)
            doc = dict(dataclasses.asdict(snapshot), level_name=snapshot.level_name, invalid=invalid)
            print(json.dumps(doc, sort_keys=True))
        else:
            print(format_status(snapshot))
    except (ApeException, ConnectionError, OSError, ValueError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        print(f"keeper: error: cannot read vault {vault} on {network}: {reason}", file=sys.stderr)
        return 2
    return 0


def main(argv=None) -> int:
    p = parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = p.parse_args(argv)
    if args.command == "backtest":
        return _backtest(args, argv)
    if args.command == "status":
        return _status(args.vault, args.network, args.json)
    T = args.days / DAYS_PER_YEAR
    try:
        if args.command == "greeks":
            g = bs_greeks(args.spot, args.strike, T, args.rate, args.vol, not args.put)
            for name in ("price", "delta", "gamma", "vega", "theta"):
                print(f"{name:6s} {float(getattr(g, name)):.10g}")
        else:
            vol = float(implied_vol(args.price, args.spot, args.strike, T, args.rate, not args.put))
            if math.isnan(vol):
                print("keeper: error: price is outside the no-arbitrage bounds (or days <= 0)", file=sys.stderr)
                return 2
            print(f"vol {vol:.12g}")
    except ValueError as err:
        print(f"keeper: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
