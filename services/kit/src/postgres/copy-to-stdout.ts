import type pg from "pg";
import { COPY_SIGNATURE } from "./copy-writer.js";

/** The binary COPY file header: signature, flags and header extension length. */
const HEADER_BYTES = COPY_SIGNATURE.byteLength + 4 + 4;

/** One row of a binary COPY: each field's bytes, or null for NULL. */
export type CopiedRow = Array<Buffer | null>;

/**
 * A `COPY ... TO STDOUT (FORMAT binary)` for pg's client (run as a submittable,
 * as CopyFromStdin is). PostgreSQL sends one CopyData message per row, the file
 * header ahead of the first row and the trailer (a field count of -1) alone.
 */
class CopyToStdout {
	readonly done: Promise<CopiedRow[]>;
	private resolve!: (rows: CopiedRow[]) => void;
	private reject!: (error: unknown) => void;
	private readonly rows: CopiedRow[] = [];
	private headerRead = false;
	private failed: unknown;

	constructor(private readonly text: string) {
		this.done = new Promise((resolve, reject) => {
			this.resolve = resolve;
			this.reject = reject;
		});
	}

	submit(connection: { query(text: string): void }): void {
		connection.query(this.text);
	}

	handleCopyData(message: { chunk: Buffer }): void {
		if (this.failed !== undefined) return;
		try {
			this.readRow(message.chunk);
		} catch (error) {
			// The rest of the COPY still arrives; the error is answered once it ends.
			this.failed = error;
		}
	}

	/**
	 * The chunk is a view of pg's read buffer, which pg overwrites with later
	 * socket data, so each field is copied out here.
	 */
	private readRow(chunk: Buffer): void {
		let at = 0;
		if (!this.headerRead) {
			if (COPY_SIGNATURE.compare(chunk, 0, COPY_SIGNATURE.byteLength) !== 0)
				throw new Error("not a binary COPY stream");
			at = HEADER_BYTES + chunk.readInt32BE(HEADER_BYTES - 4);
			this.headerRead = true;
		}
		const fields = chunk.readInt16BE(at);
		at += 2;
		if (fields === -1) return;
		const row: CopiedRow = new Array(fields);
		for (let i = 0; i < fields; i++) {
			const length = chunk.readInt32BE(at);
			at += 4;
			if (length === -1) {
				row[i] = null;
				continue;
			}
			if (at + length > chunk.byteLength) throw new Error("a binary COPY row ends inside a field");
			row[i] = Buffer.from(chunk.subarray(at, at + length));
			at += length;
		}
		this.rows.push(row);
	}

	handleError(error: unknown): void {
		// pg forgets this query on an error, so the ReadyForQuery after it never comes here.
		this.failed = error;
		this.finish();
	}

	handleReadyForQuery(): void {
		this.finish();
	}

	private finish(): void {
		if (this.failed === undefined) this.resolve(this.rows);
		else this.reject(this.failed);
	}

	handleCommandComplete(): void {}
	handleRowDescription(): void {}
	handleDataRow(): void {}
	handleEmptyQuery(): void {}
	handlePortalSuspended(): void {}
	handleCopyInResponse(connection: { sendCopyFail(message: string): void }): void {
		connection.sendCopyFail("this COPY only reads");
	}
}

/**
 * Rows of a query by binary `COPY (query) TO STDOUT`, each field as its raw bytes.
 * Bytes travel as they are: a bytea column read by a plain SELECT arrives as a hex
 * string twice its size that pg then parses into a new Buffer, so reading large
 * values by SELECT makes about four times their size in garbage. COPY takes no
 * parameters: the query must hold only literals the caller has made safe.
 *
 * It takes a client, never a Pool: a Pool's query() releases its client only
 * through a callback that pg does not attach to a query object like this one.
 */
export async function copyRowsOut(client: pg.ClientBase, query: string): Promise<CopiedRow[]> {
	const copy = new CopyToStdout(`COPY (${query}) TO STDOUT (FORMAT binary)`);
	(client.query as unknown as (submittable: CopyToStdout) => void)(copy);
	return copy.done;
}
