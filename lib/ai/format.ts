import { formatUnits } from 'viem';
import type { MintsPerPayment } from '@/db/schema';
import type { TaskDto } from '../tasks/serialize';
import { mintsPerPaymentNote } from '../x402/bulk-pricing';

// Text the chat shows, shared by the offline model's replies and the hosted model's prompt
// examples so both answer in the same shape. Amounts are decimal strings of base units and
// are formatted with integer arithmetic only, never through a float.

export type Lang = 'en' | 'zh';

const CJK = /[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]/;

/** Any CJK character means Chinese; everything else is answered in English. */
export const detectLanguage = (text: string): Lang => (CJK.test(text) ? 'zh' : 'en');

// viem's formatUnits works on the integer's digits (exact, trailing zeros dropped): 100000 → "0.1".
export const formatUsdc = (baseUnits: bigint | string) => formatUnits(BigInt(baseUnits), 6);
export const formatEth = (wei: bigint | string) => formatUnits(BigInt(wei), 18);

/** 0x1234567890abcdef… → 0x1234...5678, the seed's short form. */
export const shortAddress = (address: string) => `${address.slice(0, 6)}...${address.slice(-4)}`;

const STATUS: Record<TaskDto['status'], Record<Lang, string>> = {
  pending_payment: { en: 'awaiting payment', zh: '等待付款' },
  funded: { en: 'funded, queued', zh: '已付款，排队中' },
  processing: { en: 'minting', zh: '铸造中' },
  completed: { en: 'completed', zh: '已完成' },
  failed: { en: 'failed', zh: '失败' },
  cancelled: { en: 'cancelled', zh: '已取消' },
};

export const statusLabel = (status: TaskDto['status'], lang: Lang) => STATUS[status]?.[lang] ?? status;

type CreatedTask = {
  id: string;
  tokenAddress: string;
  quantity: number;
  pricePerMint: string;
  totalCost: string;
  agentAddress: string;
};
type CreatedX402Task = CreatedTask & {
  endpoint: {
    host: string;
    version: number;
    network: string;
    asset: string;
    domain?: { name: string; version: string };
    advertisedDomain?: { name: string; version: string } | null;
    mintsPerPayment?: Omit<MintsPerPayment, 'field'> | null;
  } | null;
};

const CREATED: Record<
  Lang,
  {
    title: string;
    quantity: string;
    mints: string;
    unitPrice: string;
    totalCost: string;
    network: string;
    fund: (total: string) => string;
    address: string;
    taskId: string;
  }
> = {
  en: {
    title: '✅ Task created!',
    quantity: 'Quantity',
    mints: 'mints',
    unitPrice: 'Unit price',
    totalCost: 'Total cost',
    network: 'Network and asset',
    fund: (total) => `Sign once to fund your AI Agent wallet with ${total} USDC:`,
    address: 'Address',
    taskId: 'Task ID',
  },
  zh: {
    title: '✅ 任务创建成功！',
    quantity: '数量',
    mints: '次',
    unitPrice: '单价',
    totalCost: '总成本',
    network: '网络与资产',
    fund: (total) => `请签名一次，转账 ${total} USDC 到你的 AI Agent 钱包:`,
    address: '地址',
    taskId: '任务ID',
  },
};

/** The seed's task layout; an x402 task adds its endpoint above the token and its network below the cost. */
function createdReply(
  task: CreatedTask,
  lang: Lang,
  symbol: string | undefined,
  x402?: { host: string; network: string },
): string {
  const labels = CREATED[lang];
  const total = formatUsdc(task.totalCost);
  return [
    labels.title,
    '',
    ...(x402 ? [`Endpoint: ${x402.host}`] : []),
    `Token: ${shortAddress(task.tokenAddress)}${symbol ? ` (${symbol})` : ''}`,
    `${labels.quantity}: ${task.quantity} ${labels.mints}`,
    `${labels.unitPrice}: ${formatUsdc(task.pricePerMint)} USDC/mint`,
    `${labels.totalCost}: ${total} USDC`,
    ...(x402 ? [`${labels.network}: ${x402.network}`] : []),
    '',
    labels.fund(total),
    `${labels.address}: ${task.agentAddress}`,
    `${labels.taskId}: ${task.id}`,
  ].join('\n');
}

/** The reply after a contract task is created. */
export const taskCreatedReply = (task: CreatedTask, lang: Lang, symbol?: string): string =>
  createdReply(task, lang, symbol);

/** The reply after an x402 task is created: the endpoint's host, protocol version, network and
 * asset too, so the user sees exactly whom the agent will pay. */
export function x402TaskCreatedReply(task: CreatedX402Task, lang: Lang, symbol?: string): string {
  const { endpoint } = task;
  const reply = createdReply(task, lang, symbol, {
    host: endpoint ? `${endpoint.host} (x402 v${endpoint.version})` : '?',
    network: endpoint ? `${endpoint.network} · USDC ${shortAddress(endpoint.asset)}${domainNote(endpoint, lang)}` : '?',
  });
  return [reply, ...perPaymentLines(endpoint?.mintsPerPayment, lang)].join('\n');
}

/** How many mints each payment buys, and why, where the seller's request takes a quantity (lib/x402/bulk-pricing.ts). */
export function perPaymentLines(m: Omit<MintsPerPayment, 'field'> | null | undefined, lang: Lang): string[] {
  if (!m || m.reason === 'no_quantity_field') return [];
  const note = mintsPerPaymentNote(m);
  return note ? [note[lang]] : [];
}

/** When the endpoint's `extra` names another EIP-712 domain than the asset's: which one the payments are signed for. */
function domainNote(endpoint: NonNullable<CreatedX402Task['endpoint']>, lang: Lang): string {
  const { domain, advertisedDomain } = endpoint;
  if (!domain || !advertisedDomain) return '';
  const own = `"${domain.name}" v${domain.version}`;
  const named = `"${advertisedDomain.name}" v${advertisedDomain.version}`;
  return lang === 'zh'
    ? `（按资产自己的 EIP-712 域 ${own} 签名，而不是 endpoint 写的 ${named}）`
    : ` (signed for the asset's own EIP-712 domain ${own}, not ${named} as the endpoint says)`;
}

/** One line per task: short id, status, progress and token. */
export function taskLine(task: TaskDto, lang: Lang): string {
  const progress = `${task.mintsCompleted}/${task.quantity}`;
  const cost = formatUsdc(task.totalCost);
  return lang === 'zh'
    ? `• ${task.id} — ${statusLabel(task.status, lang)}，进度 ${progress}，Token ${shortAddress(task.tokenAddress)}，总成本 ${cost} USDC`
    : `• ${task.id} — ${statusLabel(task.status, lang)}, ${progress} minted, token ${shortAddress(task.tokenAddress)}, total ${cost} USDC`;
}
