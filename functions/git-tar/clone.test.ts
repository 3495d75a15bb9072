import { jest } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm } from "node:fs/promises";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startGitServer, type GitRepo, type GitServer } from "../../local/git-server/git-server.js";
import { cloneAt } from "./clone.js";

const MIB = 1024 * 1024;
const TOKEN = "ghs_installation_token";

let server: GitServer;
let base: string;
let dir: string;

beforeAll(async () => {
  server = await startGitServer();
});
afterAll(() => server.close());
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "clone-test-"));
  dir = join(base, "checkout");
  await mkdir(dir);
});
afterEach(async () => {
  jest.restoreAllMocks();
  await rm(base, { recursive: true, force: true });
});

async function pushed(name: string, files: Parameters<GitRepo["commit"]>[0], options = {}) {
  const repo = await server.createRepo("alice", name, options);
  const sha = await repo.commit(files);
  await repo.push();
  return { repo, sha, url: `${server.url}/alice/${name}.git` };
}

/** Sums the sizes of everything under `path`, without following symlinks. */
async function diskBytes(path: string): Promise<number> {
  const stats = await lstat(path);
  if (!stats.isDirectory()) return stats.size;
  const names = await readdir(path);
  const sizes = await Promise.all(names.map((name) => diskBytes(join(path, name))));
  return sizes.reduce((sum, size) => sum + size, 0);
}

describe("cloneAt", () => {
  it("public repo at the tip → files checked out and the tip returned", async () => {
    const { sha, url } = await pushed("tip", { "stack.yml": "version: 1.0\n", "fn/handler.js": "ok\n" });
    const result = await cloneAt({ url, sha, branch: "master", dir, maxBytes: 10 * MIB });
    expect(result.tip).toBe(sha);
    expect(result.bytes).toBeGreaterThan(0);
    expect(await readFile(join(dir, "fn/handler.js"), "utf8")).toBe("ok\n");
    expect((await readFile(join(dir, ".git/HEAD"), "utf8")).trim()).toBe(sha);
  });

  it("SHA 30 commits below the tip → deepened until found, its files checked out, the newer tip returned", async () => {
    const { repo, sha: old, url } = await pushed("deep", { "n.txt": "0\n" });
    let tip = old;
    for (let n = 1; n <= 30; n++) tip = await repo.commit({ "n.txt": `${n}\n` }, `commit ${n}`);
    await repo.push();
    const result = await cloneAt({ url, sha: old, branch: "master", dir, maxBytes: 10 * MIB });
    expect(result.tip).toBe(tip);
    expect(await readFile(join(dir, "n.txt"), "utf8")).toBe("0\n");
  });

  it("SHA force-pushed away → 400 not on branch", async () => {
    const { repo, sha: first, url } = await pushed("forced", { "a.txt": "a\n" });
    const lost = await repo.commit({ "b.txt": "b\n" });
    await repo.push();
    await repo.resetHard(first);
    await repo.commit({ "c.txt": "c\n" });
    await repo.push({ force: true });
    await expect(cloneAt({ url, sha: lost, branch: "master", dir, maxBytes: 10 * MIB })).rejects.toMatchObject({
      status: 400,
      message: `commit ${lost.slice(0, 7)} is not on branch master (force-pushed or deleted)`,
    });
  });

  it("branch deleted → 400 not on branch", async () => {
    const { sha, url } = await pushed("deleted", { "a.txt": "a\n" });
    await expect(cloneAt({ url, sha, branch: "feature", dir, maxBytes: 10 * MIB })).rejects.toMatchObject({
      status: 400,
      message: `commit ${sha.slice(0, 7)} is not on branch feature (force-pushed or deleted)`,
    });
  });

  describe("private repo", () => {
    let repo: { sha: string; url: string };
    beforeAll(async () => {
      repo = await pushed("private", { "secret.txt": "s\n" }, { private: true, token: TOKEN });
    });

    it("right token → checked out", async () => {
      const result = await cloneAt({ ...repo, branch: "master", dir, token: TOKEN, maxBytes: MIB });
      expect(result.tip).toBe(repo.sha);
      expect(await readFile(join(dir, "secret.txt"), "utf8")).toBe("s\n");
    });

    it.each([
      { name: "wrong token", token: "ghs_wrong" },
      { name: "no token", token: undefined },
    ])("$name → 403 authentication refused, no token in the message", async ({ token }) => {
      const clone = cloneAt({ ...repo, branch: "master", dir, token, maxBytes: MIB });
      const error = (await clone.catch((e: unknown) => e)) as { status: number; message: string };
      expect(error).toMatchObject({ status: 403, message: `unable to clone ${repo.url}: authentication refused` });
      expect(JSON.stringify(error) + error.message).not.toContain("ghs_");
    });
  });

  it.each([
    { name: "3 MB of random bytes over the wire", content: () => randomBytes(3 * MIB), cap: 1 },
    { name: "50 MB of zeros on checkout", content: () => Buffer.alloc(50 * MIB), cap: 10 },
  ])("$name, cap $cap MB → 400 too large, nothing written past the cap or outside dir", async ({ content, cap }) => {
    const { sha, url } = await pushed(`big-${cap}`, { "big.bin": content(), "small.txt": "s\n" });
    await expect(cloneAt({ url, sha, branch: "master", dir, maxBytes: cap * MIB })).rejects.toMatchObject({
      status: 400,
      message: `repository is larger than the ${cap} MB limit`,
    });
    expect(await readdir(base)).toEqual(["checkout"]);
    expect(await diskBytes(dir)).toBeLessThanOrEqual(cap * MIB);
  });

  it("symlink to /etc/passwd → checked out as a symlink, not a copy", async () => {
    const { sha, url } = await pushed("symlink", { passwd: { symlink: "/etc/passwd" } });
    await cloneAt({ url, sha, branch: "master", dir, maxBytes: MIB });
    expect((await lstat(join(dir, "passwd"))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(dir, "passwd"))).toBe("/etc/passwd");
  });

  it.each([
    { name: "short SHA", sha: "abc1234", message: 'commit "abc1234" is not a 40-character hex SHA', status: 400 },
    { name: "unknown repo", repo: "missing", message: /^unable to clone .*: HTTP 404$/, status: 502 },
  ])("$name → $status", async ({ sha, repo, message, status }) => {
    const url = `${server.url}/alice/${repo ?? "tip"}.git`;
    const clone = cloneAt({ url, sha: sha ?? "a".repeat(40), branch: "master", dir, maxBytes: MIB });
    await expect(clone).rejects.toMatchObject({ status, message });
  });

  it("nothing listening → 502 unable to clone", async () => {
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, "127.0.0.1", done));
    const { port } = closed.address() as { port: number };
    await new Promise((done) => closed.close(done));
    const url = `http://x-access-token:ghs_secret@127.0.0.1:${port}/alice/tip.git`;
    const error = (await cloneAt({ url, sha: "a".repeat(40), branch: "master", dir, maxBytes: MIB }).catch(
      (e: unknown) => e,
    )) as { status: number; message: string };
    expect(error.status).toBe(502);
    expect(error.message).toMatch(`unable to clone http://127.0.0.1:${port}/alice/tip.git: `);
    expect(error.message).not.toContain("ghs_secret");
  });
});

/** An HTTP peer on 127.0.0.1 that answers with `answer` and counts the connections it got and saw closed. */
async function startPeer(answer: (req: IncomingMessage, res: ServerResponse) => void) {
  let connections = 0;
  let closed = 0;
  const requests: Array<{ url: string; authorization?: string }> = [];
  const server = createHttpServer((req, res) => {
    requests.push({
      url: req.url ?? "",
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    });
    answer(req, res);
  });
  server.on("connection", (socket) => {
    connections++;
    socket.on("close", () => closed++);
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    connections: () => connections,
    closed: () => closed,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 10_000; !condition();) {
    if (Date.now() > deadline) throw new Error(`waited 10 s for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("cloneAt: confined to the clone URL's host, stoppable (issue #10)", () => {
  it("the git host redirects to another host → 502 naming the redirect; the other host gets no connection", async () => {
    const foreign = await startPeer((_req, res) => res.writeHead(401, { "www-authenticate": "Basic" }).end());
    const redirector = await startPeer((req, res) =>
      res.writeHead(302, { location: `${foreign.url}${req.url ?? "/"}` }).end(),
    );
    try {
      const url = `${redirector.url}/alice/tip.git`;
      const clone = cloneAt({ url, sha: "a".repeat(40), branch: "master", dir, token: TOKEN, maxBytes: MIB });
      await expect(clone).rejects.toMatchObject({ status: 502, message: `unable to clone ${url}: HTTP 302` });
      expect(foreign.connections()).toBe(0);
    } finally {
      await foreign.close();
      await redirector.close();
    }
  });

  it.each([
    ["answers nothing", (_req: IncomingMessage, _res: ServerResponse) => undefined],
    [
      "sends half an answer",
      (_req: IncomingMessage, res: ServerResponse) => {
        res.writeHead(200, { "content-type": "application/x-git-upload-pack-advertisement" });
        res.write("001e# service=git-upload-pack\n");
      },
    ],
  ])(
    "a git host that %s, then the signal aborts → rejects with its reason; the connection is closed",
    async (_, answer) => {
      const stalled = await startPeer(answer);
      try {
        const controller = new AbortController();
        const url = `${stalled.url}/alice/tip.git`;
        const clone = cloneAt({
          url,
          sha: "a".repeat(40),
          branch: "master",
          dir,
          maxBytes: MIB,
          signal: controller.signal,
        });
        const outcome = clone.catch((error: unknown) => error);
        await until(() => stalled.requests.length > 0, "the clone's first request");
        const reason = new DOMException("exec_timeout of 1s exceeded", "TimeoutError");
        controller.abort(reason);
        expect(await outcome).toBe(reason);
        await until(() => stalled.closed() === stalled.connections(), "the git host to see its connection closed");
      } finally {
        await stalled.close();
      }
    },
  );

  it("a signal aborted before the clone starts → rejects with its reason, nothing fetched", async () => {
    const peer = await startPeer((_req, res) => res.writeHead(404).end());
    try {
      const signal = AbortSignal.abort(new Error("gone"));
      const clone = cloneAt({
        url: `${peer.url}/a/b.git`,
        sha: "a".repeat(40),
        branch: "master",
        dir,
        maxBytes: MIB,
        signal,
      });
      await expect(clone).rejects.toThrow("gone");
      expect(peer.connections()).toBe(0);
    } finally {
      await peer.close();
    }
  });
});
