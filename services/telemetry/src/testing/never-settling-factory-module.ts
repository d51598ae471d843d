/** A module exporter whose factory never settles: registration must not wait on it forever. */
export default function createExporter(): Promise<never> {
	return new Promise(() => {});
}
