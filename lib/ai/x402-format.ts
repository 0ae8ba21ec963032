import { formatUsdc, shortAddress, type Lang } from './format';

// The reply after an x402 task is created: the seed's task layout plus the endpoint's host,
// protocol version, network and asset, so the user sees exactly whom the agent will pay.

type CreatedX402Task = {
  id: string;
  tokenAddress: string;
  quantity: number;
  pricePerMint: string;
  totalCost: string;
  agentAddress: string;
  endpoint: { host: string; version: number; network: string; asset: string } | null;
};

export function x402TaskCreatedReply(task: CreatedX402Task, lang: Lang, symbol?: string): string {
  const token = `${shortAddress(task.tokenAddress)}${symbol ? ` (${symbol})` : ''}`;
  const unit = formatUsdc(task.pricePerMint);
  const total = formatUsdc(task.totalCost);
  const endpoint = task.endpoint;
  const host = endpoint ? `${endpoint.host} (x402 v${endpoint.version})` : '?';
  const network = endpoint ? `${endpoint.network} · USDC ${shortAddress(endpoint.asset)}` : '?';
  if (lang === 'zh') {
    return [
      '✅ 任务创建成功！',
      '',
      `Endpoint: ${host}`,
      `Token: ${token}`,
      `数量: ${task.quantity} 次`,
      `单价: ${unit} USDC/mint`,
      `总成本: ${total} USDC`,
      `网络与资产: ${network}`,
      '',
      `请签名一次，转账 ${total} USDC 到你的 AI Agent 钱包:`,
      `地址: ${task.agentAddress}`,
      `任务ID: ${task.id}`,
    ].join('\n');
  }
  return [
    '✅ Task created!',
    '',
    `Endpoint: ${host}`,
    `Token: ${token}`,
    `Quantity: ${task.quantity} mints`,
    `Unit price: ${unit} USDC/mint`,
    `Total cost: ${total} USDC`,
    `Network and asset: ${network}`,
    '',
    `Sign once to fund your AI Agent wallet with ${total} USDC:`,
    `Address: ${task.agentAddress}`,
    `Task ID: ${task.id}`,
  ].join('\n');
}
