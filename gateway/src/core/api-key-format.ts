import { createHash, randomBytes } from "node:crypto";

/** Every key starts with this, so leaked keys are easy to recognise and scan for. */
export const KEY_PREFIX = "tmk_";

/** Project and environment names: lower-case slugs. */
export const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** A new secret key: the prefix and 32 random bytes in base64url (256 bits). */
export function generateKey(): string {
	return `${KEY_PREFIX}${randomBytes(32).toString("base64url")}`;
}

/** The SHA-256 digest stored in place of a key; a key of 256 random bits needs no slow hash. */
export function hashKey(key: string): Buffer {
	return createHash("sha256").update(key, "utf8").digest();
}

/** The part of a key that may be shown in listings: its prefix and first six characters. */
export function displayPrefix(key: string): string {
	return key.slice(0, KEY_PREFIX.length + 6);
}

/** True when a string has the shape of a key (checked before any lookup). */
export function looksLikeKey(value: string): boolean {
	return value.startsWith(KEY_PREFIX) && /^[A-Za-z0-9_-]{43}$/.test(value.slice(KEY_PREFIX.length));
}

/** The environment id services scope by, for a project's environment. */
export function environmentIdOf(project: string, environment: string): string {
	// Slugs hold no dots, so the joined id maps back to exactly one pair.
	return `${project}.${environment}`;
}

/** A random id for a key record: "key_" and 16 hex characters. */
export function newKeyId(): string {
	return `key_${randomBytes(8).toString("hex")}`;
}
