import { mainOf } from "../../kit/src/index.js";
import { telemetryModule } from "./telemetry-module.js";

await mainOf([telemetryModule], "taskmesh-telemetry");
