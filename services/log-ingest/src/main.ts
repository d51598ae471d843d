import { mainOf } from "../../kit/src/index.js";
import { logIngestModule } from "./log-ingest-module.js";

await mainOf([logIngestModule], "taskmesh-log-ingest");
