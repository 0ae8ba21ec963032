import { formatUnits } from 'viem';
import type { TaskDto } from '../tasks/serialize';

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

type CreatedTask = { id: string; tokenAddress: string; quantity: number; pricePerMint: string; totalCost: string; agentAddress: string };

/** The reply after a task is created, in the seed's layout. */
export function taskCreatedReply(task: CreatedTask, lang: Lang, symbol?: string): string {
  const token = `${shortAddress(task.tokenAddress)}${symbol ? ` (${symbol})` : ''}`;
  const unit = formatUsdc(task.pricePerMint);
  const total = formatUsdc(task.totalCost);
  if (lang === 'zh') {
    return [
      '✅ 任务创建成功！',
      '',
      `Token: ${token}`,
      `数量: ${task.quantity} 次`,
      `单价: ${unit} USDC/mint`,
      `总成本: ${total} USDC`,
      '',
      `请签名一次，转账 ${total} USDC 到你的 AI Agent 钱包:`,
      `地址: ${task.agentAddress}`,
      `任务ID: ${task.id}`,
    ].join('\n');
  }
  return [
    '✅ Task created!',
    '',
    `Token: ${token}`,
    `Quantity: ${task.quantity} mints`,
    `Unit price: ${unit} USDC/mint`,
    `Total cost: ${total} USDC`,
    '',
    `Sign once to fund your AI Agent wallet with ${total} USDC:`,
    `Address: ${task.agentAddress}`,
    `Task ID: ${task.id}`,
  ].join('\n');
}

/** One line per task: short id, status, progress and token. */
export function taskLine(task: TaskDto, lang: Lang): string {
  const progress = `${task.mintsCompleted}/${task.quantity}`;
  const cost = formatUsdc(task.totalCost);
  return lang === 'zh'
    ? `• ${task.id} — ${statusLabel(task.status, lang)}，进度 ${progress}，Token ${shortAddress(task.tokenAddress)}，总成本 ${cost} USDC`
    : `• ${task.id} — ${statusLabel(task.status, lang)}, ${progress} minted, token ${shortAddress(task.tokenAddress)}, total ${cost} USDC`;
}
