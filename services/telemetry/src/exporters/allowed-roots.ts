import { realpath } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { InvalidExporterConfig } from "../core/exporter-errors.js";

/**
 * Refuses a path outside the allowed directories. Registering a file or module
 * exporter writes files or runs code as the service, so an operator can fence
 * both in; an empty list allows any path. The check is made on real paths (a
 * symlink inside a root may lead out of it): the path's own, or for a file not
 * yet created its nearest existing ancestor's, against each root's.
 */
export async function assertUnderRoots(
	path: string,
	roots: readonly string[],
	field: string,
	variable: string,
): Promise<void> {
	if (roots.length === 0) return;
	if (!isAbsolute(path)) {
		throw new InvalidExporterConfig(
			field,
			`"${path}" must be an absolute path under ${roots.join(", ")} (${variable})`,
		);
	}
	const refused = () =>
		new InvalidExporterConfig(field, `"${path}" is not under ${roots.join(", ")} (${variable})`);
	// Lexically first, so an escape such as /root/../etc is refused whatever exists on disk.
	if (!roots.some((root) => isInside(resolve(root), resolve(path)))) throw refused();
	const real = await realPathOf(resolve(path));
	const realRoots = await Promise.all(roots.map((root) => realPathOf(resolve(root))));
	if (!realRoots.some((root) => isInside(root, real))) throw refused();
}

function isInside(root: string, target: string): boolean {
	const rel = relative(root, target);
	return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
}

/** The real path of the deepest existing ancestor, with the parts that do not exist yet appended. */
async function realPathOf(path: string): Promise<string> {
	const missing: string[] = [];
	let current = path;
	for (;;) {
		try {
			return join(await realpath(current), ...missing.reverse());
		} catch {
			const parent = dirname(current);
			if (parent === current) return path;
			missing.push(basename(current));
			current = parent;
		}
	}
}
