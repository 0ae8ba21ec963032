// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// An ERC20 sold one mint at a time: the payer pays `pricePerMint` of `paymentToken` and `to`
/// receives `mintAmount`. Each mint needs the mint signer's EIP-712 signature over
/// (payer, to, mintId), and a mintId can be used once, so a replayed mint never mints twice.
contract PaidMintToken is ERC20, EIP712, Ownable, Pausable {
    using SafeERC20 for IERC20;

    bytes32 public constant MINT_TYPEHASH = keccak256("Mint(address payer,address to,bytes32 mintId)");

    IERC20 public immutable paymentToken;
    uint256 public immutable pricePerMint;
    uint256 public immutable mintAmount;
    uint256 public immutable maxMintCount;
    address public mintSigner;
    uint256 public mintCount;
    mapping(bytes32 => bool) public usedMintIds;

    event Minted(address indexed payer, address indexed to, bytes32 indexed mintId, uint256 amount, uint256 price);
    event MintSignerChanged(address indexed mintSigner);

    error MintIdUsed(bytes32 mintId);
    error InvalidMintSignature();
    error MintCapReached(uint256 maxMintCount);

    constructor(
        string memory name_,
        string memory symbol_,
        IERC20 paymentToken_,
        uint256 pricePerMint_,
        uint256 mintAmount_,
        uint256 maxMintCount_,
        address mintSigner_
    ) ERC20(name_, symbol_) EIP712(name_, "1") Ownable(msg.sender) {
        paymentToken = paymentToken_;
        pricePerMint = pricePerMint_;
        mintAmount = mintAmount_;
        maxMintCount = maxMintCount_;
        mintSigner = mintSigner_;
    }

    function mint(address to, bytes32 mintId, uint8 v, bytes32 r, bytes32 s) external whenNotPaused {
        if (usedMintIds[mintId]) revert MintIdUsed(mintId);
        if (mintCount >= maxMintCount) revert MintCapReached(maxMintCount);
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(MINT_TYPEHASH, msg.sender, to, mintId)));
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, v, r, s);
        if (err != ECDSA.RecoverError.NoError || signer != mintSigner) revert InvalidMintSignature();

        usedMintIds[mintId] = true;
        mintCount += 1;
        paymentToken.safeTransferFrom(msg.sender, owner(), pricePerMint);
        _mint(to, mintAmount);
        emit Minted(msg.sender, to, mintId, mintAmount, pricePerMint);
    }

    function remainingMints() external view returns (uint256) {
        return maxMintCount - mintCount;
    }

    function setMintSigner(address mintSigner_) external onlyOwner {
        mintSigner = mintSigner_;
        emit MintSignerChanged(mintSigner_);
    }

    function pause() external onlyOwner {
        _pause();
    }

    function unpause() external onlyOwner {
        _unpause();
    }
}
