"""Gas of the Vault's ERC-4626 actions next to snekmate's plain ERC-4626.

Both vaults are compiled in the same run, deployed on the same fresh anvil,
over the same 6-decimal asset, and driven with the same amounts and the same
sequence (a warm vault: one holder already in, then a new holder acts).
Figures are `gasUsed` of the transaction receipt: the whole transaction,
including the 21,000 base and calldata.

    .venv/bin/python benchmarks/gas_vault.py      (or: make bench)
"""
import statistics

from _chain import on_local_chain, write_section

USD = 10**6
AMOUNTS = [1 * USD, 1_000 * USD, 250_000 * USD]


def measure(project, actors):
    owner, keeper, guardian, seed, user = actors[:5]
    usdc = project.TestToken.deploy("USD Coin (test)", "USDC", 6, sender=owner)
    ballast = project.Vault.deploy(usdc, "Ballast", "bUSDC", keeper, guardian, 10**12 * USD, sender=owner)
    plain = project.PlainERC4626.deploy(usdc, 6, sender=owner)
    rows = {}
    for name, vault in (("Ballast Vault", ballast), ("snekmate ERC-4626", plain)):
        gas = {"deposit": [], "mint": [], "withdraw": [], "redeem": []}
        for who in (seed, user):
            usdc.mint(who, 10**9 * USD, sender=who)
            usdc.approve(vault, 2**256 - 1, sender=who)
        vault.deposit(10_000 * USD, seed, sender=seed)  # warm: a holder is already in
        for amount in AMOUNTS:
            gas["deposit"].append(vault.deposit(amount, user, sender=user).gas_used)
            shares = vault.previewDeposit(amount)
            gas["mint"].append(vault.mint(shares, user, sender=user).gas_used)
            gas["withdraw"].append(vault.withdraw(amount // 2, user, user, sender=user).gas_used)
            gas["redeem"].append(vault.redeem(vault.balanceOf(user) // 3, user, user, sender=user).gas_used)
        rows[name] = {k: int(statistics.median(v)) for k, v in gas.items()}
    return rows


def main():
    rows = on_local_chain(measure)
    ours, peer = rows["Ballast Vault"], rows["snekmate ERC-4626"]
    lines = [
        "| action | Ballast Vault (gas) | snekmate ERC-4626 (gas) | ratio |",
        "|---|---:|---:|---:|",
    ]
    for action in ("deposit", "mint", "withdraw", "redeem"):
        lines.append(f"| {action} | {ours[action]:,} | {peer[action]:,} | {ours[action] / peer[action]:.2f}x |")
    table = "\n".join(lines)
    print(table)
    write_section(
        "Vault gas vs snekmate ERC-4626 (gas_vault.py)",
        "Command: `make bench` (runs `.venv/bin/python benchmarks/gas_vault.py`).\n\n"
        "Median `gasUsed` per transaction (whole transaction: 21,000 base + calldata + execution) "
        f"over amounts {', '.join(f'{a // USD:,}' for a in AMOUNTS)} USDC, on a warm vault "
        "(one holder already in; the measured holder already has a balance after the first "
        "deposit). Same 6-decimal asset, same amounts, same anvil, both compiled in the same run. "
        "Ballast pays for its reentrancy lock, its pause/shutdown/cap checks, tracked-cash "
        "accounting and the fee-on-transfer balance check on deposits.\n\n" + table,
    )


if __name__ == "__main__":
    main()
