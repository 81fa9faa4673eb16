# pragma version 0.4.3
"""
@title Plain ERC-4626 (snekmate), the gas-benchmark peer
@notice snekmate's `erc4626` module deployed as it comes, the same way as
        snekmate's own mock: every external function of the module exported,
        nothing added. `benchmarks/gas_vault.py` measures Ballast's Vault next
        to it on the same asset and amounts.
@custom:kill Benchmark/test contract; nothing to disable.
"""

from ethereum.ercs import IERC20
from snekmate.extensions import erc4626

initializes: erc4626

exports: erc4626.__interface__


@deploy
def __init__(asset_: IERC20, decimals_offset_: uint8):
    erc4626.__init__("Plain 4626", "p4626", asset_, decimals_offset_, "Plain 4626", "1")
