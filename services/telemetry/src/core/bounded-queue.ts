import type { OverflowPolicy } from "./exporter-spec.js";

/**
 * A FIFO with a fixed capacity. When full, drop_newest refuses what arrives and
 * drop_oldest evicts from the head; either way push reports how many items
 * were dropped so the exporter can count them.
 */
export class BoundedQueue<T> {
	private items: T[] = [];
	private head = 0;

	constructor(
		readonly capacity: number,
		readonly overflow: OverflowPolicy,
	) {}

	/** Items waiting. */
	get length(): number {
		return this.items.length - this.head;
	}

	/** Adds items; returns the number dropped by the overflow policy. */
	push(incoming: readonly T[]): number {
		const free = this.capacity - this.length;
		if (incoming.length <= free) {
			for (const item of incoming) this.items.push(item);
			return 0;
		}
		if (this.overflow === "drop_newest") {
			for (let i = 0; i < free; i++) this.items.push(incoming[i] as T);
			return incoming.length - free;
		}
		// drop_oldest: keep the newest `capacity` of (queued + incoming).
		const keepIncoming = Math.min(incoming.length, this.capacity);
		const evict = Math.min(this.length, this.length + keepIncoming - this.capacity);
		this.head += evict;
		for (let i = incoming.length - keepIncoming; i < incoming.length; i++) this.items.push(incoming[i] as T);
		this.compact();
		return evict + (incoming.length - keepIncoming);
	}

	/** Removes and returns up to max items from the head. */
	take(max: number): T[] {
		const end = Math.min(this.items.length, this.head + max);
		const out = this.items.slice(this.head, end);
		this.head = end;
		this.compact();
		return out;
	}

	/** Removes and returns everything. */
	drain(): T[] {
		return this.take(this.length);
	}

	private compact(): void {
		// Slicing on every take would copy the whole array; do it once the dead head is large.
		if (this.head === this.items.length) {
			this.items = [];
			this.head = 0;
		} else if (this.head > 4_096 && this.head * 2 > this.items.length) {
			this.items = this.items.slice(this.head);
			this.head = 0;
		}
	}
}
