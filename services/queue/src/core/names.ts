/** Queue and environment names: letters, digits and . _ - / :, at most 128. */
export const NAME = /^[A-Za-z0-9._\-/:]{1,128}$/;
/** Message ids, concurrency keys and consumer ids: also @ = +, at most 256. */
export const IDENT = /^[A-Za-z0-9._\-/:@=+]{1,256}$/;
/** A delivery token: "<nonce>.<n>", the nonce base64url and base-36 text. */
export const TOKEN = /^[A-Za-z0-9_-]{1,64}\.[0-9]{1,10}$/;
