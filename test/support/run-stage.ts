// Serves one system function as its image does (template/ofc-node24/index.ts: runFunction over the process
// environment), so a test can run it as a child process and read its real log output.
import type { FunctionHandler } from "../../shared/function-handler.js";
import { runFunction } from "../../shared/function-server.js";

const name = process.argv[2] ?? "";
const { default: handler } = (await import(`../../functions/${name}/handler.js`)) as { default: FunctionHandler };
await runFunction(handler, process.env);
