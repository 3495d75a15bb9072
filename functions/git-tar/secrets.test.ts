import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import type { Gateway, Invocation } from "../../shared/gateway.js";
import { importRepoSecrets, pruneRepoSecrets } from "./secrets.js";

const ALICE = { owner: "alice", ownerId: 1001, repo: "fns" };
let dir: string;
let sent: { name: string; body: unknown }[];
const gatewayAnswering = (status: number, body: string | object): Pick<Gateway, "invoke"> => ({
  invoke: (name, data) => {
    sent.push({ name, body: JSON.parse(String(data)) as unknown });
    const text = typeof body === "string" ? body : JSON.stringify(body);
    return Promise.resolve<Invocation>({ status, body: Buffer.from(text), headers: {} });
  },
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "git-tar-secrets-"));
  sent = [];
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("importRepoSecrets", () => {
  it("no secrets.yml → [] without calling import-secrets", async () => {
    await expect(importRepoSecrets(gatewayAnswering(200, {}), ALICE, dir)).resolves.toEqual([]);
    expect(sent).toEqual([]);
  });

  it("a secrets.yml → sent whole with the owner, the imported names answered", async () => {
    await writeFile(join(dir, "secrets.yml"), "kind: SealedSecret\n");
    const gateway = gatewayAnswering(200, { imported: ["alice--db"] });
    await expect(importRepoSecrets(gateway, ALICE, dir)).resolves.toEqual(["alice--db"]);
    expect(sent).toEqual([
      { name: "import-secrets", body: { action: "import", ...ALICE, file: "kind: SealedSecret\n" } },
    ]);
  });

  it.each([
    [
      400,
      "secret bob--db does not belong to alice",
      { status: 400, message: "secret bob--db does not belong to alice" },
    ],
    [404, "function not found", { status: 502, message: "import-secrets answered 404: function not found" }],
    [401, "invalid signature", { status: 502, message: "import-secrets answered 401: invalid signature" }],
  ])("import-secrets answering %i → HttpError %j", async (status, body, error) => {
    await writeFile(join(dir, "secrets.yml"), "x: 1\n");
    await expect(importRepoSecrets(gatewayAnswering(status, body), ALICE, dir)).rejects.toMatchObject(error);
  });

  it("a secrets.yml over 1 MiB → refused before it is sent", async () => {
    await writeFile(join(dir, "secrets.yml"), Buffer.alloc(1024 * 1024 + 1, 0x61));
    await expect(importRepoSecrets(gatewayAnswering(200, {}), ALICE, dir)).rejects.toMatchObject({ status: 400 });
    expect(sent).toEqual([]);
  });
});

describe("pruneRepoSecrets", () => {
  it("sends the names to keep; a refusal is logged, not thrown", async () => {
    await pruneRepoSecrets(gatewayAnswering(500, "down"), ALICE, ["alice--db"], pino({ level: "silent" }));
    expect(sent).toEqual([{ name: "import-secrets", body: { action: "prune", ...ALICE, keep: ["alice--db"] } }]);
  });
});
