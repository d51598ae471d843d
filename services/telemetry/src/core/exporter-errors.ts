/**
 * A failed export. Retryable failures are tried again with backoff; permanent
 * ones drop the batch at once (counted), as retrying cannot help.
 */
export class ExportFailure extends Error {
	override readonly name = "ExportFailure";
	constructor(
		message: string,
		readonly retryable: boolean,
	) {
		super(message);
	}
}

/** An exporter config that cannot be built (bad pattern, module without a factory, ...). */
export class InvalidExporterConfig extends Error {
	override readonly name = "InvalidExporterConfig";
	constructor(
		readonly field: string,
		readonly description: string,
	) {
		super(`${field}: ${description}`);
	}
}

/** The message of anything thrown. */
export function errorMessage(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}
