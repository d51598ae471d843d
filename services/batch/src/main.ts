import { mainOf } from "../../kit/src/index.js";
import { batchModule } from "./batch-module.js";

await mainOf([batchModule], "taskmesh-batch");
