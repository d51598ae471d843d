import { AttemptProcess, type OutputSink } from "./attempt-process.js";

/**
 * Child processes kept warm between attempts, per heap size: forking and loading
 * the project costs far more than a short task, so a child that finished an
 * attempt cleanly takes the next one of the same preset.
 */
export class ProcessPool {
	private readonly idle: AttemptProcess[] = [];

	constructor(
		private readonly options: {
			entries: string[];
			env: NodeJS.ProcessEnv;
			maxIdle: number;
			output?: OutputSink;
		},
	) {}

	/** An idle child with this heap cap, or a new one. */
	async acquire(memoryMiB: number): Promise<AttemptProcess> {
		const index = this.idle.findIndex((p) => p.memoryMiB === memoryMiB && p.exited === undefined);
		if (index >= 0) return this.idle.splice(index, 1)[0] as AttemptProcess;
		return AttemptProcess.start({
			entries: this.options.entries,
			memoryMiB,
			env: this.options.env,
			...(this.options.output === undefined ? {} : { output: this.options.output }),
		});
	}

	/** Takes a child back after a clean attempt; the oldest idle one goes when the pool is full. */
	release(proc: AttemptProcess): void {
		if (proc.exited !== undefined) return;
		this.idle.push(proc);
		while (this.idle.length > this.options.maxIdle) void this.idle.shift()?.kill();
	}

	/** Kills every idle child. */
	async close(): Promise<void> {
		await Promise.all(this.idle.splice(0).map((p) => p.kill()));
	}
}
