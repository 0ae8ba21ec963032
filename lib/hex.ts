// The hex shapes inputs are checked against, written once: an address (20 bytes), a 32-byte word
// (a hash, a nonce, a private key) and any whole number of bytes (call data), each 0x-prefixed.
// Case is not checked: an address's EIP-55 checksum is viem's getAddress, where it matters.
export const HEX_ADDRESS = /^0x[0-9a-fA-F]{40}$/;
export const HEX_WORD = /^0x[0-9a-fA-F]{64}$/;
export const HEX_BYTES = /^0x(?:[0-9a-fA-F]{2})*$/;
