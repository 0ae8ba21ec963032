import { parseArgs } from 'node:util';
import { closeDb } from '@/db/client';
import { isAppError } from '@/lib/errors';
import { createLogger, setLogger } from '@/lib/log';
import {
  auditCommand,
  cancelTaskCommand,
  claimsCommand,
  listTasksCommand,
  operatorCommand,
  parseClaimStatus,
  parsePositiveInt,
  parseStatuses,
  retryTaskCommand,
  showTaskCommand,
  statsCommand,
  UsageError,
  walletCommand,
  webhooksCommand,
  type CommandResult,
} from '@/lib/ops/commands';
import { tokensCommand } from '@/lib/ops/token-commands';
import { walletsCommand } from '@/lib/ops/wallets-command';
import { dispatchDueWebhooks } from '@/lib/webhooks/dispatcher';

// `npm run ops -- <command>`: the seed's troubleshooting SQL as commands. Output is a table on a
// terminal and JSON otherwise (or with --json; --table forces tables). Exit 0 ok, 1 error (or an
// audit discrepancy), 2 usage.

const USAGE = `usage: npm run ops -- <command> [options] [--json|--table]
  tasks [--status s[,s]] [--limit n]   every user's tasks, newest first (limit 1-1000, default 20)
  task <id>                            one task with its mint ledger, x402 payments and claims, and webhook deliveries
  retry <id>                           failed → funded (same guard as the user's retry)
  cancel <id>                          cancel, or request a stop while processing
  wallet <userAddress>                 agent address, USDC/ETH balances, reserved and refundable USDC
  wallets [--limit n]                  operator ETH parked in agent wallets, most first, with the total and sweeps (newest n wallets, default 1000)
  claims [--task id] [--seller 0x…|host] [--user 0x…] [--status open|delivered] [--limit n]
                                       x402 claims: payments sellers took without delivering, newest first
  stats [--days n]                     per-day tasks, mints, average task time, gas (default 7 days)
  webhooks [--limit n]                 recent webhook deliveries
  webhooks-dispatch                    deliver due webhooks once now
  operator                             operator ETH balance against OPERATOR_MIN_ETH
  tokens [add|remove 0x…]              tokens tasks may mint; add checks the code is PaidMintToken's
  audit [--user 0x…] [--from-block n] [--block-range n] [--rpc-url url]
                                       funds audit: ledger against chain for every user (exit 1 on any discrepancy)`;

async function run(argv: string[]): Promise<CommandResult> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      status: { type: 'string' },
      limit: { type: 'string' },
      days: { type: 'string' },
      user: { type: 'string' },
      task: { type: 'string' },
      seller: { type: 'string' },
      'from-block': { type: 'string' },
      'block-range': { type: 'string' },
      'rpc-url': { type: 'string' },
      json: { type: 'boolean' },
      table: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, arg, ...rest] = positionals;
  const needArg = (what: string) => {
    if (!arg || rest.length) throw new UsageError(`${command} takes exactly one ${what}`);
    return arg;
  };
  switch (command) {
    case 'tasks':
      return listTasksCommand({
        status: parseStatuses(values.status),
        limit: parsePositiveInt(values.limit, 'limit', 20, 1000),
      });
    case 'task':
      return showTaskCommand({ id: needArg('task id') });
    case 'retry':
      return retryTaskCommand({ id: needArg('task id') });
    case 'cancel':
      return cancelTaskCommand({ id: needArg('task id') });
    case 'wallet':
      return walletCommand({ userAddress: needArg('user address') });
    case 'wallets':
      if (arg) throw new UsageError('wallets takes no positional argument');
      return walletsCommand({ limit: parsePositiveInt(values.limit, 'limit', 1000, 100_000) });
    case 'claims':
      if (arg) throw new UsageError('claims takes no positional argument (use --task, --seller, --user)');
      return claimsCommand({
        userAddress: values.user,
        taskId: values.task,
        seller: values.seller,
        status: parseClaimStatus(values.status),
        limit: parsePositiveInt(values.limit, 'limit', 50, 1000),
      });
    case 'stats':
      return statsCommand({ days: parsePositiveInt(values.days, 'days', 7, 365) });
    case 'webhooks':
      return webhooksCommand({ limit: parsePositiveInt(values.limit, 'limit', 20, 1000) });
    case 'webhooks-dispatch': {
      const result = await dispatchDueWebhooks();
      return { json: result, text: `delivered ${result.delivered}, failed ${result.failed}` };
    }
    case 'operator':
      return operatorCommand();
    case 'tokens':
      if (rest.length > 1) throw new UsageError('tokens takes at most an action and an address');
      return tokensCommand({ action: arg, address: rest[0] });
    case 'audit':
      if (arg) throw new UsageError('audit takes no positional argument (use --user 0x…)');
      return auditCommand({
        userAddress: values.user,
        fromBlock: values['from-block'],
        blockRange: values['block-range'],
        rpcUrl: values['rpc-url'],
      });
    default:
      throw new UsageError(command ? `unknown command ${command}` : 'no command given');
  }
}

async function main() {
  // Logs go to stderr so stdout stays the command's output (JSON for scripts).
  setLogger(createLogger({ destination: process.stderr }));
  const argv = process.argv.slice(2).filter((a) => a !== '--');
  const asJson = argv.includes('--json') || (!argv.includes('--table') && !process.stdout.isTTY);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    const result = await run(argv);
    process.stdout.write(asJson ? `${JSON.stringify(result.json, null, 2)}\n` : `${result.text}\n`);
    return result.exitCode ?? 0;
  } catch (error) {
    if (error instanceof UsageError || String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
      return 2;
    }
    const message = isAppError(error) ? error.message : error instanceof Error ? error.message : String(error);
    if (asJson)
      process.stdout.write(
        `${JSON.stringify({ error: { code: isAppError(error) ? error.code : 'internal', message } })}\n`,
      );
    process.stderr.write(`error: ${message}\n`);
    return 1;
  } finally {
    await closeDb().catch(() => {});
  }
}

main().then((code) => process.exit(code));
