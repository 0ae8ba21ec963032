import type { QuoteDto } from '../../tasks/quote';
import type { TaskDto } from '../../tasks/serialize';
import type { WalletView } from '../../wallets/wallet-view';
import {
  formatEth,
  formatUsdc,
  perPaymentLines,
  shortAddress,
  statusLabel,
  taskCreatedReply,
  taskLine,
  type Lang,
} from '../format';
import type { Action } from './plan';
import { askX402Text, X402_ERRORS_ZH } from './x402-replies';

// The offline model's words. Every reply exists in English and Chinese; the facts come from
// tool output only, so the model can never state an address or amount it did not read.

const inLang = (lang: Lang, en: string, zh: string) => (lang === 'zh' ? zh : en);

export function helpText(lang: Lang): string {
  return inLang(
    lang,
    [
      'I mint paid-mint tokens for you in bulk from your own AI agent wallet. Try:',
      '• "mint 100 of 0x…" (token address and quantity, 1–1000)',
      '• "my wallet" — agent address, balances, withdrawable USDC',
      '• "my tasks" — your latest tasks',
      '• "status / cancel / retry <task id>" or "cancel the last task"',
    ].join('\n'),
    [
      '我可以用你自己的 AI Agent 钱包批量 mint 付费代币。可以这样说：',
      '• "帮我 mint 0x… 100 次"（token 地址和数量，1–1000）',
      '• "我的钱包" —— Agent 地址、余额、可提取的 USDC',
      '• "我的任务" —— 最近的任务',
      '• "查询 / 取消 / 重试 <任务ID>"，或"取消最近的任务"',
    ].join('\n'),
  );
}

export function sayText(action: Extract<Action, { kind: 'say' | 'ask' }>, lang: Lang): string {
  if (action.kind === 'ask') {
    if (action.url) return askX402Text({ url: action.url, quantity: action.quantity }, lang);
    if (!action.tokenAddress && action.quantity === undefined) {
      return inLang(
        lang,
        'Which token, and how many mints? For example: "mint 100 of 0x…".',
        '请告诉我 token 地址和 mint 数量，例如："帮我 mint 0x… 100 次"。',
      );
    }
    if (!action.tokenAddress) {
      return inLang(
        lang,
        `Got it: ${action.quantity} mints. Which token? Send me its contract address (0x…).`,
        `好的，${action.quantity} 次。请告诉我 token 地址（0x 开头的合约地址）。`,
      );
    }
    const token = `${shortAddress(action.tokenAddress)}${action.symbol ? ` (${action.symbol})` : ''}`;
    return inLang(lang, `How many mints of ${token}? (1–1000)`, `要 mint 多少次 ${token}？（1–1000）`);
  }
  switch (action.what) {
    case 'transfer':
      return inLang(
        lang,
        'I can’t send or transfer funds anywhere. I only create and manage mint tasks for your own signed-in account; unspent USDC can be withdrawn to your own wallet from the wallet panel.',
        '我不能向任何地址转账或发送资金。我只能为你当前登录的账户创建和管理 mint 任务；未用完的 USDC 可以在钱包面板中提取回你自己的钱包。',
      );
    case 'foreign':
      return inLang(
        lang,
        'I can only act for your own signed-in account: tasks I create are yours and paid from your own agent wallet. Tell me the token address and how many mints.',
        '我只能为你当前登录的账户操作：创建的任务属于你，并由你自己的 Agent 钱包支付。请告诉我 token 地址和 mint 数量。',
      );
    case 'which_task':
      return inLang(
        lang,
        'Which task? Send me its task id, or say "the last task". ("my tasks" lists them.)',
        '哪个任务？请发给我任务ID，或者说"最近的任务"。（说"我的任务"可以查看列表。）',
      );
    case 'thanks':
      return inLang(lang, 'You’re welcome! Anything else to mint?', '不客气！还需要 mint 什么吗？');
    case 'help':
      return helpText(lang);
    default:
      return `${inLang(lang, 'I didn’t catch that.', '我没有理解你的意思。')}\n${helpText(lang)}`;
  }
}

const WALLET_SHORT = /^The agent wallet has (\d+) USDC base units free but this task needs (\d+)/;

const ERRORS_ZH: Array<[RegExp, (m: RegExpMatchArray) => string]> = [
  [/^not found$/, () => '没有找到这个任务（只能查看你自己的任务）。'],
  [/^Quantity must be/, () => '数量必须是 1 到 1000 之间的整数。'],
  [/^The token address must be/, () => 'token 地址格式不对，应为 0x 加 40 个十六进制字符。'],
  [/^There is no contract/, () => '这个地址上没有合约，请检查 token 地址。'],
  [/is not a paid-mint token/, () => '这个合约不是付费 mint 代币（缺少 pricePerMint、mintSigner 等接口）。'],
  [/is paid in .*not in the USDC/, () => '这个代币不是用本服务的 USDC 支付的。'],
  [/^Only (\d+) mints are left/, (m) => `剩余可 mint 数量不足：只剩 ${m[1]} 次。`],
  [
    /^AgentMint does not know the token/,
    () => 'AgentMint 不认识这个代币：只能 mint 由 AgentMint 部署（npm run deploy:token）或运营方登记的代币。',
  ],
  [
    /^A task must cost at least ([\d.]+) USDC; this one would cost ([\d.]+) USDC\.(?: Ask for at least (\d+) mints\.)?/,
    (m) => `任务总价至少为 ${m[1]} USDC，这个任务只有 ${m[2]} USDC。${m[3] ? `请至少 mint ${m[3]} 次。` : ''}`,
  ],
  [/cannot mint this token/, () => 'AgentMint 无法 mint 这个代币：它的铸造签名者不是本服务持有的密钥。'],
  [/^Task is already (\w+)/, (m) => `任务已经是 ${m[1]} 状态，无法取消。`],
  [
    /^Only a failed task can be retried; this one is (\w+)/,
    (m) => `只有失败的任务可以重试；这个任务当前是 ${m[1]} 状态。`,
  ],
  ...X402_ERRORS_ZH,
  [
    WALLET_SHORT,
    (m) =>
      `Agent 钱包可用 ${formatUsdc(m[1]!)} USDC，但这个任务还需要 ${formatUsdc(m[2]!)} USDC 才能完成（可能已被提取）。`,
  ],
];

/** A tool's error in the user's language; our English messages have Chinese counterparts. */
export function errorText(error: string, lang: Lang, toolName: string): string {
  const prefix =
    toolName === 'createMintTask' || toolName === 'createX402Task'
      ? inLang(lang, 'I couldn’t create the task: ', '无法创建任务：')
      : toolName === 'quote'
        ? inLang(lang, 'I couldn’t price that: ', '无法报价：')
        : '';
  if (lang === 'zh') {
    for (const [pattern, zh] of ERRORS_ZH) {
      const match = error.match(pattern);
      if (match) return `❌ ${prefix}${zh(match)}`;
    }
    return `❌ 操作失败：${error}`;
  }
  if (error === 'not found') return '❌ I couldn’t find that task among yours.';
  const short = error.match(WALLET_SHORT);
  if (short)
    return `❌ Your agent wallet has ${formatUsdc(short[1]!)} USDC free but this task needs ${formatUsdc(short[2]!)} USDC to finish (it was probably withdrawn).`;
  return `❌ ${prefix}${error}`;
}

export function noTasksText(lang: Lang): string {
  return inLang(
    lang,
    'You have no tasks yet. Say for example "mint 100 of 0x…".',
    '你还没有任务。可以说："帮我 mint 0x… 100 次"。',
  );
}

export function noFailedTasksText(lang: Lang): string {
  return inLang(lang, 'You have no failed task to retry.', '你没有需要重试的失败任务。');
}

export function taskListText(tasks: TaskDto[], lang: Lang): string {
  if (!tasks.length) return noTasksText(lang);
  const head = inLang(lang, `Your latest ${tasks.length} task(s):`, `你最近的 ${tasks.length} 个任务：`);
  return [head, ...tasks.map((task) => taskLine(task, lang))].join('\n');
}

export function taskStatusText(task: TaskDto, lang: Lang): string {
  const lines = [
    inLang(
      lang,
      `Task ${task.id}: ${statusLabel(task.status, lang)}`,
      `任务 ${task.id}：${statusLabel(task.status, lang)}`,
    ),
    inLang(
      lang,
      `Progress: ${task.mintsCompleted}/${task.quantity} minted${task.mintsFailed ? `, ${task.mintsFailed} failed` : ''}`,
      `进度：${task.mintsCompleted}/${task.quantity}${task.mintsFailed ? `，失败 ${task.mintsFailed}` : ''}`,
    ),
    `Token: ${shortAddress(task.tokenAddress)} · ${inLang(lang, 'total', '总成本')} ${formatUsdc(task.totalCost)} USDC`,
  ];
  if (task.status === 'pending_payment') {
    lines.push(
      inLang(
        lang,
        `Waiting for your one signature to fund ${task.agentAddress}.`,
        `等待你签名一次，向 ${task.agentAddress} 转入 USDC。`,
      ),
    );
  }
  if (task.cancelRequested && task.status === 'processing') {
    lines.push(
      inLang(lang, 'Cancel requested: minting stops after the current batch.', '已请求取消：当前批次完成后停止。'),
    );
  }
  if (task.errorMessage) lines.push(inLang(lang, `Error: ${task.errorMessage}`, `错误：${task.errorMessage}`));
  return lines.join('\n');
}

export function cancelledText(task: TaskDto, lang: Lang): string {
  if (task.status === 'processing') {
    return inLang(
      lang,
      `🛑 Cancel requested for task ${task.id}: minting stops after the current batch.`,
      `🛑 已请求取消任务 ${task.id}：当前批次完成后停止。`,
    );
  }
  return inLang(
    lang,
    `🛑 Task ${task.id} is cancelled. Any unspent USDC stays in your agent wallet and can be withdrawn.`,
    `🛑 任务 ${task.id} 已取消。未用完的 USDC 留在你的 Agent 钱包中，可以提取。`,
  );
}

export function retriedText(task: TaskDto, lang: Lang): string {
  return inLang(
    lang,
    `🔁 Task ${task.id} is queued again (${task.mintsCompleted}/${task.quantity} already minted; those are not repeated).`,
    `🔁 任务 ${task.id} 已重新排队（已完成 ${task.mintsCompleted}/${task.quantity}，不会重复 mint）。`,
  );
}

/** The answer to a price question: what it would cost, and that nothing was created. */
export function quoteText(q: QuoteDto, lang: Lang): string {
  const token = `${q.token.symbol} (${shortAddress(q.token.address)})`;
  const from = q.endpoint ? inLang(lang, ` from ${q.endpoint.host}`, `（来自 ${q.endpoint.host}）`) : '';
  return [
    inLang(
      lang,
      `💰 ${q.quantity} mints of ${token}${from}: ${formatUsdc(q.pricePerMint)} USDC each, ${formatUsdc(q.totalCost)} USDC in total.`,
      `💰 ${token}${from} mint ${q.quantity} 次：每次 ${formatUsdc(q.pricePerMint)} USDC，总计 ${formatUsdc(q.totalCost)} USDC。`,
    ),
    ...perPaymentLines(q.endpoint?.mintsPerPayment, lang),
    inLang(
      lang,
      `No task was created. Say "mint ${q.quantity}" when you want it.`,
      `还没有创建任务。需要时说"mint ${q.quantity} 次"即可。`,
    ),
  ].join('\n');
}

export function walletText(w: WalletView, lang: Lang): string {
  return [
    inLang(lang, `Your AI Agent wallet: ${w.agentAddress}`, `你的 AI Agent 钱包：${w.agentAddress}`),
    `USDC: ${formatUsdc(w.usdcBalance)} · ETH: ${formatEth(w.ethBalance)}`,
    inLang(
      lang,
      `Reserved by running tasks: ${formatUsdc(w.reservedUsdc)} USDC`,
      `运行中任务占用：${formatUsdc(w.reservedUsdc)} USDC`,
    ),
    inLang(lang, `Withdrawable: ${formatUsdc(w.refundableUsdc)} USDC`, `可提取：${formatUsdc(w.refundableUsdc)} USDC`),
  ].join('\n');
}

export { taskCreatedReply };
