export * from "./fields.js";
export { ProtoReader } from "./proto-reader.js";
export { ProtoWriter } from "./proto-writer.js";
