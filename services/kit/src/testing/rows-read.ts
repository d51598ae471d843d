import type pg from "pg";

/** A statement as code under test ran it. */
export interface Statement {
	text: string;
	values: unknown[];
}

/**
 * Runs `body` with the pool's `query` observed (the pool stays real: every
 * statement runs as before) and returns the statements it ran, in order.
 */
export async function statementsRunBy(pool: pg.Pool, body: () => Promise<unknown>): Promise<Statement[]> {
	const seen: Statement[] = [];
	const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
	const observed = (...args: unknown[]) => {
		const [first, second] = args;
		if (typeof first === "string") seen.push({ text: first, values: Array.isArray(second) ? second : [] });
		else {
			const config = first as { text: string; values?: unknown[] };
			seen.push({ text: config.text, values: config.values ?? [] });
		}
		return query(...args);
	};
	const own = Object.getOwnPropertyDescriptor(pool, "query");
	(pool as unknown as { query: unknown }).query = observed;
	try {
		await body();
	} finally {
		// Back to what it was: the prototype's method, or a property of its own.
		if (own === undefined) delete (pool as unknown as { query?: unknown }).query;
		else Object.defineProperty(pool, "query", own);
	}
	return seen;
}

interface PlanNode {
	"Node Type": string;
	"Actual Rows": number;
	"Actual Loops": number;
	"Rows Removed by Filter"?: number;
	"Rows Removed by Index Recheck"?: number;
	Plans?: PlanNode[];
}

const TABLE_SCANS = new Set(["Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan"]);

/**
 * How many table rows a statement's plan visits, over all its scans and their
 * loops, kept or filtered out (EXPLAIN ANALYZE, which runs it once more). This is
 * what a query costs as its tables grow, which no wall-clock time on a test's
 * small tables shows: a page that should read its own rows but reads the whole
 * batch or environment is told apart here. Only for statements without side
 * effects.
 */
export async function rowsReadBy(pool: pg.Pool, statement: Statement): Promise<number> {
	const { rows } = await pool.query<{ "QUERY PLAN": Array<{ Plan: PlanNode }> }>(
		`EXPLAIN (ANALYZE, FORMAT JSON) ${statement.text}`,
		statement.values,
	);
	const visit = (node: PlanNode): number => {
		// EXPLAIN gives rows and removed rows per loop.
		const own = TABLE_SCANS.has(node["Node Type"])
			? (node["Actual Rows"] +
					(node["Rows Removed by Filter"] ?? 0) +
					(node["Rows Removed by Index Recheck"] ?? 0)) *
				node["Actual Loops"]
			: 0;
		return own + (node.Plans ?? []).reduce((sum, child) => sum + visit(child), 0);
	};
	const plan = rows[0]?.["QUERY PLAN"][0]?.Plan;
	if (plan === undefined) throw new Error(`no plan for ${statement.text}`);
	return visit(plan);
}
