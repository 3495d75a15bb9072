import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import axios from "axios";
import { pino } from "pino";
import { SYSTEM_FUNCTIONS } from "../functions/buildshiprun/ce-refusals.js";
import { createEditionResolver } from "../functions/buildshiprun/edition.js";
import { startGateway } from "../local/gateway.js";
import { createLocalProvider } from "../local/provider/provider.js";
import { PROJECT_ROOT } from "../local/system-stack.js";
import { createGateway } from "../shared/gateway.js";
import { readStack } from "../shared/stack.js";

const log = pino({ level: "silent" });

// Issue #11 item 1: openfaas_edition=auto must resolve the local runtime to what it does: it pulls private images
// with the registry's account (local/provider), so it is not Community Edition.
describe("openfaas_edition=auto on the local runtime's gateway", () => {
  let dir: string;
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  let provider: ReturnType<typeof createLocalProvider>;
  const auth = { user: "admin", password: "pw" };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "edition-"));
    // /system/info needs no container: the provider's Docker socket is never opened here.
    provider = createLocalProvider({
      socketPath: join(dir, "no-docker.sock"),
      stateDir: dir,
      log,
      now: () => new Date(),
    });
    gateway = await startGateway({
      functions: new Map(),
      queue: { enqueue: () => Promise.resolve() },
      log,
      provider,
      auth,
    });
  });
  afterAll(async () => {
    await gateway.close();
    provider.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("GET /system/info (ofc-local) → Pro: private images deployed unchecked, scale to zero allowed", async () => {
    const client = createGateway({ url: gateway.url, payloadSecret: "p", auth, http: axios.create(), log });
    const edition = createEditionResolver({ setting: "auto", gateway: client, log });
    expect(await edition()).toEqual({ name: "pro", publicImagesOnly: false, source: "ofc-local" });
  });
});

describe("Community Edition's function cap (issue #11)", () => {
  it(`the system's own functions in stack.yml → ${SYSTEM_FUNCTIONS}, as the cap's status says`, async () => {
    const names = (await readStack(PROJECT_ROOT, {})).functions.map((fn) => fn.name);
    expect(names).toHaveLength(SYSTEM_FUNCTIONS);
  });
});
