import { createOpenAI } from '@ai-sdk/openai';
import type { LanguageModel } from 'ai';
import { getConfig } from '../config';
import { OfflineChatModel } from './offline-model';

let cached: LanguageModel | undefined;

/**
 * OPENAI_API_KEY set → an OpenAI-compatible chat model (OPENAI_BASE_URL for Ollama, vLLM…),
 * otherwise the built-in offline model. The Chat Completions API is used rather than the
 * Responses API because it is the one OpenAI-compatible servers implement.
 */
export function getChatModel(): LanguageModel {
  if (cached) return cached;
  const { ai } = getConfig();
  if (ai.apiKey) {
    const openai = createOpenAI({ apiKey: ai.apiKey, baseURL: ai.baseUrl });
    cached = openai.chat(ai.model);
  } else {
    cached = new OfflineChatModel();
  }
  return cached;
}

export const isOfflineModel = (model: LanguageModel) => model instanceof OfflineChatModel;
