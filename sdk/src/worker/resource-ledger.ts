/** CPU and memory, as machine presets and worker capacity are sized. */
export interface Resources {
	cpu: number;
	memoryGb: number;
}

// Sums of quarter cores must not refuse an exact fit through float error.
const EPSILON = 1e-9;

/** What a worker has and what the attempts placed on it hold. */
export class ResourceLedger {
	private readonly held = new Map<string, Resources>();

	constructor(readonly capacity: Resources) {}

	/** What is free now. */
	free(): Resources {
		let cpu = this.capacity.cpu;
		let memoryGb = this.capacity.memoryGb;
		for (const r of this.held.values()) {
			cpu -= r.cpu;
			memoryGb -= r.memoryGb;
		}
		return { cpu: Math.max(0, round(cpu)), memoryGb: Math.max(0, round(memoryGb)) };
	}

	/** Whether these resources fit in what is free. */
	fits(need: Resources): boolean {
		const free = this.free();
		return need.cpu <= free.cpu + EPSILON && need.memoryGb <= free.memoryGb + EPSILON;
	}

	/** Holds resources under a key (a delivery or an attempt); replaces what the key held. */
	hold(key: string, resources: Resources): void {
		this.held.set(key, resources);
	}

	/** Releases what a key held. */
	release(key: string): void {
		this.held.delete(key);
	}

	/** How many keys hold resources. */
	get count(): number {
		return this.held.size;
	}
}

function round(n: number): number {
	return Math.round(n * 1e6) / 1e6;
}
