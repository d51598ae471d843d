export * from "./fields.js";
export { ProtoWriter } from "./proto-writer.js";
