import type { Metadata } from 'next';
import { TasksView } from '@/components/TasksView';

export const metadata: Metadata = { title: 'Tasks · AgentMint' };

export default function TasksPage() {
  return <TasksView />;
}
