/** Bodies up to this size travel as one chunk; larger ones are split at this size. */
export const DEFAULT_CHUNK_BYTES = 64 * 1024;

/** The largest body a message may have once decompressed and joined. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** The most chunks one message may have (64 MiB in 4 KiB chunks). */
export const DEFAULT_MAX_CHUNKS = 16_384;

/** The largest decompressed chunk accepted; bounds what one decompression may allocate. */
export const DEFAULT_MAX_CHUNK_BYTES = 4 * 1024 * 1024;
