import { ServiceError } from "../../../kit/src/index.js";

/** Longest environment id accepted. */
export const MAX_ENVIRONMENT_ID_LENGTH = 128;

/** The environment id of a request, checked. */
export function environmentIdOf(request: { environmentId: string }): string {
	const id = request.environmentId;
	if (id === "") throw ServiceError.invalidField("environment_id", "is required");
	if (id.length > MAX_ENVIRONMENT_ID_LENGTH) {
		throw ServiceError.invalidField(
			"environment_id",
			`${id.length} characters is over the limit of ${MAX_ENVIRONMENT_ID_LENGTH}`,
		);
	}
	return id;
}

/** A required name field. */
export function nameOf(request: { name: string }): string {
	if (request.name === "") throw ServiceError.invalidField("name", "is required");
	return request.name;
}
