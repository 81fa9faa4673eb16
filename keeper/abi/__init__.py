"""ABIs of every contract the keeper reads, shipped as package data.

- Ballast's own (`Vault`, `OptionBook`, `OptionMarket`, `Hedger`, `RiskGuard`):
  written by `scripts/export_abis.py` from the compiled sources; a test fails
  when they differ from what the contracts compile to. Rerun the script after
  changing a contract.
- `UniswapV3Pool`: the `abi` of the npm artifact
  `@uniswap/v3-core/artifacts/contracts/UniswapV3Pool.sol/UniswapV3Pool.json`
  (written by the same script, checked by the same test).
- `AggregatorV3`: the standard Chainlink `AggregatorV3Interface` read surface
  (`decimals`, `description`, `version`, `getRoundData`, `latestRoundData`),
  written by hand; no test contract's ABI is used to read a feed.

Pure: json and importlib only.
"""
from __future__ import annotations

import functools
import json
from importlib import resources

BALLAST = ("Vault", "OptionBook", "OptionMarket", "Hedger", "RiskGuard")
EXTERNAL = ("AggregatorV3", "UniswapV3Pool")
NAMES = BALLAST + EXTERNAL


@functools.cache
def _text(name: str) -> str:
    if name not in NAMES:
        raise ValueError(f"no packaged ABI named {name!r} (have: {', '.join(NAMES)})")
    return resources.files(__name__).joinpath(f"{name}.json").read_text()


def load_abi(name: str) -> list[dict]:
    """The ABI `name` as a fresh list of JSON objects (one of `NAMES`)."""
    return json.loads(_text(name))
