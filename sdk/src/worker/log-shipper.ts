import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { type IngestRequestSchema, LogLevel } from "../../../gen/taskmesh/logs/v1/logs_pb.js";
import {
	chunkLogMessage,
	encodeLogChunkDelimited,
	ingestRequestOf,
} from "../../../packages/log-chunking/src/index.js";
import type { Clients } from "../client/clients.js";
import type { LogLevelName } from "../tasks/attempt-runtime.js";
import { AsyncChannel } from "./async-channel.js";

/** One log line of an attempt, before chunking. */
export interface AttemptLog {
	runId: string;
	attemptId: string;
	taskId: string;
	level: LogLevelName;
	message: string;
	attributes: Record<string, string>;
	time: number;
}

const LEVELS: Record<LogLevelName, LogLevel> = {
	debug: LogLevel.DEBUG,
	info: LogLevel.INFO,
	warn: LogLevel.WARN,
	error: LogLevel.ERROR,
};

// Frames stay well under the service's 4 MiB per frame; chunks are 64 KiB raw at most.
const FRAME_BYTES = 1024 * 1024;
const encoder = new TextEncoder();

/** One Ingest stream and the frames sent on it that the service has not yet confirmed. */
interface IngestSession {
	channel: AsyncChannel<MessageInitShape<typeof IngestRequestSchema>>;
	/** Each frame's chunks, already encoded, kept until the stream is confirmed. */
	frames: Uint8Array[][];
	startedAt: number;
	done: Promise<void>;
}

// The service confirms a stream only when it ends, so a long-lived stream is rotated
// now and then: what it carried is then known to be stored and can be forgotten.
const ROTATE_FRAMES = 256;
const ROTATE_MS = 10_000;
const MAX_RETRIES_WHILE_CLOSING = 3;

/**
 * Ships a worker's log messages on a long-lived LogIngestService.Ingest stream,
 * many chunks per frame. A stream that fails is reopened and its frames are sent
 * again (the service ignores chunks it already has).
 */
export class LogShipper {
	private session: IngestSession | undefined;
	private readonly open = new Set<Promise<void>>();
	private pending: Uint8Array[] = [];
	private pendingBytes = 0;
	private sequence = 0;
	private flushTimer: NodeJS.Timeout | undefined;
	private closed = false;
	private failuresWhileClosing = 0;

	constructor(
		private readonly options: { clients: Clients; onError?: (error: unknown) => void; flushMs?: number },
	) {}

	/** Queues a message; it is chunked now and sent with the next frame. */
	ship(log: AttemptLog): void {
		if (this.closed) return;
		const body = encoder.encode(log.message);
		const chunks = chunkLogMessage({
			messageId: `${log.attemptId}.${process.pid}.${this.sequence++}`,
			runId: log.runId,
			environmentId: this.options.clients.environmentId,
			header: {
				level: LEVELS[log.level],
				time: timestampFromMs(log.time),
				attributes: log.attributes,
				taskId: log.taskId,
				attemptId: log.attemptId,
			},
			body,
		});
		// Encoded once, by the chunking package's encoder: the bytes both size the frame
		// and are what is sent (and resent after a failed stream).
		for (const chunk of chunks) {
			const encoded = encodeLogChunkDelimited(chunk);
			if (this.pendingBytes + encoded.byteLength > FRAME_BYTES) this.flush();
			this.pending.push(encoded);
			this.pendingBytes += encoded.byteLength;
		}
		this.flushTimer ??= setTimeout(() => this.flush(), this.options.flushMs ?? 100);
	}

	/** Sends what is queued as one frame. */
	flush(): void {
		clearTimeout(this.flushTimer);
		this.flushTimer = undefined;
		if (this.pending.length === 0) return;
		const frame = this.pending;
		this.pending = [];
		this.pendingBytes = 0;
		this.send(frame);
	}

	/** Sends the rest and waits until the service has confirmed every stream. */
	async close(): Promise<void> {
		this.flush();
		this.closed = true;
		this.session?.channel.end();
		this.session = undefined;
		while (this.open.size > 0) await Promise.all([...this.open]);
	}

	private send(frame: Uint8Array[]): void {
		const session = this.session ?? this.startSession();
		session.frames.push(frame);
		session.channel.push(ingestRequestOf(frame));
		if (session.frames.length >= ROTATE_FRAMES || Date.now() - session.startedAt > ROTATE_MS) {
			session.channel.end();
			this.session = undefined;
		}
	}

	private startSession(): IngestSession {
		const channel = new AsyncChannel<MessageInitShape<typeof IngestRequestSchema>>();
		const session: IngestSession = { channel, frames: [], startedAt: Date.now(), done: Promise.resolve() };
		session.done = this.options.clients.logs.ingest(channel).then(
			() => undefined,
			async (error: unknown) => {
				this.options.onError?.(error);
				if (this.session === session) this.session = undefined;
				// Once closing, a log service that keeps failing must not hold the worker's exit.
				if (this.closed && ++this.failuresWhileClosing > MAX_RETRIES_WHILE_CLOSING) return;
				await new Promise((r) => setTimeout(r, 500));
				for (const frame of session.frames) this.send(frame);
				if (this.closed) {
					this.session?.channel.end();
					this.session = undefined;
				}
			},
		);
		const done = session.done.finally(() => this.open.delete(done));
		this.open.add(done);
		this.session = session;
		return session;
	}
}
