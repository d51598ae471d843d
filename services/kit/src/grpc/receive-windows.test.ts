import assert from "node:assert/strict";
import { connect } from "node:http2";
import { describe, test } from "node:test";
import { startTestServer } from "../testing/grpc.js";

/** Connects a raw HTTP/2 client and reports the windows the server granted it. */
async function grantedWindows(url: string): Promise<{ stream: number; connection: number }> {
	const session = connect(url);
	try {
		await new Promise<void>((resolve, reject) => {
			session.once("remoteSettings", () => resolve());
			session.once("error", reject);
		});
		// The connection window arrives as a WINDOW_UPDATE after the settings; a ping's
		// round trip is enough for it to be applied.
		await new Promise<void>((resolve, reject) =>
			session.ping((error) => (error ? reject(error) : resolve())),
		);
		return {
			stream: session.remoteSettings.initialWindowSize ?? 0,
			connection: session.state.remoteWindowSize ?? 0,
		};
	} finally {
		session.close();
	}
}

describe("HTTP/2 receive windows", () => {
	test("a server given receive windows grants them to every connection; others keep HTTP/2's 64 KiB", async () => {
		const wide = await startTestServer([], {
			receiveWindows: { streamBytes: 4 * 1024 * 1024, connectionBytes: 16 * 1024 * 1024 },
		});
		const plain = await startTestServer([]);
		try {
			assert.deepEqual(await grantedWindows(wide.url), {
				stream: 4 * 1024 * 1024,
				connection: 16 * 1024 * 1024,
			});
			assert.deepEqual(await grantedWindows(plain.url), { stream: 65_535, connection: 65_535 });
		} finally {
			wide.forceStop();
			plain.forceStop();
		}
	});
});
