// Preloaded (--import) into every service process a test or scenario starts: the process
// exits when the process that started it is gone, so a test runner that crashed, timed out or
// was killed never leaves a bid-worker running against a dropped database.
const parent = Number(process.env.WORKBOOK_PARENT_PID);
if (parent > 0) {
  const timer = setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch {
      process.kill(process.pid, 'SIGKILL');
    }
  }, 1_000);
  timer.unref();
}
