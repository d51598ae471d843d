export * from "./fields.js";
export { ProtoReader } from "./proto-reader.js";
export { ProtoWriter } from "./proto-writer.js";
export { repeatedMessageField, type UnknownField } from "./repeated-field.js";
