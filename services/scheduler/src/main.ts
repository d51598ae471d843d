import { mainOf } from "../../kit/src/index.js";
import { schedulerModule } from "./scheduler-module.js";

await mainOf([schedulerModule], "taskmesh-scheduler");
