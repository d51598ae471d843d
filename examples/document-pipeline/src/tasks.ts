/**
 * A document pipeline: `doc.ingest` fans a set of documents out to `doc.parse`
 * as one batch and waits for every result, logs a large report, and hands the
 * heavy rendering to `doc.render` on a large-2x machine; `doc.nightly-digest`
 * runs on a cron.
 */
import { logger, schedules, task } from "../../../sdk/src/index.js";

/** One document to process. */
export interface Document {
	id: string;
	text: string;
}

/** What parsing finds in a document. */
export interface ParsedDocument {
	id: string;
	words: number;
	topWord: string;
}

/** Counts the words of one document and finds its most frequent word. */
export const parseDocument = task({
	id: "doc.parse",
	machine: "micro",
	retry: { maxAttempts: 3, minTimeoutInMs: 200, maxTimeoutInMs: 2000 },
	maxDuration: 60,
	run: async (doc: Document): Promise<ParsedDocument> => {
		const counts = new Map<string, number>();
		for (const word of doc.text.toLowerCase().match(/[a-z']+/g) ?? [])
			counts.set(word, (counts.get(word) ?? 0) + 1);
		let topWord = "";
		for (const [word, n] of counts) if (n > (counts.get(topWord) ?? 0)) topWord = word;
		return { id: doc.id, words: [...counts.values()].reduce((a, b) => a + b, 0), topWord };
	},
});

/** Renders the pipeline's summary; sized large-2x as a real renderer would be. */
export const renderSummary = task({
	id: "doc.render",
	machine: "large-2x",
	maxDuration: 120,
	run: async (summary: { documents: number; words: number }) => {
		const page = `<h1>${summary.documents} documents</h1><p>${summary.words} words</p>`;
		return { bytes: page.length, html: page };
	},
});

/** Ingests a set of documents: parse each in one batch, report, render. */
export const ingestDocuments = task({
	id: "doc.ingest",
	machine: "small-1x",
	queue: { name: "ingest", concurrencyLimit: 5 },
	run: async (input: { documents: Document[] }, { ctx }) => {
		logger.info("ingest started", { documents: input.documents.length, run: ctx.run.id });
		const parsed = await parseDocument.batchTriggerAndWait(input.documents.map((doc) => ({ payload: doc })));
		const results = parsed.runs.map((r) => r.unwrap());
		const words = results.reduce((sum, r) => sum + r.words, 0);
		// The full per-document report is one log message, however large: the log
		// service receives it in chunks and stores it whole.
		const report = input.documents
			.map((doc, i) => `${doc.id}\t${results[i]?.words}\t${results[i]?.topWord}\t${doc.text}`)
			.join("\n");
		logger.info(`report\n${report}`, { lines: results.length });
		const rendered = await renderSummary.triggerAndWait({ documents: results.length, words });
		return {
			documents: results.length,
			words,
			renderedBytes: rendered.unwrap().bytes,
			batchId: parsed.batchId,
		};
	},
});

/** Every night, a digest of the day's documents. */
export const nightlyDigest = schedules.task({
	id: "doc.nightly-digest",
	cron: { pattern: "0 3 * * *", timezone: "Europe/Paris" },
	run: async (payload) => {
		logger.info("nightly digest", { scheduledAt: payload?.timestamp ?? "" });
		return { ok: true };
	},
});
