import type pg from "pg";

/** A column value in PostgreSQL's binary COPY format, by the column's type. */
export type CopyValue =
	| { type: "text"; value: string }
	| { type: "int2" | "int4"; value: number }
	| { type: "int8"; value: bigint }
	| { type: "bool"; value: boolean }
	| { type: "bytea"; value: Uint8Array }
	| { type: "jsonb"; value: string }
	| null;

const SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");
const PIECE_BYTES = 256 * 1024;

function fieldSize(field: CopyValue): number {
	if (field === null) return 4;
	switch (field.type) {
		case "text":
			return 4 + Buffer.byteLength(field.value, "utf8");
		case "jsonb":
			return 5 + Buffer.byteLength(field.value, "utf8");
		case "int2":
			return 6;
		case "int4":
			return 8;
		case "int8":
			return 12;
		case "bool":
			return 5;
		case "bytea":
			return 4 + field.value.byteLength;
	}
}

/**
 * Encodes rows in PostgreSQL's binary COPY format into one buffer sized up front:
 * bytes travel as they are (no hex), numbers as fixed-width integers, and the only
 * allocation is the buffer itself, which keeps the garbage collector out of the way.
 */
export function encodeBinaryCopy(rows: CopyValue[][]): Buffer {
	let size = SIGNATURE.length + 8 + 2;
	for (const row of rows) {
		size += 2;
		for (const field of row) size += fieldSize(field);
	}
	const out = Buffer.allocUnsafe(size);
	let at = SIGNATURE.copy(out);
	at = out.writeInt32BE(0, at);
	at = out.writeInt32BE(0, at);
	for (const row of rows) {
		at = out.writeInt16BE(row.length, at);
		for (const field of row) at = writeField(out, at, field);
	}
	out.writeInt16BE(-1, at);
	return out;
}

function writeField(out: Buffer, at: number, field: CopyValue): number {
	if (field === null) return out.writeInt32BE(-1, at);
	switch (field.type) {
		case "text": {
			const length = out.write(field.value, at + 4, "utf8");
			out.writeInt32BE(length, at);
			return at + 4 + length;
		}
		case "jsonb": {
			// jsonb's binary form is a version byte (1) and then the JSON text.
			out[at + 4] = 1;
			const length = out.write(field.value, at + 5, "utf8");
			out.writeInt32BE(length + 1, at);
			return at + 5 + length;
		}
		case "int2":
			return out.writeInt16BE(field.value, out.writeInt32BE(2, at));
		case "int4":
			return out.writeInt32BE(field.value, out.writeInt32BE(4, at));
		case "int8":
			return out.writeBigInt64BE(field.value, out.writeInt32BE(8, at));
		case "bool":
			return out.writeUInt8(field.value ? 1 : 0, out.writeInt32BE(1, at));
		case "bytea":
			out.set(field.value, out.writeInt32BE(field.value.byteLength, at));
			return at + 4 + field.value.byteLength;
	}
}

interface CopyConnection {
	query(text: string): void;
	sendCopyFromChunk(chunk: Buffer): void;
	endCopyFrom(): void;
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
		private readonly payload: Buffer,
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
		for (let at = 0; at < this.payload.byteLength; at += PIECE_BYTES) {
			connection.sendCopyFromChunk(this.payload.subarray(at, at + PIECE_BYTES));
		}
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
	columns: string[],
	rows: CopyValue[][],
): Promise<number> {
	if (rows.length === 0) return 0;
	const copy = new CopyFromStdin(
		`COPY ${table} (${columns.join(", ")}) FROM STDIN (FORMAT binary)`,
		encodeBinaryCopy(rows),
	);
	(client.query as unknown as (submittable: CopyFromStdin) => void)(copy);
	return copy.done;
}

const UNIQUE_VIOLATION = "23505";

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
