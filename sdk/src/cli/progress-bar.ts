/** A one-line progress bar on a terminal (plain lines when output is not a TTY). */
export class ProgressBar {
	private lastPercent = -1;

	constructor(
		private readonly label: string,
		private readonly stream: NodeJS.WriteStream = process.stderr,
		private readonly width = 30,
	) {}

	/** Draws done out of total. */
	update(done: number, total: number): void {
		const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
		if (percent === this.lastPercent) return;
		this.lastPercent = percent;
		const filled = Math.round((percent / 100) * this.width);
		const bar = `${"█".repeat(filled)}${"░".repeat(this.width - filled)}`;
		const text = `${this.label} ${bar} ${percent}% (${done}/${total})`;
		if (this.stream.isTTY) this.stream.write(`\r${text}`);
		else if (percent % 10 === 0) this.stream.write(`${text}\n`);
	}

	/** Ends the bar's line. */
	done(): void {
		if (this.stream.isTTY) this.stream.write("\n");
	}
}
