import type pg from "pg";

/**
 * Runs `work` in one transaction on one pooled client: COMMIT when it returns,
 * ROLLBACK when it throws (the error is rethrown), the client released either way.
 */
export async function inTransaction<T>(
	pool: pg.Pool,
	work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
	const client = await pool.connect();
	try {
		await client.query("BEGIN");
		const result = await work(client);
		await client.query("COMMIT");
		return result;
	} catch (error) {
		await client.query("ROLLBACK").catch(() => {});
		throw error;
	} finally {
		client.release();
	}
}
