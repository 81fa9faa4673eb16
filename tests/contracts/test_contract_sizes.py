"""Every deployable contract fits EIP-170 (24,576 bytes of runtime code), as on mainnet."""
import pytest

EIP170 = 24_576
DEPLOYABLE = ["Vault", "OptionBook", "OptionMarket", "Hedger", "RiskGuard"]


@pytest.mark.parametrize("name", DEPLOYABLE)
def test_runtime_code_fits_eip170(project, name):
    code = getattr(project, name).contract_type.runtime_bytecode.bytecode
    size = len(bytes.fromhex(code.removeprefix("0x")))
    assert 0 < size <= EIP170, f"{name} runtime code is {size} bytes"


def test_deployed_code_matches(project, owner, usdc, oracle, keeper, guardian, chain):
    vault = project.Vault.deploy(usdc, "v", "v", keeper, guardian, 0, sender=owner)
    book = project.OptionBook.deploy(vault, oracle, sender=owner)
    for c in (vault, book):
        assert 0 < len(chain.provider.get_code(c.address)) <= EIP170
