// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC7821} from "@openzeppelin/contracts/account/extensions/draft-ERC7821.sol";
import {Account} from "@openzeppelin/contracts/account/Account.sol";
import {ERC7579Utils, Mode, CallType, ExecType, ModeSelector} from "@openzeppelin/contracts/account/utils/draft-ERC7579Utils.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";

/**
 * The code an AgentMint agent wallet delegates to (EIP-7702), so one transaction carries a whole
 * batch `[approve, mint × N]` with `msg.sender` = the agent for every call.
 *
 * - Only the delegating account itself may execute (OZ's default `_erc7821AuthorizedExecutor`:
 *   caller == address(this)), i.e. a transaction the agent's own key signed to its own address.
 * - Besides ERC-7821's revert-all batch mode (`0x01` ‖ 31 zero bytes) it accepts the try mode
 *   (`0x0101` ‖ 30 zero bytes): a failing call does not sink the batch, it emits
 *   `ERC7579TryExecuteFail(index, returndata)` and the others still run. The worker uses it so a
 *   used mintId or a bad signature costs that one mint, not the nine beside it.
 * - `receive()`: the operator's gas top-ups are plain ETH transfers to the agent.
 * - ERC-1271 `isValidSignature`: once delegated the agent has code, and USDC's EIP-3009
 *   (OpenZeppelin's and Circle's SignatureChecker) and x402 facilitators then ask the account
 *   instead of recovering the signer. It answers exactly as for the EOA it is: valid when the
 *   agent's own key signed the hash. Without it a delegated agent could no longer pay an x402
 *   endpoint or cancel an authorization (found running an x402 task after a batched one).
 * No storage, no modules, no opData: nothing to initialise, nothing another caller can reach.
 */
contract AgentBatchExecutor is ERC7821, IERC1271 {
    using ERC7579Utils for *;

    receive() external payable {}

    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecoverCalldata(hash, signature);
        return err == ECDSA.RecoverError.NoError && recovered == address(this) ? IERC1271.isValidSignature.selector : bytes4(0xffffffff);
    }

    function execute(bytes32 mode, bytes calldata executionData) public payable override {
        if (!_erc7821AuthorizedExecutor(msg.sender, mode, executionData)) revert Account.AccountUnauthorized(msg.sender);
        if (!supportsExecutionMode(mode)) revert UnsupportedExecutionMode();
        (, ExecType execType, , ) = Mode.wrap(mode).decodeMode();
        executionData.execBatch(execType);
    }

    function supportsExecutionMode(bytes32 mode) public pure override returns (bool) {
        (CallType callType, ExecType execType, ModeSelector modeSelector, ) = Mode.wrap(mode).decodeMode();
        return
            callType == ERC7579Utils.CALLTYPE_BATCH &&
            (execType == ERC7579Utils.EXECTYPE_DEFAULT || execType == ERC7579Utils.EXECTYPE_TRY) &&
            modeSelector == ModeSelector.wrap(0x00000000);
    }
}
