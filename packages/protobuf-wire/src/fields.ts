import type { ProtoWriter } from "./proto-writer.js";

/** Wire types. */
export const VARINT = 0;
export const BIT64 = 1;
export const LENGTH_DELIMITED = 2;

/**
 * Proto3 fields as protobuf-es's toBinary writes them: a scalar with implicit
 * presence is left out when it holds its zero value; a submessage, once present,
 * is written even when empty.
 */

/** A submessage: its tag, then what `body` writes, with its length in front. */
export function messageField(w: ProtoWriter, field: number, body: () => void): void {
	w.tag(field, LENGTH_DELIMITED).begin();
	body();
	w.end();
}

export function stringField(w: ProtoWriter, field: number, value: string | undefined): void {
	if (value === undefined || value === "") return;
	w.tag(field, LENGTH_DELIMITED).string(value);
}

export function bytesField(w: ProtoWriter, field: number, value: Uint8Array): void {
	if (value.byteLength === 0) return;
	w.tag(field, LENGTH_DELIMITED).bytes(value);
}

/** int32, int64 (below 2^53) and enum fields. */
export function int32Field(w: ProtoWriter, field: number, value: number | undefined): void {
	if (value !== undefined && value !== 0) w.tag(field, VARINT).int(value);
}

export function doubleField(w: ProtoWriter, field: number, value: number): void {
	// protobuf-es leaves out 0 but writes -0 (and NaN): both are "set" for a double.
	if (value === 0 && !Object.is(value, -0)) return;
	w.tag(field, BIT64).double(value);
}

/** A bool field, left out when false. */
export function boolField(w: ProtoWriter, field: number, value: boolean): void {
	if (value) w.tag(field, VARINT).uint(1);
}

/** google.protobuf.Timestamp or Duration from whole seconds and nanoseconds. */
export function secondsAndNanosField(w: ProtoWriter, field: number, seconds: number, nanos: number): void {
	w.tag(field, LENGTH_DELIMITED).begin();
	if (seconds !== 0) w.tag(1, VARINT).int(seconds);
	if (nanos !== 0) w.tag(2, VARINT).int(nanos);
	w.end();
}

/** google.protobuf.Timestamp from ms since the epoch, as timestampFromMs makes it. */
export function timestampField(w: ProtoWriter, field: number, ms: number): void {
	const seconds = Math.floor(ms / 1000);
	secondsAndNanosField(w, field, seconds, Math.round((ms - seconds * 1000) * 1_000_000));
}
