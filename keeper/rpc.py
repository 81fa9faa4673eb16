"""JSON-RPC batching for the readers: eth_calls pinned to one block, reverts as values.

`Batch` collects calls and sends them to the node as one JSON-RPC batch (one
round trip however many calls), every call pinned to the same block, so a
reading is consistent even while blocks arrive. A call that reverts gives its
revert reason as a value, not an exception with a printed trace.

Contract handles come from the ABIs packaged in `keeper/abi` (`contract_at`),
never from an ape project's manifest, so the readers work with only the
`keeper` package installed. Needs ape, and a network connection, at call time
only: importing this module imports no chain library.
"""
from __future__ import annotations

import functools

from keeper.abi import load_abi

__all__ = ["Batch", "eth_call", "contract_at", "has_view"]


@functools.cache
def _contract_type(name: str):
    from ethpm_types import ContractType

    return ContractType.model_validate({"contractName": name, "abi": load_abi(name)})


def contract_at(name: str, address: str):
    """An ape `ContractInstance` at `address` with the packaged ABI `name`
    (one of `keeper.abi.NAMES`). Builds no connection and checks no code."""
    from ape.contracts import ContractInstance

    return ContractInstance(address, _contract_type(name))


def has_view(contract, method: str) -> bool:
    """Whether the contract's ABI has a view `method` taking no argument (a
    getter that may not exist yet on every deployment)."""
    return any(abi.name == method and not abi.inputs for abi in contract.contract_type.view_methods)


class Batch:
    """eth_calls pinned to one block (a number, or "latest"), sent as one JSON-RPC batch.

    `add` returns the call's index; `run` returns, per call, (decoded output,
    None) or (None, reason): the revert reason, or why the reply could not be
    decoded (no contract at the address returns no data). A node that refuses
    the whole batch raises `ConnectionError`.
    """

    def __init__(self, block: int | str = "latest"):
        self.block = block if isinstance(block, str) else hex(block)
        self.calls: list[tuple[object, dict]] = []

    def __len__(self) -> int:
        return len(self.calls)

    def add(self, contract, method: str, *args, sender=None) -> int:
        from eth_utils import to_hex

        handler = getattr(contract, method)
        # The overload with this many arguments decodes the reply (Vyper's
        # default arguments compile to one ABI entry per arity).
        abi = next((a for a in handler.abis if len(a.inputs) == len(args)), handler.abis[0])
        tx = {"to": contract.address, "data": to_hex(handler.encode_input(*args))}
        if sender is not None:
            tx["from"] = getattr(sender, "address", sender)
        self.calls.append((abi, tx))
        return len(self.calls) - 1

    def run(self) -> list[tuple[object, str | None]]:
        from ape import chain
        from hexbytes import HexBytes

        if not self.calls:
            return []
        ecosystem = chain.provider.network.ecosystem
        replies = chain.provider.web3.provider.make_batch_request(
            [("eth_call", [tx, self.block]) for _, tx in self.calls]
        )
        if isinstance(replies, dict):  # the node refused the whole batch
            raise ConnectionError(replies.get("error", {}).get("message", "batch request failed"))
        out = []
        for (abi, tx), reply in zip(self.calls, replies):
            if "error" in reply:
                out.append((None, str(reply["error"].get("message", "")).removeprefix("execution reverted: ")))
                continue
            data = HexBytes(reply["result"])
            if abi.outputs and not data:
                out.append((None, f"no return data from {tx['to']} (no contract there?)"))
                continue
            values = ecosystem.decode_returndata(abi, data)
            out.append((values[0] if len(values) == 1 else tuple(values), None))
        return out


def eth_call(contract, method: str, *args, sender=None, block: int | str = "latest") -> tuple[object, str | None]:
    """One eth_call: (decoded output, None) or (None, revert reason)."""
    batch = Batch(block)
    batch.add(contract, method, *args, sender=sender)
    return batch.run()[0]
