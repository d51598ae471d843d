import { InvalidExporterConfig } from "../core/exporter-errors.js";

/** An HTTP header name: a token (RFC 9110, section 5.6.2). */
const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What Node accepts in a header value: no CR, LF, NUL or other control characters but tab. */
const HTTP_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** A gRPC metadata key as grpc-js accepts it (it lowercases keys first). */
const GRPC_KEY = /^[0-9A-Za-z_.-]+$/;
/** A gRPC text metadata value: printable ASCII. */
const GRPC_TEXT_VALUE = /^[\x20-\x7e]*$/;

/**
 * Headers of an otlp_http exporter. A bad name or a value with CR/LF would make
 * every request fail (or, with CR/LF, smuggle another header), so it is refused.
 */
export function checkHttpHeaders(headers: Record<string, string>, field: string): void {
	for (const [name, value] of Object.entries(headers)) {
		const at = `${field}[${JSON.stringify(name)}]`;
		if (!HTTP_TOKEN.test(name))
			throw new InvalidExporterConfig(
				at,
				"the name must be an HTTP token (letters, digits, !#$%&'*+-.^_`|~)",
			);
		if (!HTTP_VALUE.test(value))
			throw new InvalidExporterConfig(at, "the value must not hold CR, LF or other control characters");
	}
}

/**
 * Metadata of an otlp_grpc exporter. grpc-js throws on an illegal key, and a key
 * ending in "-bin" takes binary values, which a string map cannot give.
 */
export function checkGrpcMetadata(headers: Record<string, string>, field: string): void {
	for (const [key, value] of Object.entries(headers)) {
		const at = `${field}[${JSON.stringify(key)}]`;
		if (!GRPC_KEY.test(key))
			throw new InvalidExporterConfig(at, "a gRPC metadata key holds only letters, digits, _ . and -");
		if (key.toLowerCase().endsWith("-bin"))
			throw new InvalidExporterConfig(
				at,
				'keys ending in "-bin" take binary values, which headers cannot give',
			);
		if (key.toLowerCase().startsWith("grpc-"))
			throw new InvalidExporterConfig(at, 'keys starting with "grpc-" are reserved by gRPC');
		if (!GRPC_TEXT_VALUE.test(value))
			throw new InvalidExporterConfig(at, "the value must be printable ASCII");
	}
}
