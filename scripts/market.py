"""Local market: the real Uniswap V3 contracts from npm, a 6-decimal USD stablecoin,
WETH9 and a Chainlink-style ETH/USD feed, on whatever chain ape is connected to.

    ape run market                      # on ethereum:local:foundry (ape starts anvil)
    from scripts.market import deploy_market   # tests and the demo share this

Deploys WETH9 (`@uniswap/v2-periphery/build/WETH9.json`), the test stablecoin
(`contracts/test/TestToken.vy`, 6 decimals), `UniswapV3Factory`, a 0.05 % pool,
`SwapRouter` and `NonfungiblePositionManager` (`@uniswap/v3-core` and
`@uniswap/v3-periphery` artifacts, bytecode as published), adds concentrated
liquidity around the starting price, grows the pool's observation cardinality so
TWAPs work, and deploys the aggregator (8 decimals by default).

A chain that already has this market (recorded in `.build/market-<chain id>.json`
with code at every address) is reused; a record whose contracts are missing is
refused with a clear message, never half-redeployed on top.
"""

import json
import math
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NPM = ROOT / "node_modules" / "@uniswap"
FEE = 500  # 0.05 %
TICK_SPACING = 10
Q96 = 2**96


@dataclass
class Market:
    weth: object
    usdc: object
    factory: object
    pool: object
    router: object
    positions: object
    feed: object

    def addresses(self) -> dict:
        return {name: getattr(self, name).address for name in self.__dataclass_fields__}


def _artifact(path: Path, name: str):
    from ethpm_types import ContractType

    data = json.loads(path.read_text())
    bytecode = data["bytecode"] if isinstance(data["bytecode"], str) else data["bytecode"]["object"]
    if not bytecode.startswith("0x"):
        bytecode = "0x" + bytecode
    return ContractType.model_validate(
        {"contractName": name, "abi": data["abi"], "deploymentBytecode": {"bytecode": bytecode}}
    )


def _container(relpath: str, name: str):
    from ape.contracts import ContractContainer

    path = NPM / relpath
    if not path.exists():
        raise SystemExit(f"market: {path} is missing; run `make setup` (npm ci) first")
    return ContractContainer(_artifact(path, name))


def sqrt_price_x96(usd_per_eth: float, weth_is_token0: bool) -> int:
    """sqrtPriceX96 of token1/token0 in raw units for WETH (18 dec) vs USDC (6 dec)."""
    num, den = int(round(usd_per_eth * 10**6)), 10**18  # USDC raw per WETH raw
    if not weth_is_token0:
        num, den = den, num
    return math.isqrt(num * 2**192 // den)


def tick_of(sqrt_x96: int) -> int:
    price = (sqrt_x96 / Q96) ** 2
    return math.floor(math.log(price) / math.log(1.0001))


def deploy_market(
    deployer,
    *,
    usd_per_eth: float = 3_000.0,
    liquidity_eth: float = 1_000.0,
    band: float = 0.25,
    feed_decimals: int = 8,
    observations: int = 200,
) -> Market:
    """Deploy the whole local market from `deployer` and return its contracts."""
    from ape import chain, project

    weth = _container("v2-periphery/build/WETH9.json", "WETH9").deploy(sender=deployer)
    usdc = project.TestToken.deploy("USD Coin (test)", "USDC", 6, sender=deployer)
    factory = _container("v3-core/artifacts/contracts/UniswapV3Factory.sol/UniswapV3Factory.json", "UniswapV3Factory").deploy(sender=deployer)
    router = _container("v3-periphery/artifacts/contracts/SwapRouter.sol/SwapRouter.json", "SwapRouter").deploy(factory, weth, sender=deployer)
    positions = _container(
        "v3-periphery/artifacts/contracts/NonfungiblePositionManager.sol/NonfungiblePositionManager.json",
        "NonfungiblePositionManager",
    ).deploy(factory, weth, "0x0000000000000000000000000000000000000000", sender=deployer)

    weth_is_token0 = int(weth.address, 16) < int(usdc.address, 16)
    token0, token1 = (weth, usdc) if weth_is_token0 else (usdc, weth)
    sqrt_x96 = sqrt_price_x96(usd_per_eth, weth_is_token0)
    positions.createAndInitializePoolIfNecessary(token0, token1, FEE, sqrt_x96, sender=deployer)
    pool_address = factory.getPool(token0, token1, FEE)
    pool = _container("v3-core/artifacts/contracts/UniswapV3Pool.sol/UniswapV3Pool.json", "UniswapV3Pool").at(pool_address)
    pool.increaseObservationCardinalityNext(observations, sender=deployer)

    # Concentrated liquidity: +-band around the start price, ticks on the spacing grid.
    t = tick_of(sqrt_x96)
    width = int(math.log(1 + band) / math.log(1.0001))
    lower = (t - width) // TICK_SPACING * TICK_SPACING
    upper = (t + width) // TICK_SPACING * TICK_SPACING + TICK_SPACING
    eth_raw = int(liquidity_eth * 10**18)
    usd_raw = int(liquidity_eth * usd_per_eth * 10**6)
    weth.deposit(value=eth_raw, sender=deployer)
    usdc.mint(deployer, usd_raw, sender=deployer)
    weth.approve(positions, 2**256 - 1, sender=deployer)
    usdc.approve(positions, 2**256 - 1, sender=deployer)
    amount0, amount1 = (eth_raw, usd_raw) if weth_is_token0 else (usd_raw, eth_raw)
    deadline = chain.pending_timestamp + 3_600
    positions.mint(
        (token0, token1, FEE, lower, upper, amount0, amount1, 0, 0, deployer, deadline), sender=deployer
    )

    feed = project.MockAggregator.deploy(feed_decimals, int(usd_per_eth * 10**feed_decimals), "ETH / USD", sender=deployer)
    return Market(weth=weth, usdc=usdc, factory=factory, pool=pool, router=router, positions=positions, feed=feed)


def pool_price(market: Market) -> float:
    """USD per ETH from the pool's current sqrtPriceX96."""
    sqrt_x96 = market.pool.slot0()[0]
    raw = (sqrt_x96 / Q96) ** 2
    weth_is_token0 = market.pool.token0() == market.weth.address
    return raw * 10**12 if weth_is_token0 else 10**12 / raw


def arbitrage_to(market: Market, usd_per_eth: float, trader) -> None:
    """Swap on the pool (as an arbitrageur would) until its price is `usd_per_eth`.

    One `exactInputSingle` with a generous input and `sqrtPriceLimitX96` at the
    target: the pool stops exactly there. The trader is funded with test tokens.
    """
    from ape import chain

    weth_is_token0 = market.pool.token0() == market.weth.address
    target = sqrt_price_x96(usd_per_eth, weth_is_token0)
    current = market.pool.slot0()[0]
    if target == current:
        return
    up = usd_per_eth > pool_price(market)  # ETH must get dearer: buy WETH with USDC
    if up:
        token_in, token_out, amount = market.usdc, market.weth, 10**15  # 1e9 USDC
        market.usdc.mint(trader, amount, sender=trader)
    else:
        token_in, token_out, amount = market.weth, market.usdc, 10**24  # 1e6 WETH
        chain.provider.set_balance(trader.address, amount + 10**21)
        market.weth.deposit(value=amount, sender=trader)
    token_in.approve(market.router, 2**256 - 1, sender=trader)
    market.router.exactInputSingle(
        (token_in, token_out, FEE, trader, chain.pending_timestamp + 60, amount, 0, target), sender=trader
    )


def _record_path(chain_id: int) -> Path:
    from ape import project

    return Path(project.path) / ".build" / f"market-{chain_id}.json"


def main():
    from ape import accounts, chain
    from ape.logging import logger

    logger.set_level("WARNING")
    path = _record_path(chain.chain_id)
    if path.exists():
        record = json.loads(path.read_text())
        missing = [n for n, a in record.items() if not chain.provider.get_code(a)]
        if not missing:
            print(f"market already on chain {chain.chain_id}: reusing {path}")
            for name, address in record.items():
                print(f"  {name:10s} {address}")
            return
        if len(missing) != len(record):
            raise SystemExit(
                f"market: {path} lists contracts with no code on chain {chain.chain_id} ({', '.join(missing)}); "
                "refusing to deploy over a partial market. Delete the file to start a fresh one."
            )
    deployer = accounts.test_accounts[0]
    market = deploy_market(deployer)
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(market.addresses(), indent=2))
    print(f"market deployed on chain {chain.chain_id} (record: {path})")
    for name, address in market.addresses().items():
        print(f"  {name:10s} {address}")
    print(f"pool price {pool_price(market):,.2f} USD per ETH; feed {market.feed.latestAnswer() / 10**8:,.2f}")
