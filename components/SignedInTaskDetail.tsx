'use client';

import { SignedInGate } from './SignedInGate';
import { TaskDetailView } from './TaskDetailView';

export function SignedInTaskDetail({ taskId }: { taskId: string }) {
  return <SignedInGate>{(address) => <TaskDetailView key={address} taskId={taskId} />}</SignedInGate>;
}
