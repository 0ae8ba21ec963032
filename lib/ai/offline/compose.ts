import type { QuoteDto } from '../../tasks/quote';
import type { TaskDto } from '../../tasks/serialize';
import type { WalletView } from '../../wallets/wallet-view';
import type { SellerWarning } from '../../x402/seller-reputation';
import { taskCreatedReply, x402TaskCreatedReply, type Lang } from '../format';
import { x402QuestionText } from './x402-replies';
import { cancelledText, errorText, quoteText, retriedText, taskListText, taskStatusText, walletText } from './replies';

export type ToolOutcome = { toolCallId: string; toolName: string; input: unknown; output?: unknown };

type Output = {
  error?: string;
  quote?: QuoteDto;
  task?: TaskDto;
  tasks?: TaskDto[];
  wallet?: WalletView;
  token?: { symbol?: string };
  sellerWarning?: SellerWarning;
};

/** A seller that took payment without delivering before: the warning comes first, the answer after it. */
const warned = (warning: SellerWarning | undefined, text: string, lang: Lang) =>
  warning ? `${warning.message[lang]}\n\n${text}` : text;

/** The final text of a turn, written from the last tool's output. */
export function composeFromResult(outcome: ToolOutcome, lang: Lang): string {
  const output = (outcome.output ?? {}) as Output;
  if (typeof output.error === 'string')
    return (
      ((outcome.toolName === 'createX402Task' || outcome.toolName === 'quote') &&
        x402QuestionText(output.error, lang)) ||
      errorText(output.error, lang, outcome.toolName)
    );
  switch (outcome.toolName) {
    case 'quote':
      if (output.quote) return warned(output.quote.sellerWarning, quoteText(output.quote, lang), lang);
      break;
    case 'createMintTask':
      if (output.task) return taskCreatedReply(output.task, lang, output.token?.symbol);
      break;
    case 'createX402Task':
      if (output.task)
        return warned(output.sellerWarning, x402TaskCreatedReply(output.task, lang, output.token?.symbol), lang);
      break;
    case 'listTasks':
      if (output.tasks) return taskListText(output.tasks, lang);
      break;
    case 'getTask':
      if (output.task) return taskStatusText(output.task, lang);
      break;
    case 'cancelTask':
      if (output.task) return cancelledText(output.task, lang);
      break;
    case 'retryTask':
      if (output.task) return retriedText(output.task, lang);
      break;
    case 'getAgentWallet':
      if (output.wallet) return walletText(output.wallet, lang);
      break;
  }
  return errorText('unexpected tool result', lang, outcome.toolName);
}
