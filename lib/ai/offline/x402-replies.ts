import { formatUsdc, type Lang } from '../format';

// The x402 route's words in the offline model: asking for what a request lacks, and the
// Chinese for the probe's refusals (their English is the tool's own message).

const inLang = (lang: Lang, en: string, zh: string) => (lang === 'zh' ? zh : en);

const hostOf = (url: string) => {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
};

export function askX402Text(slots: { url: string; quantity?: number }, lang: Lang): string {
  return inLang(
    lang,
    `How many mints from ${hostOf(slots.url)}? (1–1000)`,
    `要从 ${hostOf(slots.url)} mint 多少次？（1–1000）`,
  );
}

export const X402_ERRORS_ZH: Array<[RegExp, (m: RegExpMatchArray) => string]> = [
  [/^(\S+) is not https/, (m) => `${m[1]} 不是 https：AgentMint 只向 https 的 endpoint 付款。`],
  [
    /^(\S+) resolves to a ([\w-]+) address/,
    (m) => `${m[1]} 解析到内网/保留地址（${m[2]}）：AgentMint 只访问公网 endpoint。`,
  ],
  [
    /^(\S+) answered (\d+), not 402[^;]*(?:; the seller says: ("[^"]*"))?/,
    (m) =>
      `${m[1]} 返回了 ${m[2]} 而不是 402 Payment Required：它不是 x402 endpoint（或 URL 不对）${m[3] ? `；卖家说：${m[3]}` : ''}。`,
  ],
  [
    /^(\S+) refused the request \((\d+)\); the seller says: ("[^"]*")\.(?: AgentMint fills in the recipient and the quantity; it cannot supply (.+)\.)?$/,
    (m) =>
      `${m[1]} 拒绝了请求（${m[2]}），卖家说：${m[3]}。${m[4] ? `AgentMint 会填写收款地址和数量，但无法提供 ${m[4]}。` : ''}`,
  ],
  [
    /^(\S+) needs (.+) in each request, which AgentMint cannot fill in/,
    (m) => `${m[1]} 要求每个请求都带上 ${m[2]}，AgentMint 无法填写（它只填写收款地址和数量）。`,
  ],
  [
    /^(\S+) sells a voucher/,
    (m) =>
      `${m[1]} 卖的是凭证（voucher）：付款后只返回一个签名，需要买家自己上链兑换，付款另行结算。AgentMint 只购买卖家直接交付的 mint，所以不在这里购买。`,
  ],
  [
    /^(\S+) wants a transaction hash as payment/,
    (m) =>
      `${m[1]} 要求用交易哈希付款（买家先自行转账，与交付没有任何绑定）。AgentMint 只用 x402 授权付款，所以不在这里购买。`,
  ],
  [
    /^(\S+) answered 402 but asks to be paid outside x402/,
    (m) =>
      `${m[1]} 返回了 402，但要求在 x402 之外付款（由买家自己转账）。AgentMint 只用卖家结算的 x402 授权付款，所以不在这里购买。`,
  ],
  [/^(\S+) answered 402 without x402/, (m) => `${m[1]} 返回了 402，但没有 x402 付款要求。`],
  [/^The endpoint wants payment on (\S+), not on/, (m) => `这个 endpoint 要求在 ${m[1]} 上付款，不是本服务所在的链。`],
  [
    /^The endpoint wants payment in (\S+), not in the USDC/,
    (m) => `这个 endpoint 要求用 ${m[1]} 付款，不是本服务使用的 USDC。`,
  ],
  [
    /^The endpoint offers only the (.+) payment scheme/,
    (m) => `这个 endpoint 只支持 ${m[1]} 付款方式；本服务只支持 exact（EIP-3009）。`,
  ],
  [
    /^The endpoint asks (\d+) USDC base units per mint, above this service's limit of (\d+)/,
    (m) =>
      `这个 endpoint 每次 mint 要价 ${formatUsdc(m[1]!)} USDC，超过了本服务的上限 ${formatUsdc(m[2]!)} USDC（X402_MAX_PRICE_PER_MINT）。`,
  ],
  [/^The endpoint’s payment offer is malformed/, () => '这个 endpoint 的付款要求格式不正确。'],
  [/^The endpoint answered 402 but offered no way to pay/, () => '这个 endpoint 返回了 402，但没有给出任何付款方式。'],
  [
    /^Which token does (\S+) sell\?/,
    (m) => `${m[1]} 卖的是哪个代币？它的付款要求里没有写明；请发给我代币合约地址（0x…）。`,
  ],
  [/^(\S+) is not an ERC20 token/, (m) => `${m[1]} 不是这条链上的 ERC20 代币。`],
  [
    /^(\S+) answered with a redirect/,
    (m) => `${m[1]} 返回了重定向；AgentMint 不跟随重定向，请给出最终的 endpoint URL。`,
  ],
  [/^(\S+) could not be (?:found|reached)/, (m) => `无法连接 ${m[1]}。`],
  [/^That is not an endpoint URL/, () => '这不是 AgentMint 可以访问的 endpoint URL。'],
  [/does not expose its EIP-712 name and version/, () => '付款资产没有公开它的 EIP-712 名称和版本。'],
];

/** A refusal that is really a question (the token is unknown): asked plainly, without ❌. */
export function x402QuestionText(error: string, lang: Lang): string | undefined {
  const match = error.match(/^Which token does (\S+) sell\?/);
  if (!match) return undefined;
  return inLang(lang, error, `${match[1]} 卖的是哪个代币？它的付款要求里没有写明；请发给我代币合约地址（0x…）。`);
}
