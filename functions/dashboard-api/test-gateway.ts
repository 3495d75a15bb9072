import axios from "axios";
import type { Logger } from "pino";
import { createGateway, type Gateway } from "../../shared/gateway.js";

/**
 * The gateway client dashboard-api's tests hand its handler: the admin account, no retries (a test's stand-in answers
 * once), at `url` — a stand-in gateway, or a closed port where the path under test must never call the gateway.
 */
export function adminGateway(url: string, log: Logger): Gateway {
  return createGateway({
    url,
    payloadSecret: "",
    auth: { user: "admin", password: "pw" },
    http: axios.create(),
    log,
    retries: 0,
  });
}
