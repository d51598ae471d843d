import type pg from "pg";
import { type CopyValue, type CopyWriter, copyWriterOf } from "./copy-writer.js";

export { CopyBufferPool, type CopyValue, CopyWriter } from "./copy-writer.js";

interface CopyConnection {
	query(text: string): void;
	endCopyFrom(): void;
	/** The server's socket; the CopyData message is written to it as encoded. */
	stream: { write(data: Buffer, sent: () => void): boolean };
}

/**
 * A `COPY ... FROM STDIN` for pg's client: pg runs any object with a submit()
 * method as a query and hands it the protocol events, so the payload goes out as
 * CopyData messages once the server asks for it. Resolves with the rows copied.
 */
class CopyFromStdin {
	readonly done: Promise<number>;
	private resolve!: (rows: number) => void;
	private reject!: (error: unknown) => void;
	private rows = 0;
	private failed: unknown;

	constructor(
		private readonly text: string,
		/** One whole CopyData message (CopyWriter.finish). */
		private readonly message: Buffer,
		/** Called once the socket has taken the message: its buffer may be used again. */
		private readonly sent: () => void,
	) {
		this.done = new Promise((resolve, reject) => {
			this.resolve = resolve;
			this.reject = reject;
		});
	}

	submit(connection: CopyConnection): void {
		connection.query(this.text);
	}

	handleCopyInResponse(connection: CopyConnection): void {
		// pg's own sendCopyFromChunk would copy the data into a new message buffer;
		// the writer already framed it, so it goes out as is, ahead of CopyDone on the
		// same stream.
		connection.stream.write(this.message, this.sent);
		connection.endCopyFrom();
	}

	handleCommandComplete(message: { text?: string }): void {
		this.rows = Number(/(\d+)$/.exec(message.text ?? "")?.[1] ?? 0);
	}

	handleError(error: unknown): void {
		// pg forgets this query on an error, so the ReadyForQuery after it never comes here.
		this.failed = error;
		this.reject(error);
	}

	handleReadyForQuery(): void {
		if (this.failed === undefined) this.resolve(this.rows);
	}

	handleRowDescription(): void {}
	handleDataRow(): void {}
	handleEmptyQuery(): void {}
	handlePortalSuspended(): void {}
	handleCopyData(): void {}
}

/** Copies rows into a table's listed columns with binary COPY; returns how many. */
export async function copyRows(
	client: Pick<pg.PoolClient, "query">,
	table: string,
	columns: readonly string[],
	rows: CopyValue[][],
): Promise<number> {
	if (rows.length === 0) return 0;
	return copyEncoded(client, table, columns, copyWriterOf(rows));
}

/**
 * Copies the rows a CopyWriter holds into a table's listed columns; returns how
 * many. The writer is finished here and released once its bytes are on the socket.
 */
export async function copyEncoded(
	client: Pick<pg.PoolClient, "query">,
	table: string,
	columns: readonly string[],
	rows: CopyWriter,
): Promise<number> {
	const copy = new CopyFromStdin(
		`COPY ${table} (${columns.join(", ")}) FROM STDIN (FORMAT binary)`,
		rows.finish(),
		() => rows.release(),
	);
	(client.query as unknown as (submittable: CopyFromStdin) => void)(copy);
	return copy.done;
}

const UNIQUE_VIOLATION = "23505";

/**
 * Fewest rows worth copyOrConflict: it takes three round trips (the savepoint, the
 * COPY, its release) where a single INSERT takes one.
 */
export const COPY_MIN_ROWS = 64;

/**
 * Runs a binary COPY inside a savepoint: the fast way in when no row exists yet,
 * which is nearly always. A row already there (a sender's retry) fails the COPY as
 * a whole; then the savepoint is rolled back and false tells the caller to take the
 * slower statement that skips existing rows one by one.
 */
export async function copyOrConflict(
	client: Pick<pg.PoolClient, "query">,
	name: string,
	copy: () => Promise<number>,
): Promise<boolean> {
	await client.query(`SAVEPOINT ${name}`);
	try {
		await copy();
		await client.query(`RELEASE SAVEPOINT ${name}`);
		return true;
	} catch (error) {
		if ((error as { code?: string }).code !== UNIQUE_VIOLATION) throw error;
		await client.query(`ROLLBACK TO SAVEPOINT ${name}`);
		return false;
	}
}
