import type { TaskDto, X402ClaimDto } from '@/lib/tasks/serialize';
import type { FundingRequest } from '@/lib/tasks/funding-request';
import type { SellerWarning } from '@/lib/x402/seller-reputation';

export type { TaskDto, FundingRequest, X402ClaimDto, SellerWarning };
export type TaskStatus = 'pending_payment' | 'funded' | 'processing' | 'completed' | 'failed' | 'cancelled';

export type MintDto = { sequenceNumber: number; status: string; txHash: string | null; error?: string | null };
export type TaskDetail = TaskDto & {
  fundingRequest?: FundingRequest | null;
  mints?: MintDto[];
  /** An x402 task's payments: settled, still open, refused; settledAmount in USDC base units. */
  payments?: { settled: number; open: number; refused: number; settledAmount: string };
  /** An x402 task's claims: payments its seller took without delivering. */
  claims?: X402ClaimDto[];
};
export type TaskEvent = {
  taskId: string;
  status: TaskStatus;
  mintsCompleted: number;
  mintsFailed: number;
  quantity: number;
};
export type WalletDto = {
  agentAddress: string;
  usdcBalance: string;
  ethBalance: string;
  reservedUsdc: string;
  refundableUsdc: string;
};
export type Session = { address: `0x${string}`; chainId: number };
export type Authorization = FundingRequest['message'];

/** An API error with the server's code and readable message (`{ error: { code, message } }`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function apiFetch<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const { json, ...rest } = init;
  const res = await fetch(path, {
    credentials: 'same-origin',
    ...rest,
    headers: {
      accept: 'application/json',
      ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
      ...rest.headers,
    },
    body: json !== undefined ? JSON.stringify(json) : rest.body,
  });
  const text = await res.text();
  let body: unknown = undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(
      res.status,
      error?.code ?? `http_${res.status}`,
      error?.message ?? `Request failed (${res.status}).`,
    );
  }
  return body as T;
}

const enc = encodeURIComponent;

/** The task routes answer `{ task }`; accept a bare task too. */
const unwrapTask = (body: TaskDetail | { task: TaskDetail }): TaskDetail =>
  'task' in body && body.task ? body.task : (body as TaskDetail);

export const api = {
  session: () => apiFetch<Session>('/api/auth/session'),
  nonce: () => apiFetch<{ nonce: string }>('/api/auth/nonce'),
  verify: (message: string, signature: string) =>
    apiFetch<Session>('/api/auth/verify', { method: 'POST', json: { message, signature } }),
  logout: () => apiFetch<unknown>('/api/auth/logout', { method: 'POST', json: {} }),
  logoutAll: () => apiFetch<{ revoked: number }>('/api/auth/logout-all', { method: 'POST', json: {} }),
  task: async (id: string) =>
    unwrapTask(await apiFetch<TaskDetail | { task: TaskDetail }>(`/api/ai-agent/task/${enc(id)}`)),
  fund: (id: string, authorization: Authorization, signature: string) =>
    apiFetch<{ success: boolean; txHash: string; task?: TaskDto }>(`/api/ai-agent/task/${enc(id)}/fund`, {
      method: 'POST',
      json: { authorization, signature },
    }),
  cancel: (id: string) => apiFetch<unknown>(`/api/ai-agent/task/${enc(id)}/cancel`, { method: 'POST', json: {} }),
  retry: (id: string) => apiFetch<unknown>(`/api/ai-agent/task/${enc(id)}/retry`, { method: 'POST', json: {} }),
  tasks: async (user: string, limit = 50) => {
    const body = await apiFetch<{ tasks: TaskDto[] } | TaskDto[]>(`/api/ai-agent/tasks/${enc(user)}?limit=${limit}`);
    return Array.isArray(body) ? body : body.tasks;
  },
  wallet: (user: string) => apiFetch<WalletDto>(`/api/ai-agent/wallet/${enc(user)}`),
  withdraw: (user: string) =>
    apiFetch<{ txHash?: string | null; amount?: string }>(`/api/ai-agent/wallet/${enc(user)}/withdraw`, {
      method: 'POST',
      json: {},
    }),
  history: async (user: string, limit = 50) => {
    const body = await apiFetch<{ messages: HistoryMessage[] }>(`/api/ai-agent/history/${enc(user)}?limit=${limit}`);
    return body.messages ?? [];
  },
};

export type HistoryMessage = {
  id: string;
  role: 'user' | 'assistant' | 'system';
  parts: unknown[];
  createdAt?: string;
};

export const FINAL_STATUSES: readonly TaskStatus[] = ['completed', 'failed', 'cancelled'];
export const canCancel = (s: string) => s === 'pending_payment' || s === 'funded' || s === 'processing';
export const canRetry = (s: string) => s === 'failed';
