/** Whether a process with this id runs: signal 0 checks without sending anything. EPERM: a process of another user has that id, so it runs. */
export function processRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
