"""`keeper` command line: the quant core from the shell, and a read-only status.

    keeper greeks --spot 3000 --strike 3200 --days 7 --vol 0.65 [--rate 0.0] [--put]
    keeper iv --price 21.06 --spot 3000 --strike 3200 --days 7 [--rate 0.0] [--put]
    keeper status --vault 0x... [--network http://127.0.0.1:8545 | ethereum:mainnet:node] [--json]

Bad input gives a one-line error on stderr and exit status 2, never a traceback.
The bot commands (run, once, backtest, report) arrive with the keeper bot.
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
    return p


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
    args = p.parse_args(argv)
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
