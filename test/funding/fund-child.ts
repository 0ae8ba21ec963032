// A second process for the cross-process race test: waits until `startAt`, posts one funding
// request through the route handler, prints the outcome as JSON. Env comes from the test stack.
import { POST } from '@/app/api/ai-agent/task/[taskId]/fund/route';
import { closeDb } from '@/db/client';

const { taskId, body, warmup, startAt } = JSON.parse(process.argv[2]!) as {
  taskId: string;
  body: unknown;
  warmup: unknown;
  startAt: number;
};
const post = (payload: unknown) =>
  POST(
    new Request(`http://localhost/api/ai-agent/task/${taskId}/fund`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    }),
    { params: Promise.resolve({ taskId }) },
  );
// A rejected request first, so modules, the pool and the USDC domain are warm at the start line.
await post(warmup);
await new Promise((r) => setTimeout(r, Math.max(0, startAt - Date.now())));
const res = await post(body);
console.log(JSON.stringify({ status: res.status, body: await res.json() }));
await closeDb();
