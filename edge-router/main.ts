// edge-router's composition root: `node --import tsx edge-router/main.ts` (issue #13). The only place that reads
// process.env.
import { createLogger } from "../shared/log.js";
import { loadRouterConfig } from "./config.js";
import { createEdgeRouter } from "./server.js";

// Calls in flight may finish within Kubernetes' default termination grace (30 s) after the SIGTERM.
const SHUTDOWN_GRACE_MS = 25_000;

const config = loadRouterConfig(process.env);
const log = createLogger("edge-router", config.log_level);
const router = createEdgeRouter({
  domain: config.domain,
  gatewayUrl: config.gateway_url,
  trustedProxies: config.trustedProxies,
  log,
});

router.server.listen(config.port, config.host, () => {
  const address = router.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  log.info(
    { host: config.host, port, domain: config.domain, gateway: config.gateway_url, trusted: config.trusted_proxies },
    "edge-router listening",
  );
  // A parent that started this process (bench/edge-router.ts) learns the port it got.
  process.send?.({ port });
});

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    router.close(SHUTDOWN_GRACE_MS).then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
