/**
 * A taskmesh.logs.v1.LogChunk as a plain object: what the frame encoder writes and
 * what the log service's hand decoder reads, so both sides name the same fields.
 */
export interface PlainLogChunk {
	messageId: string;
	runId: string;
	environmentId: string;
	sequence: number;
	last: boolean;
	compression: number;
	data: Uint8Array;
	header?: PlainLogHeader | undefined;
}

/** A taskmesh.logs.v1.LogMessageHeader as a plain object. */
export interface PlainLogHeader {
	level: number;
	time?: { seconds: bigint; nanos: number } | undefined;
	attributes: Record<string, string>;
	bodySize: bigint;
	chunkCount: number;
	taskId: string;
	attemptId: string;
	traceId: string;
}
