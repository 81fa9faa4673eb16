"""Gas of option sales and settlement.

`buy` (premium pull into the vault, book sale record, full limit check: stress
grid over all live series, net vega and gamma, NAV through the vault) and
`settle` + `claim`, with 1 and 16 live series, as whole-transaction `gasUsed`
(21,000 base included).

    .venv/bin/python benchmarks/gas_book.py      (or: make bench)
"""
from _chain import on_local_chain, write_section

WAD = 10**18
USD = 10**6
DAY = 86_400


def measure(project, actors):
    from ape import chain

    owner, keeper, guardian, depositor, buyer = actors[:5]
    usdc = project.TestToken.deploy("USD Coin (test)", "USDC", 6, sender=owner)
    rows = {}
    for n in (1, 16):
        feed = project.MockAggregator.deploy(8, 3_000 * 10**8, "ETH / USD", sender=owner)
        vault = project.Vault.deploy(usdc, "v", "v", keeper, guardian, 10**9 * USD, sender=owner)
        book = project.OptionBook.deploy(vault, feed, sender=owner)
        market = project.OptionMarket.deploy(vault, book, feed, sender=owner)
        vault.set_option_book(book, sender=owner)
        vault.set_option_market(market, sender=owner)
        book.set_market(market, sender=owner)
        for who in (depositor, buyer):
            usdc.mint(who, 10**7 * USD, sender=who)
            usdc.approve(vault, 2**256 - 1, sender=who)
        vault.deposit(5 * 10**6 * USD, sender=depositor)
        expiry = chain.pending_timestamp + 7 * DAY
        sids = [book.create_series((2_600 + 50 * i) * WAD, expiry, i % 2 == 0, 6 * 10**17, sender=keeper).return_value for i in range(n)]
        for sid in sids[:-1]:
            market.buy(sid, WAD, 10**15, chain.pending_timestamp + 60, sender=buyer)
        buy = market.buy(sids[-1], WAD, 10**15, chain.pending_timestamp + 60, sender=buyer).gas_used
        withdraw = vault.withdraw(1_000 * USD, sender=depositor).gas_used
        chain.pending_timestamp = expiry + 1
        feed.set_answer(3_100 * 10**8, sender=owner)
        settle = market.settle(sids[-1], feed.latest_round(), sender=buyer).gas_used
        claim = market.claim(sids[-1], sender=buyer).gas_used
        rows[n] = (buy, withdraw, settle, claim)
    return rows


def main():
    rows = on_local_chain(measure)
    lines = ["| live series | buy | vault withdraw | settle | claim |", "|---:|---:|---:|---:|---:|"]
    for n, (buy, withdraw, settle, claim) in rows.items():
        lines.append(f"| {n} | {buy:,} | {withdraw:,} | {settle:,} | {claim:,} |")
    table = "\n".join(lines)
    print(table)
    write_section(
        "Option sales and settlement gas (gas_book.py)",
        "Command: `make bench` (runs `.venv/bin/python benchmarks/gas_book.py`).\n\n"
        "Whole-transaction `gasUsed` (21,000 base included). `buy` is the last sale into a book "
        "with that many live series, each with open interest, so the limit check walks all of "
        "them (13-point stress grid, net vega and gamma, NAV via the vault). `vault withdraw` is a "
        "depositor's 1,000 USDC withdrawal with that book open (NAV, liability and stress margin each "
        "evaluated once). `settle` is an "
        "in-the-money series with the first oracle round after expiry; `claim` pays its holder.\n\n"
        + table,
    )


if __name__ == "__main__":
    main()
