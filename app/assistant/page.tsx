import type { Metadata } from 'next';
import { AssistantKeysView } from '@/components/AssistantKeysView';

export const metadata: Metadata = { title: 'Connect an assistant · AgentMint' };

export default function AssistantPage() {
  return <AssistantKeysView />;
}
