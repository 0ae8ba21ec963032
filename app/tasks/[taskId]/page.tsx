import type { Metadata } from 'next';
import { SignedInTaskDetail } from '@/components/SignedInTaskDetail';

export const metadata: Metadata = { title: 'Task · AgentMint' };

export default async function TaskPage({ params }: { params: Promise<{ taskId: string }> }) {
  const { taskId } = await params;
  return <SignedInTaskDetail taskId={taskId} />;
}
