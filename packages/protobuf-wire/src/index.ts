export { type TaskErrorFields, taskErrorField } from "./common-messages.js";
export * from "./fields.js";
export { ProtoReader } from "./proto-reader.js";
export { ProtoWriter } from "./proto-writer.js";
export { enter, leave, NOT_HANDLED, tagOf, text } from "./reading.js";
export { repeatedMessageField, type UnknownField } from "./repeated-field.js";
