import type { AssistantKeyDto } from '@/lib/assistant-keys/keys';
import { apiFetch } from './api';

export type { AssistantKeyDto };
export type AssistantKeyScope = 'read' | 'create' | 'cancel' | 'withdraw';
export type AssistantKeyUseDto = {
  keyId: string;
  action: string;
  outcome: 'ok' | 'refused' | 'error';
  taskId: string | null;
  spendUsdc: string | null;
  errorCode: string | null;
  at: string;
};

export const assistantKeysApi = {
  list: () => apiFetch<{ keys: AssistantKeyDto[]; uses: AssistantKeyUseDto[] }>('/api/assistant-keys'),
  create: (body: { name: string; scopes: AssistantKeyScope[]; dailyCapUsdc: string; expiresInDays: number }) =>
    apiFetch<{ key: AssistantKeyDto; token: string }>('/api/assistant-keys', { method: 'POST', json: body }),
  revoke: (id: string) =>
    apiFetch<{ key: AssistantKeyDto }>(`/api/assistant-keys/${encodeURIComponent(id)}/revoke`, {
      method: 'POST',
      json: {},
    }),
};
