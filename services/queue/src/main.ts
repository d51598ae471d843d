import { mainOf } from "../../kit/src/index.js";
import { queueModule } from "./queue-module.js";

await mainOf([queueModule], "taskmesh-queue");
