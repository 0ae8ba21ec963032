'use client';

import { SignedInGate } from './SignedInGate';
import { TaskList } from './TaskList';

export function TasksView() {
  return <SignedInGate>{(address) => <TaskList key={address} address={address} />}</SignedInGate>;
}
