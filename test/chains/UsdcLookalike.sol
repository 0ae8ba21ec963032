// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// A token that shows USDC's EIP-712 domain (name, version, a matching DOMAIN_SEPARATOR) but
/// has no EIP-3009: as a bridged or permit-only "USDC" may. The startup check must refuse it.
contract UsdcLookalike {
    string public constant name = "USD Coin";
    string public constant version = "2";
    uint8 public constant decimals = 6;

    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256(bytes(name)),
                keccak256(bytes(version)),
                block.chainid,
                address(this)
            )
        );
    }

    function balanceOf(address) external pure returns (uint256) {
        return 0;
    }
}
