// Moved to lib/chain/native-crypto.ts (the local x402 server uses it too). worker/x402/runtime.ts
// still imports it from here while that folder is being rewritten; this file goes once it is not.
export { keccak, nativeAccount, nativeBackend, nativeSigning } from '@/lib/chain/native-crypto';
