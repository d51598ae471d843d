/** The worker runtime, for hosting a worker in your own process instead of `taskmesh worker`. */
export { TaskLoadError } from "./attempt-process.js";
export type { Resources } from "./resource-ledger.js";
export { Worker, type WorkerOptions } from "./worker.js";
