/** The service kit: everything a taskmesh service gets its plumbing from. */
export * from "./config/env.js";
export * from "./config/platform-config.js";
export * from "./errors/grpc-status.js";
export * from "./errors/service-error.js";
export * from "./grpc/client.js";
export * from "./grpc/implementation.js";
export * from "./grpc/server.js";
export * from "./logging/logger.js";
export * from "./postgres/migrate.js";
export * from "./postgres/pool.js";
export * from "./postgres/transaction.js";
export * from "./redis/client.js";
export * from "./service/run-services.js";
export * from "./service/service-module.js";
export * from "./telemetry/bootstrap.js";
export * from "./telemetry/grpc-propagation.js";
export * from "./telemetry/telemetry-service-exporter.js";
