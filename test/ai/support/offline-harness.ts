import { generateText, stepCountIs, type ModelMessage, type ToolSet } from 'ai';
import { OfflineChatModel } from '@/lib/ai/offline-model';
import { buildChatTools } from '@/lib/ai/tools';
import type { TaskDto } from '@/lib/tasks/serialize';

// Runs the offline model through generateText with the real tool definitions (names, input
// schemas) and stubbed execution, so tests see exactly the tool calls a route would run.

export const DEMO = {
  DMT: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
  APX: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
} as const;
export const TOKENS = [
  { address: DEMO.DMT, name: 'Demo Mint Token', symbol: 'DMT' },
  { address: DEMO.APX, name: 'Agent Pixel', symbol: 'APX' },
];
export const LAST_TASK_ID = '11111111-2222-4333-8444-555555555555';
const USER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as const;
const AGENT = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';

export type Expected = { tool: null } | { tool: string; args: Record<string, unknown> };
export type Call = { toolName: string; input: Record<string, unknown> };

export function fakeTask(over: Partial<TaskDto> = {}): TaskDto {
  return {
    id: LAST_TASK_ID,
    status: 'pending_payment',
    userAddress: USER,
    tokenAddress: DEMO.DMT,
    route: 'contract',
    endpoint: null,
    chainId: 31337,
    quantity: 100,
    pricePerMint: '100000',
    totalCost: '10000000',
    mintsCompleted: 0,
    mintsFailed: 0,
    agentAddress: AGENT,
    priority: 0,
    fundingTxHash: null,
    refund: null,
    errorMessage: null,
    cancelRequested: false,
    createdAt: new Date(0).toISOString(),
    fundedAt: null,
    startedAt: null,
    completedAt: null,
    ...over,
  };
}

function stub(name: string, input: Record<string, unknown>): unknown {
  switch (name) {
    case 'createMintTask': {
      const quantity = Number(input.quantity);
      return {
        task: fakeTask({
          tokenAddress: String(input.tokenAddress) as `0x${string}`,
          quantity,
          totalCost: String(100000 * quantity),
        }),
        token: { symbol: 'DMT' },
      };
    }
    case 'createX402Task': {
      const quantity = Number(input.quantity);
      if (!input.tokenAddress && String(input.url).includes('unknown-token'))
        return {
          error: `Which token does ${new URL(String(input.url)).host} sell? Its payment terms do not say; send me the token's contract address (0x…).`,
        };
      const endpoint = {
        host: new URL(String(input.url)).host,
        version: 2 as const,
        network: 'eip155:31337',
        asset: '0x5FbDB2315678afecb367f032d93F642f64180aa3' as const,
        payTo: DEMO.APX,
        mintsToUser: true,
        domain: { name: 'USD Coin', version: '2' },
        advertisedDomain: null,
        mintsPerPayment: null,
      };
      return {
        task: fakeTask({
          route: 'x402',
          endpoint,
          tokenAddress: String(input.tokenAddress ?? DEMO.APX) as `0x${string}`,
          quantity,
          pricePerMint: '10000',
          totalCost: String(10000 * quantity),
        }),
        token: { symbol: 'X4D' },
      };
    }
    case 'quote': {
      const quantity = Number(input.quantity);
      const address = String(input.tokenAddress ?? DEMO.APX);
      return {
        quote: {
          route: input.url ? 'x402' : 'contract',
          token: { address, name: 'Demo Mint Token', symbol: 'DMT' },
          quantity,
          pricePerMint: '100000',
          totalCost: String(100000 * quantity),
          pricePerMintUsdc: '0.1',
          totalCostUsdc: String(quantity / 10),
        },
      };
    }
    case 'listTasks':
      return { tasks: [fakeTask({ status: 'failed' })] };
    case 'getAgentWallet':
      return {
        wallet: {
          userAddress: USER,
          agentAddress: AGENT,
          usdcBalance: '1500000',
          ethBalance: '10000000000000000',
          reservedUsdc: '0',
          refundableUsdc: '1500000',
        },
      };
    default:
      return {
        task: fakeTask({
          id: String(input.taskId),
          status: name === 'cancelTask' ? 'cancelled' : name === 'retryTask' ? 'funded' : 'processing',
        }),
      };
  }
}

function stubbedTools(): ToolSet {
  const real = buildChatTools({ userAddress: USER });
  return Object.fromEntries(
    Object.entries(real).map(([name, t]) => [
      name,
      { ...t, execute: async (input: Record<string, unknown>) => stub(name, input) },
    ]),
  ) as ToolSet;
}

export type TurnResult = { calls: Call[]; text: string };

/** Each string is one user turn; the model's own replies are kept between turns, as in a chat. */
export async function runConversation(turns: string[]): Promise<TurnResult[]> {
  const model = new OfflineChatModel(() => TOKENS);
  const tools = stubbedTools();
  const messages: ModelMessage[] = [];
  const results: TurnResult[] = [];
  for (const turn of turns) {
    messages.push({ role: 'user', content: turn });
    const result = await generateText({ model, messages, tools, stopWhen: stepCountIs(4) });
    messages.push(...result.response.messages);
    results.push({
      calls: result.steps
        .flatMap((step) => step.toolCalls)
        .map((c) => ({ toolName: c.toolName, input: c.input as Record<string, unknown> })),
      text: result.text,
    });
  }
  return results;
}

export async function runOffline(turns: string[]): Promise<TurnResult> {
  return (await runConversation(turns)).at(-1)!;
}

const same = (a: unknown, b: unknown) =>
  typeof a === 'string' && typeof b === 'string' ? a.toLowerCase() === b.toLowerCase() : a === b;

/** The turn's last tool call is the expected one (extra keys allowed), or there was none. */
export function matches(calls: Call[], expected: Expected): boolean {
  if (expected.tool === null) return calls.length === 0;
  const last = calls.at(-1);
  if (!last || last.toolName !== expected.tool) return false;
  return Object.entries(expected.args).every(([k, v]) => same(last.input[k], v));
}
