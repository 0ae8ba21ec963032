import { detectLanguage, type Lang } from '../format';
import type { TaskStatus } from '@/db/schema';
import { extractQuantity } from './numbers';

// Reads one user message: what it asks for, and the slots it fills. Keyword rules, English and
// Chinese; the order of the checks below is the precedence when several match.

export type KnownToken = { address: string; name: string; symbol: string };

export type Intent =
  | 'mint'
  | 'quote'
  | 'wallet'
  | 'list'
  | 'status'
  | 'cancel'
  | 'retry'
  | 'help'
  | 'transfer'
  | 'foreign'
  | 'fragment'
  | 'which_task'
  | 'thanks'
  | 'unknown';

export type Utterance = {
  intent: Intent;
  /** The message's language, or undefined when it is only an address or a number. */
  lang?: Lang;
  tokenAddress?: string;
  symbol?: string;
  quantity?: number;
  /** An http(s) URL in the message: an x402 mint endpoint to buy from. */
  url?: string;
  taskId?: string;
  /** "the last task", "最近的任务": the op applies to the newest task. */
  lastTask: boolean;
  /** A list filter: "failed tasks", "已完成的任务". */
  status?: TaskStatus;
};

// A URL ends at whitespace, CJK text or full-width punctuation; trailing ASCII punctuation is the sentence's.
const URL_RE = /https?:\/\/[^\s<>"'`\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+/i;
const ADDRESS = /0x[0-9a-fA-F]{40}(?![0-9a-fA-F])/g;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

const MINT =
  /\b(mint|mints|minting|buy|purchase|queue up|get me|order|grab)\b|\bcreate (?:a |an |new )?(?:mint )?(?:task|job)\b|铸造|铸币|铸|买|购买|抢|新建任务|创建任务|建个任务/i;
const TRANSFER =
  /\b(send|transfer|withdraw|pay out|drain|move)\b[^.?!]*\b(usdc|eth|funds?|money|balance|all|everything|to\s+0x)|转账|转给|转到|转走|发送|提现|打款|转出|汇给/i;
const FOREIGN =
  /(on behalf of|\bfor (?:user|address|account|wallet|my friend|someone else|another user)|\btask for)\s*:?\s*0x[0-9a-f]{40}|(替|为|帮)\s*(用户|地址|账户|账号|钱包|朋友|别人|他人)\s*0x[0-9a-f]{40}|(给|为)\s*(别人|他人|其他用户)/i;
const WALLET =
  /\b(wallet|balance|balances|funds|how much (?:usdc|eth|money)|agent address|my address|deposit address|refundable)\b|钱包|余额|多少\s*(?:usdc|eth|钱)|代理地址|充值地址|agent\s*地址|资金|\brefund\b|退款|退钱/i;
const LIST =
  /\b(tasks|jobs|orders|history|list|my (?:task|job|order)s?)\b|任务列表|我的任务|所有任务|全部任务|任务记录|历史任务|任务清单|哪些任务|最近的任务|列出|列一下|都列/i;
const CANCEL = /\b(cancel|stop|abort|halt|kill|terminate)\b|取消|停止|停掉|终止|中止|撤销|不要了|别(?:跑|铸)了/i;
const RETRY =
  /\b(retry|rerun|re-run|restart|resume|try (?:it )?again|run (?:it )?again)\b|重试|重新|再试|再跑|再来一次|重跑|重启/i;
const STATUS =
  /\b(status|progress|state|how is|how's|check|show|details?|look up|where is|done yet|finished)\b|状态|进度|怎么样|详情|查|看看|如何了|好了吗|完成了吗|情况/i;
const LAST = /\b(last|latest|recent|most recent|previous|newest|current|that)\b|最近|上一个|上个|最新|刚才|刚刚|最后/i;
const SINGLE_LAST =
  /\b(last|latest|most recent|previous|newest) (?:mint )?(task|job|order|mint)\b(?!s)|上一个|上个|最后一个|最新的|刚才|刚刚/i;
const HELP =
  /\b(help|what can you do|how (?:does|do) (?:this|it|you) work|commands|usage|what do you do|who are you)\b|帮助|能做什么|怎么用|怎么使用|如何使用|如何用|使用方法|教程|功能|你是谁|使用说明/i;
const THANKS = /^\s*(thanks?( you)?|thx|ty|ok(ay)?|cool|great|谢谢|多谢|感谢|好的|好)\s*[!.。！]*\s*$/i;
const PROGRESS = /\b(how (?:are|is)|going|doing|progress|status)\b/i;
const FUNDING = /\b(where|how)\b.*\b(send|deposit|fund|top up|pay)\b|往哪|怎么充值|如何充值|怎么付款|充值地址/i;
const STATUS_FILTERS: Array<[RegExp, TaskStatus]> = [
  [/\bfailed\b|失败/i, 'failed'],
  [/\b(completed|finished|done)\b|已完成|完成的/i, 'completed'],
  [/\b(cancelled|canceled)\b|已取消|取消的/i, 'cancelled'],
  [/\b(pending|unpaid|awaiting payment)\b|待支付|等待付款|未付款/i, 'pending_payment'],
  [/\b(running|processing|in progress|active)\b|进行中|铸造中|运行中/i, 'processing'],
];
/** A price question: "how much would 50 mints cost?", "50 个要多少钱" — a quote, never a task. */
const PRICE =
  /\bhow much (?:would|will|does|do|is|are|for|to)\b|\b(cost|costs|price|prices|pricing|quote)\b|多少钱|要多少|价格|报价|费用|花多少|贵不贵|什么价/i;
const DEMO = /\bdemo (?:mint )?token\b|\bthe demo\b|演示代币|演示币|测试代币|测试币|示例代币|demo\s*币/i;

/** Address, id and number stripped: what is left says whether a message is only a slot value. */
const residue = (text: string) =>
  text
    .replace(ADDRESS, ' ')
    .replace(UUID, ' ')
    .replace(/[\d\s,.;:!?，。！？、x×*]+/gi, ' ')
    .trim();

function findToken(text: string, tokens: KnownToken[]): KnownToken | undefined {
  for (const t of tokens) {
    const symbol = new RegExp(`(?<![A-Za-z0-9])${t.symbol.replace(/[^A-Za-z0-9]/g, '')}(?![A-Za-z0-9])`, 'i');
    if (symbol.test(text) || text.toLowerCase().includes(t.name.toLowerCase())) return t;
  }
  return DEMO.test(text) ? tokens[0] : undefined;
}

export function parseUtterance(raw: string, tokens: KnownToken[]): Utterance {
  const normalized = raw.normalize('NFKC');
  const url = normalized.match(URL_RE)?.[0]?.replace(/[.,;:!?)\]}]+$/, '');
  // The URL's own path may hold an address or digits: they are not the token or the quantity.
  const text = url ? normalized.replace(url, ' ') : normalized;
  const address = text.match(ADDRESS)?.[0];
  const taskId = text.match(UUID)?.[0]?.toLowerCase();
  const withoutIds = text.replace(ADDRESS, ' ').replace(UUID, ' ');
  const token = address ? undefined : findToken(withoutIds, tokens);
  const symbolFree = token ? withoutIds.replace(new RegExp(token.symbol, 'ig'), ' ') : withoutIds;
  const quantity = extractQuantity(symbolFree);
  const rest = residue(text);
  const lang =
    /[A-Za-z\u3400-\u9fff]{2,}/.test(rest) || /[\u3400-\u9fff]/.test(rest) ? detectLanguage(text) : undefined;
  const slots = {
    lang,
    tokenAddress: address ?? token?.address,
    symbol: token?.symbol,
    quantity,
    url,
    taskId,
    lastTask: false,
  };
  const is = (intent: Intent, extra: Partial<Utterance> = {}): Utterance => ({ ...slots, intent, ...extra });

  if (taskId) {
    if (CANCEL.test(withoutIds)) return is('cancel');
    if (RETRY.test(withoutIds)) return is('retry');
    return is('status');
  }
  if (FOREIGN.test(text)) return is('foreign');
  if (FUNDING.test(text) && !slots.tokenAddress) return is('wallet');
  if (TRANSFER.test(text) && !MINT.test(withoutIds.replace(TRANSFER, ' '))) return is('transfer');
  const hasToken = Boolean(slots.tokenAddress);
  const filter = STATUS_FILTERS.find(([re]) => re.test(text))?.[1];
  // "已取消的任务" / "cancelled tasks" is a list filter, not a request to cancel.
  if ((LIST.test(text) || /\b(tasks|jobs)\b|任务/i.test(text)) && filter && !hasToken && !taskId)
    return is('list', { status: filter });
  if ((CANCEL.test(text) || RETRY.test(text)) && !MINT.test(withoutIds)) {
    // An address is not a task id: ask which task rather than guess.
    if (address) return is('which_task');
    if (!hasToken && quantity === undefined) return is(CANCEL.test(text) ? 'cancel' : 'retry', { lastTask: true });
  }
  const mintWord = MINT.test(withoutIds);
  if (PRICE.test(withoutIds) && (hasToken || url || quantity !== undefined || mintWord)) return is('quote');
  if (mintWord && !hasToken && quantity === undefined && PROGRESS.test(text)) return is('list');
  if (url && (mintWord || quantity !== undefined)) return is('mint');
  if (hasToken && (mintWord || quantity !== undefined)) return is('mint');
  if (mintWord && quantity !== undefined && !LIST.test(text)) return is('mint');
  if (WALLET.test(text)) return is('wallet');
  if (mintWord && !LIST.test(text) && !HELP.test(text)) return is('mint');
  if (SINGLE_LAST.test(text) && (STATUS.test(text) || /\b(task|job)\b|任务/i.test(text)))
    return is('status', { lastTask: true });
  if (LIST.test(text)) return is('list', { status: filter });
  if (LAST.test(text) && STATUS.test(text) && /\b(task|job|mint)\b|任务/i.test(text))
    return is('status', { lastTask: true });
  if (HELP.test(text)) return is('help');
  if (/\b(task|job)s?\b|任务/i.test(text) && !hasToken) return is('list');
  if (THANKS.test(text)) return is('thanks');
  if (url && rest.length <= 12) return is('fragment');
  // Only a slot value ("0x…", "100", "the demo token"): completes a half-filled mint request.
  if ((hasToken || quantity !== undefined) && (rest.length <= 12 || (token && rest.length <= 30)))
    return is('fragment');
  return is('unknown');
}
