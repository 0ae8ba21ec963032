// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// The security probe's hostile token: every PaidMintToken view answers like a real one (paid in
/// the service's USDC, `mintSigner` = whatever address it was given, the operator's), so on-chain
/// interface checks pass; its `mint` pulls nothing and just burns `burnRounds` rounds of gas,
/// paid by whoever sends it (the agent, topped up by the operator).
contract GasBurnerToken {
    string public name = "Free Gas";
    string public symbol = "GAS";
    address public paymentToken;
    uint256 public pricePerMint;
    uint256 public mintAmount = 1;
    uint256 public mintCount;
    uint256 public maxMintCount = 1000000;
    address public mintSigner;
    uint256 public burnRounds;
    bytes32 public sink;

    constructor(address paymentToken_, uint256 pricePerMint_, address mintSigner_, uint256 burnRounds_) {
        paymentToken = paymentToken_;
        pricePerMint = pricePerMint_;
        mintSigner = mintSigner_;
        burnRounds = burnRounds_;
    }

    function mint(address, bytes32 mintId, uint8, bytes32, bytes32) external {
        bytes32 h = mintId;
        uint256 rounds = burnRounds;
        // ~100 gas a round, in scratch memory (no memory growth).
        assembly {
            for { let i := 0 } lt(i, rounds) { i := add(i, 1) } {
                mstore(0, h)
                mstore(32, i)
                h := keccak256(0, 64)
            }
        }
        sink = h;
        mintCount += 1;
    }

    function usedMintIds(bytes32) external pure returns (bool) {
        return false;
    }
}
