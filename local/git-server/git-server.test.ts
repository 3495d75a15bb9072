import { execFile } from "node:child_process";
import * as fs from "node:fs";
import { mkdtemp, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import git from "isomorphic-git";
import http from "isomorphic-git/http/node";
import { readBranchTip, startGitServer, type GitRepo, type GitServer } from "./git-server.js";

const execFileAsync = promisify(execFile);
const TOKEN = "ghs_right";
const GIT_ENV = { PATH: process.env.PATH, HOME: tmpdir(), GIT_CONFIG_NOSYSTEM: "1", GIT_TERMINAL_PROMPT: "0" };

let server: GitServer;
let publicRepo: GitRepo;
let publicSha: string;
let privateRepo: GitRepo;
let scratch: string;

beforeAll(async () => {
  server = await startGitServer();
  publicRepo = await server.createRepo("Alice", "hello");
  publicSha = await publicRepo.commit({ "README.md": "hello\n", link: { symlink: "README.md" } }, "first");
  await publicRepo.push();
  privateRepo = await server.createRepo("bob", "secret", { private: true, token: TOKEN });
  await privateRepo.commit({ "secret.txt": "s3cret\n" });
  await privateRepo.push();
});
afterAll(() => server.close());
beforeEach(async () => {
  scratch = await mkdtemp(join(tmpdir(), "git-server-test-"));
});
afterEach(() => rm(scratch, { recursive: true, force: true }));

function cloneWithCli(url: string): Promise<unknown> {
  return execFileAsync("git", ["clone", "-q", url, join(scratch, "clone")], { env: GIT_ENV });
}

function infoRefs(path: string, auth?: string): Promise<Response> {
  const headers: Record<string, string> = auth
    ? { Authorization: `Basic ${Buffer.from(auth).toString("base64")}` }
    : {};
  return fetch(`${server.url}${path}/info/refs?service=git-upload-pack`, { headers });
}

describe("startGitServer", () => {
  it("public repo cloned with the git CLI → files, symlink and the pushed tip", async () => {
    await cloneWithCli(`${server.url}/Alice/hello.git`);
    const dir = join(scratch, "clone");
    expect(await readFile(join(dir, "README.md"), "utf8")).toBe("hello\n");
    expect(await readlink(join(dir, "link"))).toBe("README.md");
    const { stdout } = await execFileAsync("git", ["rev-parse", "HEAD"], { cwd: dir, env: GIT_ENV });
    expect(stdout.trim()).toBe(publicSha);
  });

  it("public repo cloned with isomorphic-git → the pushed tip", async () => {
    await git.clone({ fs, http, dir: scratch, url: `${server.url}/Alice/hello.git`, singleBranch: true, depth: 1 });
    expect(await git.resolveRef({ fs, dir: scratch, ref: "HEAD" })).toBe(publicSha);
    expect(await readFile(join(scratch, "README.md"), "utf8")).toBe("hello\n");
  });

  it.each([
    { name: "no credentials", auth: undefined, status: 401 },
    { name: "a wrong token", auth: "x-access-token:wrong", status: 401 },
    { name: "the right token under another username", auth: `someone:${TOKEN}`, status: 401 },
    { name: "the right token", auth: `x-access-token:${TOKEN}`, status: 200 },
  ])("private repo info/refs with $name → $status", async ({ auth, status }) => {
    const res = await infoRefs("/bob/secret.git", auth);
    expect(res.status).toBe(status);
    if (status === 401) expect(res.headers.get("www-authenticate")).toBe('Basic realm="GitHub"');
    else expect(res.headers.get("content-type")).toBe("application/x-git-upload-pack-advertisement");
  });

  it("private repo cloned with the git CLI and the right token → the file", async () => {
    await cloneWithCli(server.url.replace("http://", `http://x-access-token:${TOKEN}@`) + "/bob/secret.git");
    expect(await readFile(join(scratch, "clone", "secret.txt"), "utf8")).toBe("s3cret\n");
  });

  it.each([
    { name: "no token", userinfo: "" },
    { name: "a wrong token", userinfo: "x-access-token:wrong@" },
  ])("private repo cloned with the git CLI and $name → refused", async ({ userinfo }) => {
    const url = server.url.replace("http://", `http://${userinfo}`) + "/bob/secret.git";
    await expect(cloneWithCli(url)).rejects.toThrow(/could not read Username|Authentication failed/);
  });

  it("private repo cloned with isomorphic-git and the right token → the file", async () => {
    const onAuth = () => ({ username: "x-access-token", password: TOKEN });
    await git.clone({ fs, http, dir: scratch, url: `${server.url}/bob/secret.git`, onAuth });
    expect(await readFile(join(scratch, "secret.txt"), "utf8")).toBe("s3cret\n");
  });

  it("setToken → the old token is refused and the new one accepted", async () => {
    server.setToken("bob", "secret", "ghs_new");
    try {
      expect((await infoRefs("/bob/secret.git", `x-access-token:${TOKEN}`)).status).toBe(401);
      expect((await infoRefs("/bob/secret.git", "x-access-token:ghs_new")).status).toBe(200);
    } finally {
      server.setToken("bob", "secret", TOKEN);
    }
  });

  it("gzip-encoded upload-pack request → a pack", async () => {
    const want = `want ${publicSha} ofs-delta\n`;
    const body = `${(want.length + 4).toString(16).padStart(4, "0")}${want}00000009done\n`;
    const res = await fetch(`${server.url}/Alice/hello.git/git-upload-pack`, {
      method: "POST",
      headers: { "Content-Type": "application/x-git-upload-pack-request", "Content-Encoding": "gzip" },
      body: gzipSync(body),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-git-upload-pack-result");
    expect(Buffer.from(await res.arrayBuffer()).includes("PACK")).toBe(true);
  });

  it.each([
    { name: "an unknown repo", path: "/Alice/missing.git/info/refs?service=git-upload-pack", status: 404 },
    { name: "a path outside any repo", path: "/Alice/hello/info/refs", status: 404 },
    { name: "a dot-named owner", path: "/.git/hello.git/info/refs?service=git-upload-pack", status: 404 },
  ])("$name → $status", async ({ path, status }) => {
    expect((await fetch(`${server.url}${path}`)).status).toBe(status);
  });
});

// Issue #17: the local runtime's GitHub stand-in answers "Get a branch" from these tips, so a stale re-run is refused
// on `npm start` as on GitHub.
describe("readBranchTip", () => {
  it("a pushed branch → its tip; a second branch → its own tip", async () => {
    const repo = await server.createRepo("carol", "tips");
    const first = await repo.commit({ "a.txt": "1\n" }, "first");
    await repo.push();
    const second = await repo.commit({ "a.txt": "2\n" }, "second");
    await repo.push({ branch: "release/1.x" });
    expect(await readBranchTip(server.root, "carol", "tips", "master")).toBe(first);
    expect(await readBranchTip(server.root, "carol", "tips", "release/1.x")).toBe(second);
  });

  it.each([
    ["an unknown branch", "Alice", "hello", "nope"],
    ["revision syntax naming master's commit", "Alice", "hello", "master^{commit}"],
    ["a ref outside refs/heads", "Alice", "hello", "../../HEAD"],
    ["an unknown repo", "Alice", "missing", "master"],
    ["a path climbing out of the root", "..", "hello", "master"],
  ])("%s → undefined (master itself is found)", async (_, owner, repo, branch) => {
    expect(await readBranchTip(server.root, "Alice", "hello", "master")).toBe(publicSha);
    expect(await readBranchTip(server.root, owner, repo, branch)).toBeUndefined();
  });
});
