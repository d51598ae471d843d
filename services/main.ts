import { allServiceModules } from "./all-services.js";
import { mainOf } from "./kit/src/index.js";

// `npm start`: every service in one process, each on its own port, one log stream.
await mainOf(allServiceModules, "taskmesh");
