import { bazaarResourceServerExtension, declareDiscoveryExtension } from '@x402/extensions/bazaar';
import { getAddress } from 'viem';
import { getKnownContracts } from '../chain/clients';
import { getUsdcDomain } from '../chain/usdc';
import { MAX_QUANTITY, MIN_QUANTITY } from '../tasks/create-task';
import { MAX_TIMEOUT_SECONDS, mintResourceUrl, saleNetwork, saleNetworkV1, soldTaskUrl } from './resource';

// How an agent finds out what POST /api/x402/mint takes and answers, without reading our docs:
// the Bazaar discovery extension (@x402/extensions) in every 402, and /.well-known/x402 listing
// the resource with the same schemas.

const address = (description: string) => ({
  type: 'string',
  pattern: '^0x[0-9a-fA-F]{40}$',
  description,
});

export const SALE_INPUT_SCHEMA = {
  properties: {
    token: address(
      'The PaidMintToken to mint: a token AgentMint knows (deployed with it or listed by its operator; GET /api/config lists the demo tokens). With `url`: the token that endpoint sells, if its terms do not say.',
    ),
    url: {
      type: 'string',
      pattern: '^https?://',
      description: 'Instead of a token: an x402 mint endpoint AgentMint buys from, one paid request per mint.',
    },
    quantity: { type: 'integer', minimum: MIN_QUANTITY, maximum: MAX_QUANTITY, description: 'How many mints.' },
    payer: address(
      'The wallet that signs the payment. It owns the task: the payment goes to its own AgentMint agent wallet (the 402 names it as payTo), which runs the mints; the tokens go to `recipient`, or to it.',
    ),
    recipient: address(
      'Where the tokens go (default: the payer), kept by the task. With `token`, each mint goes straight to it. With `url`, the endpoint mints to it where it takes a recipient, else the payer’s agent wallet receives the tokens and forwards them to it. Without `payer`, it names the payer.',
    ),
  },
  required: ['quantity'],
  allOf: [
    { anyOf: [{ required: ['token'] }, { required: ['url'] }] },
    { anyOf: [{ required: ['payer'] }, { required: ['recipient'] }] },
  ],
} as const;

const EXAMPLE_TASK_ID = '9b2f6c1e-4f8a-4d3b-9a57-0c6e2d1f8a10';

const OUTPUT_SCHEMA = {
  properties: {
    task: {
      type: 'object',
      description: 'The task (amounts in USDC base units as decimal strings).',
      properties: {
        id: { type: 'string' },
        status: { type: 'string', enum: ['funded', 'processing', 'completed', 'failed', 'cancelled'] },
        userAddress: { type: 'string' },
        agentAddress: { type: 'string' },
        quantity: { type: 'integer' },
        totalCost: { type: 'string' },
        fundingTxHash: { type: 'string' },
      },
      required: ['id', 'status'],
    },
    taskToken: {
      type: ['string', 'null'],
      description:
        'Bearer token for statusUrl (GET) and cancelUrl (POST). A repeated payment gets it only with the same payment-identifier: once settled, the payment is public on chain.',
    },
    statusUrl: { type: 'string' },
    cancelUrl: { type: 'string' },
    payment: {
      type: 'object',
      properties: { txHash: { type: 'string' }, network: { type: 'string' }, payer: { type: 'string' } },
    },
  },
  required: ['task', 'taskToken', 'statusUrl', 'cancelUrl', 'payment'],
};

function outputExample() {
  const statusUrl = soldTaskUrl(EXAMPLE_TASK_ID);
  return {
    task: {
      id: EXAMPLE_TASK_ID,
      status: 'funded',
      userAddress: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      agentAddress: '0x1cBd3b2770909D4e10f157cABC84C7264073C9Ec',
      quantity: 10,
      totalCost: '1000000',
      fundingTxHash: `0x${'ab'.repeat(32)}`,
    },
    taskToken: 'amt_…',
    statusUrl,
    cancelUrl: `${statusUrl}/cancel`,
    payment: {
      txHash: `0x${'ab'.repeat(32)}`,
      network: saleNetwork(),
      payer: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    },
  };
}

const INPUT_EXAMPLE = {
  token: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
  quantity: 10,
  payer: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
};

/** The `bazaar` extension of the 402: a POST with a JSON body, its input and output schemas. */
export function bazaarDeclaration(): Record<string, unknown> {
  const { bazaar } = declareDiscoveryExtension({
    bodyType: 'json',
    input: INPUT_EXAMPLE,
    inputSchema: SALE_INPUT_SCHEMA,
    output: { example: outputExample(), schema: OUTPUT_SCHEMA },
  });
  // What the library's resource-server hook adds for an HTTP request: the method, in info and schema.
  const enriched = bazaarResourceServerExtension.enrichDeclaration!(bazaar, {
    method: 'POST',
    adapter: { getPath: () => new URL(mintResourceUrl()).pathname },
  });
  return { bazaar: enriched };
}

/** v1 has no extensions: a v1 requirement describes its endpoint in `outputSchema`. */
export function v1OutputSchema() {
  return {
    input: {
      type: 'http',
      method: 'POST',
      bodyType: 'json',
      discoverable: true,
      bodyFields: SALE_INPUT_SCHEMA.properties,
    },
    output: OUTPUT_SCHEMA,
  };
}

/**
 * /.well-known/x402: the resources this server sells (the x402 discovery document: version and
 * resource URLs), each with what the Bazaar catalogs. The price and payTo depend on the request
 * (quantity × the token's price, the payer's own agent wallet), so the offer names the rest.
 */
export async function discoveryDocument() {
  const { name, version } = await getUsdcDomain();
  const resource = mintResourceUrl();
  return {
    version: 1,
    resources: [resource],
    instructions:
      'POST a JSON body {token | url, quantity, payer} to the resource. It answers 402 with one `exact` (EIP-3009) requirement for the whole task in USDC, payable to the payer’s own AgentMint agent wallet; pay it with any x402 client (PAYMENT-SIGNATURE, or X-PAYMENT for v1). The paid request creates and funds the task and answers with it, a status URL and a task token. Send a payment-identifier to make retries safe.',
    items: [
      {
        resource,
        type: 'http',
        x402Version: 2,
        method: 'POST',
        description: 'Buy a mint task: AgentMint mints N of a paid-mint token for you, paid with one x402 payment.',
        mimeType: 'application/json',
        serviceName: 'AgentMint',
        accepts: [
          {
            scheme: 'exact',
            network: saleNetwork(),
            v1Network: saleNetworkV1(),
            asset: getAddress(getKnownContracts().usdc),
            amount: 'quantity × the token’s price per mint (USDC base units)',
            payTo: 'the payer’s AgentMint agent wallet',
            maxTimeoutSeconds: MAX_TIMEOUT_SECONDS,
            extra: { name, version },
          },
        ],
        extensions: { ...bazaarDeclaration(), 'payment-identifier': { info: { required: false } } },
      },
    ],
  };
}
