import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const parentScript = fileURLToPath(new URL("./fixtures/spawning-parent.ts", import.meta.url));

function alive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

test("a service spawned by a runner that is killed outright exits on its own", async () => {
	const runner = spawn(process.execPath, ["--import", "tsx", parentScript], {
		stdio: ["ignore", "pipe", "inherit"],
	});
	let servicePid = 0;
	for await (const line of createInterface({ input: runner.stdout })) {
		const match = /^service pid (\d+)$/.exec(line);
		if (match !== null) {
			servicePid = Number(match[1]);
			break;
		}
	}
	assert.ok(servicePid > 0 && alive(servicePid), "the service is up before its runner dies");
	const runnerExited = once(runner, "exit");
	runner.kill("SIGKILL"); // no cleanup of its own: as a runner killed by a timeout
	await runnerExited;
	const deadline = Date.now() + 10_000;
	while (alive(servicePid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
	const stillAlive = alive(servicePid);
	if (stillAlive) process.kill(servicePid, "SIGKILL");
	assert.equal(stillAlive, false, "the orphaned service should have exited within 10 s");
});
