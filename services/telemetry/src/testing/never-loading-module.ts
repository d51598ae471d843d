/** A module whose import never settles (a top-level await that never ends). */
await new Promise(() => {});

export default function createExporter() {
	return { export() {}, async shutdown() {} };
}
