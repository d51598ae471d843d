import { ServiceError } from "../../../kit/src/index.js";

/** A named machine size. */
export interface MachinePreset {
	name: string;
	cpu: number;
	memoryGb: number;
}

/** Every preset, smallest first. */
export const MACHINE_PRESETS: readonly MachinePreset[] = [
	{ name: "micro", cpu: 0.25, memoryGb: 0.25 },
	{ name: "small-1x", cpu: 0.5, memoryGb: 0.5 },
	{ name: "small-2x", cpu: 1, memoryGb: 1 },
	{ name: "medium-1x", cpu: 1, memoryGb: 2 },
	{ name: "medium-2x", cpu: 2, memoryGb: 4 },
	{ name: "large-1x", cpu: 4, memoryGb: 8 },
	{ name: "large-2x", cpu: 8, memoryGb: 16 },
];

/** The preset of a run that names none. */
export const DEFAULT_PRESET = "small-1x";

/** What a run or task asks for: a preset name or custom resources. */
export type MachineRequest = { preset: string } | { cpu: number; memoryGb: number };

const largest = MACHINE_PRESETS[MACHINE_PRESETS.length - 1] as MachinePreset;

/**
 * The preset a request lands on: a name must be known; custom resources are rounded
 * up to the smallest preset that fits both cpu and memory. `field` names the
 * request field in errors.
 */
export function resolveMachine(request: MachineRequest | undefined, field: string): MachinePreset {
	if (request === undefined) return presetNamed(DEFAULT_PRESET) as MachinePreset;
	if ("preset" in request) {
		const found = presetNamed(request.preset);
		if (found === undefined) {
			throw ServiceError.invalidField(
				`${field}.preset`,
				`unknown machine preset "${request.preset}"; valid presets are ${MACHINE_PRESETS.map((p) => p.name).join(", ")}`,
			);
		}
		return found;
	}
	checkAmount(`${field}.custom.cpu`, request.cpu, largest.cpu, "vCPU");
	checkAmount(`${field}.custom.memory_gb`, request.memoryGb, largest.memoryGb, "GB");
	const fit = MACHINE_PRESETS.find((p) => p.cpu >= request.cpu && p.memoryGb >= request.memoryGb);
	// checkAmount bounds both values by the largest preset, so one always fits.
	return fit ?? largest;
}

/** The preset with this name, if any. */
export function presetNamed(name: string): MachinePreset | undefined {
	return MACHINE_PRESETS.find((p) => p.name === name);
}

function checkAmount(field: string, value: number, max: number, unit: string): void {
	if (!Number.isFinite(value) || value <= 0) {
		throw ServiceError.invalidField(field, `${value} must be greater than 0`);
	}
	if (value > max) {
		throw ServiceError.invalidField(
			field,
			`${value} ${unit} is above the largest preset (${largest.name}: ${max} ${unit})`,
		);
	}
}
