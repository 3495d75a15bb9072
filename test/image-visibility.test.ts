import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import axios from "axios";
import { createImageVisibility } from "../functions/buildshiprun/image-visibility.js";
import { basicAuth, startRegistry, type Registry } from "../local/services/registry.js";
import { startRecorder, type Answer, type RecordedRequest } from "./support/http-recorder.js";

// Issue #11 item 1: buildshiprun asks a registry what faas-netes CE's isAnonymous() would (an anonymous HEAD of the
// manifest, with the Bearer token dance), against Debian's docker-registry and a token-issuing stand-in.
const visibility = createImageVisibility({ http: axios.create(), timeoutMs: 2000 });

/** Pushes a one-config image through the Registry v2 API, as of-builder's pushes would leave it. */
async function pushImage(registry: string, repository: string, tag: string, authorization?: string) {
  const auth: Record<string, string> = authorization ? { authorization } : {};
  const config = Buffer.from(
    JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }),
  );
  const digest = `sha256:${createHash("sha256").update(config).digest("hex")}`;
  const upload = await fetch(`http://${registry}/v2/${repository}/blobs/uploads/`, { method: "POST", headers: auth });
  const location = new URL(upload.headers.get("location") ?? "", `http://${registry}`);
  location.searchParams.set("digest", digest);
  const blob = await fetch(location, {
    method: "PUT",
    headers: { ...auth, "content-type": "application/octet-stream" },
    body: config,
  });
  expect(blob.status).toBe(201);
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest, size: config.length },
    layers: [],
  };
  const put = await fetch(`http://${registry}/v2/${repository}/manifests/${tag}`, {
    method: "PUT",
    headers: { ...auth, "content-type": manifest.mediaType },
    body: JSON.stringify(manifest),
  });
  expect(put.status).toBe(201);
}

describe("image visibility against Debian's docker-registry", () => {
  let dir: string;
  let locked: Registry;
  let open: Registry;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "visibility-"));
    [locked, open] = await Promise.all([
      startRegistry({ dataDir: join(dir, "locked") }),
      startRegistry({ dataDir: join(dir, "open"), anonymous: true }),
    ]);
    await pushImage(locked.url, "alice/fns--api", "latest-6113728", basicAuth(locked.credentials));
    await pushImage(open.url, "alice/fns--api", "latest-6113728");
  }, 60_000);
  afterAll(async () => {
    await Promise.all([locked?.stop(), open?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("an image in a registry with htpasswd (the runtime's) → private: 401 and no anonymous token", async () => {
    const image = `${locked.url}/alice/fns--api:latest-6113728`;
    // The image is there: its owner reads it with the password.
    const owner = await fetch(`http://${locked.url}/v2/alice/fns--api/manifests/latest-6113728`, {
      method: "HEAD",
      headers: { authorization: basicAuth(locked.credentials), accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    expect(owner.status).toBe(200);
    expect(await visibility(image)).toEqual({
      outcome: "private",
      detail: `http://${locked.url}/v2/alice/fns--api/manifests/latest-6113728 answered 401 and offers no anonymous token (basic)`,
    });
  });

  it("the same image in a registry without auth → public", async () => {
    expect(await visibility(`${open.url}/alice/fns--api:latest-6113728`)).toEqual({ outcome: "public" });
  });

  it("a tag the open registry does not have → private (faas-netes cannot read it either): 404", async () => {
    expect(await visibility(`${open.url}/alice/fns--api:latest-0000000`)).toMatchObject({
      outcome: "private",
      detail: expect.stringMatching(/answered 404 without credentials$/),
    });
  });
});

/**
 * A registry whose manifests need a Bearer token, which its token service hands out without credentials: for
 * `public` repositories a token that reads them, for others one that does not (as Docker Hub and ghcr.io do).
 */
function tokenRegistry(realm: (port: string) => string, publicRepos: string[]) {
  return (req: RecordedRequest): Answer => {
    const url = new URL(req.path, "http://registry");
    const port = String(req.headers.host).split(":")[1] ?? "";
    if (url.pathname === "/token") {
      const scope = url.searchParams.get("scope") ?? "";
      const repo = /^repository:(.+):pull$/.exec(scope)?.[1] ?? "";
      if (req.headers.authorization !== undefined) return { status: 400, body: "credentials sent" };
      return { status: 200, body: { token: publicRepos.includes(repo) ? `read:${repo}` : "anonymous" } };
    }
    const repo = /^\/v2\/(.+)\/manifests\/[^/]+$/.exec(url.pathname)?.[1] ?? "";
    if (req.headers.authorization === `Bearer read:${repo}`) return { status: 200 };
    const challenge = `Bearer realm="${realm(port)}",service="stand-in",scope="repository:${repo}:pull"`;
    return { status: 401, headers: { "www-authenticate": challenge } };
  };
}

describe("image visibility: the Bearer token dance", () => {
  let closeAll: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(closeAll.map((close) => close()));
    closeAll = [];
  });
  async function serve(answer: (req: RecordedRequest) => Answer) {
    const server = await startRecorder(answer);
    closeAll.push(server.close);
    return { port: server.url.split(":")[2]!, requests: server.requests };
  }
  const calls = (requests: RecordedRequest[]) =>
    requests.map((r) => `${r.method} ${r.path} ${String(r.headers.authorization ?? "-")}`);

  it("a public repository → 401 with a realm, an anonymous token for its pull scope, then 200: public", async () => {
    const registry = await serve(tokenRegistry((port) => `http://localhost:${port}/token`, ["alice/fns--api"]));
    // localhost:<port> is a local registry for go-containerregistry: https is tried first, then http.
    expect(await visibility(`localhost:${registry.port}/alice/fns--api:latest-6113728`)).toEqual({ outcome: "public" });
    expect(calls(registry.requests)).toEqual([
      "HEAD /v2/alice/fns--api/manifests/latest-6113728 -",
      "GET /token?service=stand-in&scope=repository%3Aalice%2Ffns--api%3Apull -",
      "HEAD /v2/alice/fns--api/manifests/latest-6113728 Bearer read:alice/fns--api",
    ]);
    expect(registry.requests[0]!.headers.accept).toMatch(/application\/vnd\.oci\.image\.manifest\.v1\+json/);
  });

  it("a private repository → the anonymous token does not read it: private", async () => {
    const registry = await serve(tokenRegistry((port) => `http://localhost:${port}/token`, []));
    expect(await visibility(`localhost:${registry.port}/alice/fns--api:latest-6113728`)).toEqual({
      outcome: "private",
      detail: `http://localhost:${registry.port}/v2/alice/fns--api/manifests/latest-6113728 answered 401 without credentials`,
    });
    expect(registry.requests).toHaveLength(3);
  });

  it("a token service at a loopback address → private, as go-containerregistry refuses it; never asked", async () => {
    const registry = await serve(tokenRegistry((port) => `http://127.0.0.1:${port}/token`, ["alice/fns--api"]));
    expect(await visibility(`127.0.0.1:${registry.port}/alice/fns--api:1`)).toMatchObject({
      outcome: "private",
      detail: expect.stringMatching(/token service http:\/\/127\.0\.0\.1:\d+ is at a private address$/),
    });
    expect(calls(registry.requests)).toEqual(["HEAD /v2/alice/fns--api/manifests/1 -"]);
  });

  it("a token service on another domain → unknown (the gateway decides); never contacted", async () => {
    const registry = await serve(tokenRegistry(() => "https://auth.example.com/token", ["alice/fns--api"]));
    expect(await visibility(`localhost:${registry.port}/alice/fns--api:1`)).toEqual({
      outcome: "unknown",
      detail: `localhost:${registry.port}'s token service https://auth.example.com is on another domain: not asked`,
    });
    expect(registry.requests).toHaveLength(1);
  });

  it.each([
    ["503", { status: 503 }],
    ["429", { status: 429 }],
  ])("a registry answering %s → unknown, not a refusal", async (_, answer) => {
    const registry = await serve(() => answer);
    expect(await visibility(`127.0.0.1:${registry.port}/alice/fns--api:1`)).toMatchObject({ outcome: "unknown" });
  });

  it("a registry that is not running → unknown: registry unreachable", async () => {
    const registry = await serve(() => ({ status: 200 }));
    await Promise.all(closeAll.map((close) => close()));
    closeAll = [];
    expect(await visibility(`127.0.0.1:${registry.port}/alice/fns--api:1`)).toMatchObject({
      outcome: "unknown",
      detail: expect.stringMatching(/^registry unreachable: http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/),
    });
  });
});
