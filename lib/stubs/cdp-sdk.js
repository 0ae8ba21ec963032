// Stands in for @coinbase/cdp-sdk, which @base-org/account imports only for server-side
// subscription charges (CdpClient). AgentMint never charges subscriptions; replacing the SDK
// keeps its Solana and x402 dependency tree (optional peers, not installed) out of the bundle.
export class CdpClient {
  constructor() {
    throw new Error('@coinbase/cdp-sdk is not bundled in AgentMint');
  }
}
export default { CdpClient };
