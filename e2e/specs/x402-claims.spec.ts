import { formatUnits, parseAbiItem, type Address } from 'viem';
import { ChatPage } from '../pages/chat-page';
import { expect, openAs, screenshot, test } from '../support/fixtures';
import { publicClient, stackState, usdcBalance } from '../support/stack-state';

// A seller that takes the money and delivers nothing (issue 22, Done when): the local x402 mint
// server's take-and-run mode settles the first payment, answers "Payment settled" and mints
// nothing. The task stops at that one payment; its card and its page show the claim (what was
// paid, the settlement transaction, what arrived, the seller's answer) in English and Chinese;
// the rest of the money is the user's again (refundable in the agent wallet, or already refunded).

const transfer = parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)');

test('a seller that takes one payment and delivers nothing: the task stops there, the card shows the claim, the rest is refundable', async ({
  browser,
}) => {
  const { x402, deployment } = stackState();
  const url = `${x402.mintUrl}?mode=take-and-run`;
  const price = BigInt(x402.price);
  const quantity = 10;
  const total = price * BigInt(quantity);
  const { page, app, account, context } = await openAs(browser, 8);
  const chat = new ChatPage(page);
  await app.goto('/');
  await app.connectAndSignIn();
  const wallet = async () =>
    (await (await page.request.get(`/api/ai-agent/wallet/${account.address}`)).json()) as {
      agentAddress: Address;
      refundableUsdc: string;
    };
  const before = { refundable: BigInt((await wallet()).refundableUsdc), usdc: await usdcBalance(account.address) };

  const card = await chat.sendAndExpectTask(`Mint ${quantity} from ${url}`);
  await expect(chat.route(card)).toHaveAttribute('data-route', 'x402');
  await chat.fund(card);
  await chat.waitForStatus(card, 'failed', 90_000);
  const id = await ChatPage.taskId(card);

  // The claim on the card: one payment, its settlement on chain, nothing arrived, the seller's words.
  const claims = card.getByTestId('x402-claims');
  await expect(claims).toBeVisible();
  await expect(claims.getByTestId('x402-claim')).toHaveCount(1);
  const claim = claims.getByTestId('x402-claim');
  await expect(claim).toHaveAttribute('data-status', 'open');
  await expect(claim.getByTestId('claim-amount')).toContainText(`${formatUnits(price, 6)} USDC`);
  await expect(claim.getByTestId('claim-arrived')).toHaveText('Nothing');
  await expect(claim.getByTestId('claim-answer')).toContainText('Payment settled');
  const settlement = (await (await page.request.get(`/api/ai-agent/task/${id}`)).json()).task.claims[0]
    .settlementTxHash as `0x${string}`;
  await expect(claim.getByTestId('claim-settlement')).toContainText(settlement.slice(0, 10));
  await screenshot(page, 'x402-claims-01-card');

  // On chain: that transaction moved one price from the agent to the seller, and it is the only payment.
  const { agentAddress } = await wallet();
  const paid = await publicClient().getLogs({
    address: deployment.usdc,
    event: transfer,
    args: { from: agentAddress },
    fromBlock: 0n,
  });
  const toSeller = paid.filter((l) => l.args.to!.toLowerCase() !== account.address.toLowerCase());
  expect(toSeller.map((l) => [l.transactionHash, l.args.value])).toEqual([[settlement, price]]);

  // The rest is the user's: refundable in the agent wallet (or already sent back to them).
  const rest = total - price;
  await expect
    .poll(
      async () => {
        const refundable = BigInt((await wallet()).refundableUsdc) - before.refundable;
        const spent = before.usdc - (await usdcBalance(account.address));
        return refundable === rest && spent === total
          ? 'refundable'
          : refundable === 0n && spent === price
            ? 'refunded'
            : 'neither';
      },
      { timeout: 30_000 },
    )
    .not.toBe('neither');
  const refundable = BigInt((await wallet()).refundableUsdc);
  await expect(page.getByTestId('wallet-refundable')).toContainText(formatUnits(refundable, 6));
  await expect(card.getByTestId('claim-refund')).toContainText(`${formatUnits(refundable, 6)} USDC`);

  // The task's own page shows it too, and in Chinese.
  await page.goto(`/tasks/${id}`);
  const detail = page.getByTestId('task-detail');
  await expect(detail).toHaveAttribute('data-status', 'failed');
  await expect(detail.getByTestId('x402-claim')).toHaveCount(1);
  await page.getByTestId('language-switch').selectOption('zh');
  await expect(detail.getByTestId('x402-claims')).toContainText('未交付记录：卖家收了款却没有交付');
  await expect(detail.getByTestId('claim-arrived')).toHaveText('没有任何代币');
  await screenshot(page, 'x402-claims-02-detail-zh');
  await page.getByTestId('language-switch').selectOption('en');

  // Anyone who asks about this seller next is warned, and may still create a task.
  const other = await openAs(browser, 9);
  await other.app.goto('/');
  await other.app.connectAndSignIn();
  const warned = await new ChatPage(other.page).sendAndExpectTask(`Mint ${quantity} from ${x402.mintUrl}`);
  await expect(other.page.getByTestId('seller-warning').last()).toContainText('1 claim(s) on record');
  await expect(new ChatPage(other.page).agentMessages().last()).toContainText('took payment without delivering before');
  await expect(warned).toHaveAttribute('data-status', 'pending_payment');
  await screenshot(other.page, 'x402-claims-03-warning');
  await other.context.close();
  await context.close();
});
