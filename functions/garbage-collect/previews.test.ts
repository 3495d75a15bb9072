import axios from "axios";
import { pino } from "pino";
import { serveFunction } from "../../shared/function-server.js";
import { createGateway, type FunctionStatus } from "../../shared/gateway.js";
import { signHop } from "../../shared/hmac.js";
import { startRecorder, type RecordedRequest } from "../../test/support/http-recorder.js";
import { createHandler } from "./handler.js";

// Issue #17: a repository's collection stays on one side of the preview label. A main build's never removes a
// preview, a preview build's (or a branch removal's) never removes main functions nor another branch's previews.
const SECRET = "payload-secret-for-tests";
const log = pino({ level: "silent" });
const ALICE = 1001;
const BOB = 1002;

const fn = (name: string, ownerId: number, repo: string, preview?: string): FunctionStatus => ({
  name,
  image: `127.0.0.1:5000/x/${name}:1`,
  labels: {
    "com.openfaas.cloud.git-owner-id": String(ownerId),
    "com.openfaas.cloud.git-repo": repo,
    ...(preview ? { "com.openfaas.cloud.preview-branch": preview } : {}),
  },
});
const DEPLOYED = [
  fn("alice--api", ALICE, "fns"),
  fn("alice--web", ALICE, "fns"),
  fn("alice--api--feat-a-0123456789", ALICE, "fns", "feat-a-0123456789"),
  fn("alice--web--feat-a-0123456789", ALICE, "fns", "feat-a-0123456789"),
  fn("alice--api--feat-b-abcdefabcd", ALICE, "fns", "feat-b-abcdefabcd"),
  fn("alice--cli--feat-a-0123456789", ALICE, "other", "feat-a-0123456789"),
  fn("bob--api--feat-a-0123456789", BOB, "fns", "feat-a-0123456789"),
];

let gateway: Awaited<ReturnType<typeof startRecorder>>;
let server: Awaited<ReturnType<typeof serveFunction>>;
beforeEach(async () => {
  gateway = await startRecorder((req) => {
    if (req.method === "GET" && req.path.startsWith("/system/functions")) return { status: 200, body: DEPLOYED };
    if (req.method === "DELETE") return { status: 200 };
    return { status: 404 };
  });
  const client = createGateway({
    url: gateway.url,
    payloadSecret: SECRET,
    auth: { user: "admin", password: "pw" },
    http: axios.create(),
    log,
    sleep: () => Promise.resolve(),
  });
  server = await serveFunction(createHandler({ payloadSecret: SECRET, gateway: client, log }));
});
afterEach(async () => {
  await server.close();
  await gateway.close();
});

async function collect(request: object): Promise<string[]> {
  const text = JSON.stringify(request);
  const res = await axios.post<unknown>(server.url, Buffer.from(text), {
    headers: { "content-type": "application/json", "x-cloud-signature-256": signHop(SECRET, "garbage-collect", text) },
    validateStatus: () => true,
  });
  expect(res.status).toBe(200);
  return deletes(gateway.requests);
}
const deletes = (requests: RecordedRequest[]) =>
  requests
    .filter((r) => r.method === "DELETE")
    .map((r) => (JSON.parse(r.body.toString()) as { functionName: string }).functionName);

describe("garbage-collect and previews", () => {
  const alice = { owner: "alice", ownerId: ALICE, repo: "fns" };
  it.each([
    ["a main build that kept only api", { ...alice, functions: ["alice--api"] }, ["alice--web"]],
    ["a main build of an emptied stack", { ...alice, functions: [] }, ["alice--api", "alice--web"]],
    [
      "a feat-a preview build that kept only api",
      { ...alice, functions: ["alice--api--feat-a-0123456789"], preview: "feat-a-0123456789" },
      ["alice--web--feat-a-0123456789"],
    ],
    [
      "feat-a deleted (nothing kept)",
      { ...alice, functions: [], preview: "feat-a-0123456789" },
      ["alice--api--feat-a-0123456789", "alice--web--feat-a-0123456789"],
    ],
    ["feat-b deleted", { ...alice, functions: [], preview: "feat-b-abcdefabcd" }, ["alice--api--feat-b-abcdefabcd"]],
    ["a branch with no preview deleted", { ...alice, functions: [], preview: "gone-9999999999" }, []],
  ])("%s → exactly its side's functions of alice/fns removed", async (_, request, expected) => {
    expect(await collect(request)).toEqual(expected);
  });

  it("an uninstall (*) → main and preview functions of that owner alike", async () => {
    const gone = await collect({ ...alice, repo: "*", functions: [] });
    expect(gone.sort()).toEqual(
      DEPLOYED.filter((f) => f.name.startsWith("alice--"))
        .map((f) => f.name)
        .sort(),
    );
  });
});
