/**
 * Preloaded (`--import`) into service processes that tests and benchmarks spawn:
 * the process exits once the process that spawned it is gone. A test runner killed
 * mid-run (a timeout, ^C) otherwise leaves its services running, serving and
 * polling on a shared machine, which skews every benchmark after it. Signal 0
 * only asks whether the parent still exists (process.ppid is read once at start and
 * never changes); the check never keeps the process alive on its own.
 */
const parent = process.ppid;
setInterval(() => {
	try {
		process.kill(parent, 0);
	} catch {
		process.exit(1);
	}
}, 500).unref();
