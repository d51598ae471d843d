import { ServiceError, type ServiceImplementation, untilDrained } from "../../../kit/src/index.js";
import { MessageNotFound, MessageNotReadable, MessageNotWhole } from "../core/log-reader.js";
import type { LogStore } from "../core/log-store.js";
import type { StoredLogRecord } from "../core/types.js";
import { incomingChunk, itemFailure, logRecord, requireId } from "./convert.js";
import { ChunkDecodeError, type ChunkFields, readLogChunk } from "./log-chunk-reader.js";
import { encodePageToken, logQueryOf, tailOf } from "./query-input.js";
import type { ServedLogIngestService } from "./served-service.js";

/** Largest piece of a body sent in one ReadMessageBody frame. */
const BODY_PIECE_BYTES = 1024 * 1024;

/**
 * Body bytes one Tail frame may carry (a record larger than this goes alone). grpc-js
 * buffers about 16 messages of a stream before it stops the sender, so this is what
 * bounds a follower that stops reading to about 16 MiB instead of the ~100 MiB that
 * frames of 100 × 64 KiB held; a follower that reads gets the same records in more frames.
 */
export const TAIL_FRAME_BODY_BYTES = 1024 * 1024;

/** The gRPC face of the log store: validates, converts and maps errors; the store does the work. */
export function logIngestImplementation(options: {
	store: LogStore;
	inlineBodyBytes: number;
	/** Chunk data one Ingest frame may carry (LOG_INGEST_MAX_FRAME_BYTES). */
	maxFrameBytes: number;
}): ServiceImplementation<ServedLogIngestService> {
	const { store, inlineBodyBytes, maxFrameBytes } = options;
	return {
		async ingest(requests) {
			const session = store.session();
			let index = 0;
			let frame = 0;
			// Frame N+1 is read, decoded and inflated while frame N's transaction runs, so
			// the service's CPU work overlaps PostgreSQL's. Transactions still run one at a
			// time in frame order, and at most two frames are decoded: the one being stored
			// and the one queued behind it. The frame after those is asked for at once:
			// grpc-js reads a stream's next message only when asked, and with HTTP/2's
			// 64 KiB windows its upload takes many turns, which then overlap the others.
			const iterator = requests[Symbol.asyncIterator]();
			let storing: Promise<void> = Promise.resolve();
			let before: Promise<void> = Promise.resolve();
			try {
				for (;;) {
					const next = iterator.next();
					// Until awaited below, a failed read must not count as unhandled.
					next.catch(() => {});
					await before;
					// A frame that fails ends the stream at once, not when the next one arrives.
					const step = await Promise.race([next, storing.then(() => next)]);
					if (step.done === true) break;
					const request = step.value;
					const decoded = request.chunks.map((bytes, position) => decodeChunk(bytes, frame, position));
					// A frame is the unit a stream holds in memory (three at once); a larger one
					// would break the bound the service promises, so the stream stops here.
					const frameBytes = decoded.reduce((sum, chunk) => sum + chunk.data.byteLength, 0);
					if (frameBytes > maxFrameBytes) {
						throw new ServiceError(
							"RESOURCE_EXHAUSTED",
							`frames[${frame}]: ${frameBytes} bytes of chunk data is over the limit of ${maxFrameBytes} bytes per frame (LOG_INGEST_MAX_FRAME_BYTES)`,
						);
					}
					const chunks = decoded.map((chunk, position) =>
						incomingChunk(chunk, index + position, frame, position),
					);
					index += decoded.length;
					frame += 1;
					const prepared = session.prepare(chunks);
					before = storing;
					storing = Promise.all([storing, prepared]).then(([, ready]) => session.store(ready));
					// Awaited by the next turn (or below); until then its failure must not count as unhandled.
					storing.catch(() => {});
				}
			} catch (error) {
				// As before the overlap: a frame already handed over is stored (or fails
				// the stream with its own error, which came first) before the stream ends.
				await storing;
				throw error;
			}
			await storing;
			const summary = await session.finish();
			return {
				messagesAccepted: BigInt(summary.messagesAccepted),
				bytesAccepted: BigInt(summary.bytesAccepted),
				duplicatesIgnored: BigInt(summary.duplicatesIgnored),
				incomplete: BigInt(summary.incomplete),
				rejected: summary.rejected.map(itemFailure),
			};
		},

		async *tail(request, context) {
			const { target, cursor } = tailOf(request, inlineBodyBytes);
			if (!(await store.runExists(target.environmentId, target.runId))) {
				throw new ServiceError(
					"NOT_FOUND",
					`run "${target.runId}" has no logs in environment "${target.environmentId}"`,
				);
			}
			// Ends cleanly at a drain, like WaitForRun: the follower calls again from its
			// last cursor on a replica that stays, and this one's drain is not held open.
			yield* tailFrames(untilDrained(context, (signal) => store.tail(target, cursor, signal)));
		},

		async query(request) {
			const page = await store.query(logQueryOf(request, inlineBodyBytes));
			return {
				records: page.records.map(logRecord),
				nextPageToken: page.next === undefined ? "" : encodePageToken(page.next),
			};
		},

		async *readMessageBody(request) {
			const key = {
				environmentId: requireId("environment_id", request.environmentId),
				runId: requireId("run_id", request.runId),
				messageId: requireId("message_id", request.messageId),
			};
			try {
				for await (const piece of store.reader.readBody(key, BODY_PIECE_BYTES)) {
					yield { data: piece.data, offset: BigInt(piece.offset) };
				}
			} catch (error) {
				if (error instanceof MessageNotFound) throw ServiceError.notFound("message", error.messageId);
				if (error instanceof MessageNotWhole) {
					throw new ServiceError("FAILED_PRECONDITION", error.message, {
						reason: error.incomplete ? "MESSAGE_INCOMPLETE" : "MESSAGE_RECEIVING",
					});
				}
				if (error instanceof MessageNotReadable) {
					// No DATA_LOSS in the kit's codes: the body exists but is not whole as stored.
					throw new ServiceError("FAILED_PRECONDITION", error.message, { reason: "MESSAGE_CHUNKS_DAMAGED" });
				}
				throw error;
			}
		},
	};
}

/** One chunk of a frame from its wire bytes; malformed bytes fail the stream naming the chunk. */
function decodeChunk(bytes: Uint8Array, frame: number, position: number): ChunkFields {
	try {
		return readLogChunk(bytes);
	} catch (error) {
		if (!(error instanceof ChunkDecodeError)) throw error;
		throw ServiceError.invalidField(
			`frames[${frame}].chunks[${position}]`,
			`is not a valid LogChunk (${error.message})`,
		);
	}
}

/** Tail's pages as frames of at most TAIL_FRAME_BODY_BYTES of bodies (or one record), whatever the inline body size is set to. */
async function* tailFrames(pages: AsyncIterable<StoredLogRecord[]>) {
	for await (const records of pages) {
		let frame: StoredLogRecord[] = [];
		let bytes = 0;
		for (const record of records) {
			if (frame.length > 0 && bytes + record.body.byteLength > TAIL_FRAME_BODY_BYTES) {
				yield { records: frame.map(logRecord) };
				frame = [];
				bytes = 0;
			}
			frame.push(record);
			bytes += record.body.byteLength;
		}
		if (frame.length > 0) yield { records: frame.map(logRecord) };
	}
}
