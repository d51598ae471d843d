import type { Resources as ProtoResources } from "../../../../gen/taskmesh/common/v1/common_pb.js";
import type { ConsumerSelector } from "../../../../gen/taskmesh/queue/v1/queue_pb.js";
import type { Resources, Selector } from "../core/types.js";
import type { Violations } from "./violations.js";

/** Resources from the wire; undefined when unset. Negative or non-finite values are violations. */
export function resourcesOf(
	v: Violations,
	field: string,
	r: ProtoResources | undefined,
): Resources | undefined {
	if (r === undefined) return undefined;
	if (!Number.isFinite(r.cpu) || r.cpu < 0) v.add(`${field}.cpu`, `${r.cpu} must be 0 or more`);
	if (!Number.isFinite(r.memoryGb) || r.memoryGb < 0)
		v.add(`${field}.memory_gb`, `${r.memoryGb} must be 0 or more`);
	return { cpu: r.cpu, memoryGb: r.memoryGb };
}

/** Selectors from the wire: at least one, names checked, at most 100. */
export function selectorsOf(v: Violations, selectors: ConsumerSelector[]): Selector[] {
	if (selectors.length === 0) v.add("selectors", "must hold at least 1 selector");
	if (selectors.length > 100) v.add("selectors", `${selectors.length} selectors is over the limit of 100`);
	return selectors.map((s, i) => {
		v.name(`selectors[${i}].environment_id`, s.environmentId);
		if (s.queues.length > 1000) v.add(`selectors[${i}].queues`, `${s.queues.length} queues is over 1000`);
		for (const [k, q] of s.queues.entries()) v.name(`selectors[${i}].queues[${k}]`, q);
		return { environmentId: s.environmentId, queues: [...s.queues] };
	});
}
