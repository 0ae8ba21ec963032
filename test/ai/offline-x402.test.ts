import { describe, expect, it } from 'vitest';
import { DEMO, runConversation, runOffline } from './support/offline-harness';

// The offline model's x402 requests: a URL to mint from, in English and Chinese, with or
// without the token, and the follow-ups that complete them.
const URL_ = 'https://mint.example/api/mint';
const x402 = (input: Record<string, unknown>) => [{ toolName: 'createX402Task', input }];

describe('offline model: x402 endpoints', () => {
  it('"mint 20 from <url>" creates an x402 task and replies with host, price, total, network, token, agent, id', async () => {
    const reply = await runOffline([`mint 20 from ${URL_}`]);
    expect(reply.calls).toEqual(x402({ url: URL_, quantity: 20 }));
    expect(reply.text).toContain('Endpoint: mint.example (x402 v2)');
    expect(reply.text).toContain('Unit price: 0.01 USDC/mint');
    expect(reply.text).toContain('Total cost: 0.2 USDC');
    expect(reply.text).toContain('Network and asset: eip155:31337 · USDC 0x5FbD...0aa3');
    expect(reply.text).toMatch(/Token: 0x9fE4\.\.\.a6e0 \(X4D\)/);
    expect(reply.text).toMatch(/Task ID: [0-9a-f-]{36}/);
  });

  it('Chinese: "帮我在 <url> mint 20 次"', async () => {
    const reply = await runOffline([`帮我在 ${URL_} mint 20 次`]);
    expect(reply.calls).toEqual(x402({ url: URL_, quantity: 20 }));
    expect(reply.text).toContain('✅ 任务创建成功！');
    expect(reply.text).toContain('Endpoint: mint.example (x402 v2)');
    expect(reply.text).toContain('总成本: 0.2 USDC');
  });

  it('an address in the URL path is not the token; one outside it is, and a full stop after the URL is the sentence’s', async () => {
    const url = `https://mint.example/api/mint/${DEMO.DMT}`;
    expect((await runOffline([`mint 5 from ${url}.`])).calls).toEqual(x402({ url, quantity: 5 }));
    expect((await runOffline([`mint 5 of ${DEMO.APX} from ${URL_}`])).calls).toEqual(
      x402({ url: URL_, quantity: 5, tokenAddress: DEMO.APX }),
    );
    expect((await runOffline([`从${URL_}铸造三次`])).calls).toEqual(x402({ url: URL_, quantity: 3 }));
  });

  it('asks how many when the quantity is missing, and the next number completes it', async () => {
    const runs = await runConversation([`mint from ${URL_}`, '15']);
    expect(runs[0]!.calls).toEqual([]);
    expect(runs[0]!.text).toBe('How many mints from mint.example? (1–1000)');
    expect(runs[1]!.calls).toEqual(x402({ url: URL_, quantity: 15 }));
    const zh = await runConversation([`从 ${URL_} mint`, '十']);
    expect(zh[0]!.text).toBe('要从 mint.example mint 多少次？（1–1000）');
    expect(zh[1]!.calls).toEqual(x402({ url: URL_, quantity: 10 }));
  });

  it('asks for the token when the endpoint does not name it, and the bare address completes the same request', async () => {
    const url = 'https://unknown-token.example/mint';
    const runs = await runConversation([`mint 4 from ${url}`, DEMO.APX]);
    expect(runs[0]!.text).toContain('Which token does unknown-token.example sell?');
    expect(runs[0]!.text).not.toContain('❌');
    expect(runs[1]!.calls).toEqual(x402({ url, quantity: 4, tokenAddress: DEMO.APX }));
    const zh = await runConversation([`帮我在 ${url} mint 4 次`, DEMO.APX]);
    expect(zh[0]!.text).toContain('unknown-token.example 卖的是哪个代币？');
    expect(zh[1]!.calls).toEqual(x402({ url, quantity: 4, tokenAddress: DEMO.APX }));
  });

  it('a contract request after an endpoint request is not sent to the endpoint', async () => {
    const runs = await runConversation([`mint 4 from ${URL_}`, `mint 5 of ${DEMO.DMT}`, '7']);
    expect(runs[1]!.calls).toEqual([{ toolName: 'createMintTask', input: { tokenAddress: DEMO.DMT, quantity: 5 } }]);
    expect(runs[2]!.calls).toEqual([]);
  });
});
