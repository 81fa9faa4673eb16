"""Ballast demo on a local anvil chain (`make demo`, i.e. `ape run demo`).

ape starts anvil (ethereum:local:foundry), this script deploys the test
stablecoin and the vault, a depositor deposits and withdraws, and every step
is printed with the amounts read back from the chain. ape stops anvil on exit.
"""
from ape import accounts, chain, project
from ape.logging import logger

USD = 10**6


def usd(units: int) -> str:
    return f"{units / USD:,.6f} USDC"


def main():
    logger.set_level("WARNING")
    owner, keeper, guardian, depositor = accounts.test_accounts[:4]
    print(f"chain id {chain.chain_id}, block {chain.blocks.head.number} (anvil, started by ape)")

    usdc = project.TestToken.deploy("USD Coin (test)", "USDC", 6, sender=owner)
    vault = project.Vault.deploy(usdc, "Ballast ETH Options USDC", "bUSDC", keeper, guardian, 1_000_000 * USD, sender=owner)
    print(f"deployed USDC (6 decimals) at {usdc.address}")
    print(f"deployed Vault (bUSDC, {vault.decimals()} decimals) at {vault.address}")
    print(f"  owner {owner.address}, keeper {keeper.address}, guardian {guardian.address}")
    print(f"  deposit cap {usd(vault.deposit_cap())}")

    usdc.mint(depositor, 25_000 * USD, sender=depositor)
    usdc.approve(vault, 2**256 - 1, sender=depositor)
    amount = 10_000 * USD
    preview = vault.previewDeposit(amount)
    tx = vault.deposit(amount, sender=depositor)
    shares = tx.return_value
    print(f"\ndeposit: depositor put in {usd(amount)} -> {shares:,} shares (previewDeposit said {preview:,}), gas {tx.gas_used:,}")
    print(f"  vault NAV {usd(vault.totalAssets())}, share supply {vault.totalSupply():,}, price/share {usd(vault.price_per_share())}")

    out = 4_000 * USD
    tx = vault.withdraw(out, sender=depositor)
    print(f"\nwithdraw: depositor took out {usd(out)} burning {tx.return_value:,} shares, gas {tx.gas_used:,}")
    print(f"  depositor holds {vault.balanceOf(depositor):,} shares worth {usd(vault.convertToAssets(vault.balanceOf(depositor)))}")
    print(f"  depositor wallet {usd(usdc.balanceOf(depositor))}; vault NAV {usd(vault.totalAssets())}")

    tx = vault.redeem(vault.balanceOf(depositor), sender=depositor)
    print(f"\nredeem: depositor redeemed the rest for {usd(tx.return_value)}, gas {tx.gas_used:,}")
    print(f"  depositor wallet {usd(usdc.balanceOf(depositor))} (started with 25,000.000000 USDC); vault NAV {usd(vault.totalAssets())}")
    print("\ndemo done; ape stops anvil.")
