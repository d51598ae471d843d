import { isAbsolute, relative, resolve } from "node:path";
import { InvalidExporterConfig } from "../core/exporter-errors.js";

/**
 * Refuses a path outside the allowed directories. Registering a file or module
 * exporter writes files or runs code as the service, so an operator can fence
 * both in; an empty list allows any path.
 */
export function assertUnderRoots(
	path: string,
	roots: readonly string[],
	field: string,
	variable: string,
): void {
	if (roots.length === 0) return;
	if (!isAbsolute(path)) {
		throw new InvalidExporterConfig(
			field,
			`"${path}" must be an absolute path under ${roots.join(", ")} (${variable})`,
		);
	}
	const target = resolve(path);
	const inside = roots.some((root) => {
		const rel = relative(resolve(root), target);
		return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
	});
	if (!inside)
		throw new InvalidExporterConfig(field, `"${path}" is not under ${roots.join(", ")} (${variable})`);
}
