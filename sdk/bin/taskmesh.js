#!/usr/bin/env node
// Loads the TypeScript CLI in this same process through tsx, so signals sent to
// `taskmesh` (SIGTERM to a worker) reach the code that handles them.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
