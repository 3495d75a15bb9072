// What a system function image runs: its stage's handler served on http_port (shared/function-server.ts).
import handler from "./functions/handler/handler.js";
import { runFunction } from "./shared/function-server.js";

await runFunction(handler, process.env);
