import { type DescFile, type DescService, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { Server } from "@grpc/grpc-js";
import type { PackageDefinition } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { Health } from "../../../../gen/grpc/health/v1/health_pb.js";

/**
 * Server reflection (v1 and v1alpha) built from the protobuf-es descriptors the
 * services are served with, plus grpc.health.v1, so grpcurl, buf curl and ghz
 * work with no .proto files at hand.
 */
export function addReflection(server: Server, services: DescService[]): void {
	const files = new Map<string, Buffer>();
	const visit = (file: DescFile) => {
		if (files.has(file.name)) return;
		const bytes = toBinary(FileDescriptorProtoSchema, file.proto);
		files.set(file.name, Buffer.from(bytes));
		for (const dependency of file.dependencies) visit(dependency);
	};
	for (const service of [...services, Health]) visit(service.file);

	// @grpc/reflection reads every value's fileDescriptorProtos; one entry that
	// carries all our files is enough for it to index every symbol.
	const definition: PackageDefinition = {
		"taskmesh.descriptors": {
			format: "Protocol Buffer 3 DescriptorProto",
			type: {},
			fileDescriptorProtos: [...files.values()],
		},
	} as PackageDefinition;
	new ReflectionService(definition, {
		services: [...services.map((s) => s.typeName), Health.typeName],
	}).addToServer(server);
}
