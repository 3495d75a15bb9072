import { createHash, generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { invokeHandler } from "../../shared/function-server.js";
import { createHandler, depsFromEnv } from "./handler.js";
import { createLoginFlow, safeRedirect } from "./login-flow.js";

const pem = (type: "ec" | "rsa") =>
  type === "ec"
    ? generateKeyPairSync("ec", {
        namedCurve: "P-256",
        privateKeyEncoding: { type: "pkcs8", format: "pem" },
        publicKeyEncoding: { type: "spki", format: "pem" },
      })
    : generateKeyPairSync("rsa", {
        modulusLength: 2048,
        privateKeyEncoding: { type: "pkcs8", format: "pem" },
        publicKeyEncoding: { type: "spki", format: "pem" },
      });

describe("depsFromEnv: the session key pair", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "edge-auth-"));
    await writeFile(join(dir, "oauth-client-secret"), "secret");
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const start = async (privateKey: string, publicKey: string) => {
    await writeFile(join(dir, "jwt-private-key"), privateKey);
    await writeFile(join(dir, "jwt-public-key"), publicKey);
    return () =>
      depsFromEnv({ secret_mount_path: dir, client_id: "Iv1.x", system_public_url: "https://system.example.com" });
  };

  it("one EC P-256 pair → starts", async () => {
    const pair = pem("ec");
    expect((await start(pair.privateKey, pair.publicKey))().clientId).toBe("Iv1.x");
  });

  it.each([
    [
      "halves of two pairs",
      () => [pem("ec").privateKey, pem("ec").publicKey],
      "not the public half of jwt-private-key",
    ],
    [
      "an RSA pair (not ES256)",
      () => [pem("rsa").privateKey, pem("rsa").publicKey],
      "jwt-private-key: expected an EC P-256",
    ],
    ["a private key that is no PEM", () => ["dummy", pem("ec").publicKey], "secret jwt-private-key: expected an EC"],
    ["a public key that is no PEM", () => [pem("ec").privateKey, "dummy"], "secret jwt-public-key: expected an EC"],
  ])("%s → the start fails naming the secret", async (_name, keys, message) => {
    const [privateKey = "", publicKey = ""] = keys();
    expect(await start(privateKey, publicKey)).toThrow(message);
  });
});

describe("safeRedirect", () => {
  it.each([
    [undefined, "/"],
    ["", "/"],
    ["/dashboard", "/dashboard"],
    ["/dashboard/alice?tab=logs#top", "/dashboard/alice?tab=logs#top"],
  ])("%j → %j", (input, expected) => {
    expect(safeRedirect(input)).toBe(expected);
  });

  it.each(["//evil.example", "///evil.example", "/\\evil.example", "https://evil.example", "evil", "/a\nb", " /x"])(
    "%j → 400",
    (input) => {
      expect(() => safeRedirect(input)).toThrow("redirect must be a path on this site");
    },
  );
});

describe("edge-auth handler", () => {
  const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
  // Built before each test, not while the file loads: a mutant of the set-up (the Secure attribute) is then active
  // when the handler is made (docs/testing.md, "Build what a test asserts on inside the test").
  let handler: ReturnType<typeof createHandler>;
  beforeEach(() => {
    handler = createHandler({
      clientId: "Iv1.x",
      oauthUrl: "https://github.example",
      publicUrl: "http://system.localhost:9000/",
      githubUser: () => Promise.resolve({ userId: 7, login: "Carol", orgs: [] }),
      ...keys,
      sessionTtlMs: 3600_000,
      operators: ["carol"],
      now: () => 1_700_000_000_000,
      newState: () => "fixed-state",
      log: pino({ level: "silent" }),
    });
  });
  const get = (path: string, query: Record<string, string> = {}, cookie?: string, method = "GET") =>
    invokeHandler(handler, { method, path, query, headers: cookie ? { cookie } : {}, body: Buffer.alloc(0) });
  const cookies = (headers: Record<string, string>) => headers["set-cookie"] as unknown as string[];

  it("over http: cookies without Secure; the callback URL is the system host's /auth path", async () => {
    const res = await get("/login");
    const location = new URL(res.headers.location!);
    expect(location.searchParams.get("redirect_uri")).toBe("http://system.localhost:9000/auth/oauth2/authorized");
    expect(cookies(res.headers)[0]).not.toMatch(/Secure/);
  });

  it("an operator's login → /me says operator: true", async () => {
    const login = await get("/login", { redirect: "/x" });
    const state = cookies(login.headers)[0]!.split(";")[0]!;
    const done = await get("/oauth2/authorized", { code: "c", state: "fixed-state" }, state);
    expect([done.status, done.headers.location]).toEqual([302, "/x"]);
    const session = cookies(done.headers)[0]!.split(";")[0]!;
    const me = await get("/me", {}, session);
    expect(JSON.parse(me.body.toString())).toEqual({ userId: 7, login: "Carol", orgs: [], operator: true });
  });

  it.each([
    ["POST /login", 405, "/login", "POST"],
    ["GET /elsewhere", 404, "/elsewhere", "GET"],
    ["GET /me without a session", 401, "/me", "GET"],
  ] as const)("%s → %s", async (_name, status, path, method) => {
    expect((await get(path, {}, undefined, method)).status).toBe(status);
  });

  /** A state cookie as /login sets it: sha256(state) and the page to return to. */
  const stateCookie = (state: string, saved?: string) =>
    `openfaas_cloud_login=${createHash("sha256").update(state).digest("base64url")}` +
    (saved === undefined ? "" : `.${Buffer.from(saved).toString("base64url")}`);
  const text = (res: { body: Buffer }) => res.body.toString();

  it("/login over http → 302 to GitHub with an empty body, not cached, the state cookie exactly so", async () => {
    const res = await get("/login", { redirect: "/x" });
    expect([res.status, text(res), res.headers["cache-control"]]).toEqual([302, "", "no-store"]);
    expect(cookies(res.headers)).toEqual([
      `${stateCookie("fixed-state", "/x")}; Max-Age=600; Path=/; HttpOnly; SameSite=Lax`,
    ]);
  });

  /** The login routes on their own, at a given GitHub and public URL, state "s", no operators. */
  const flowAt = (oauthUrl: string, publicUrl: string) =>
    createLoginFlow({
      clientId: "Iv1.x",
      oauthUrl,
      publicUrl,
      githubUser: () => Promise.resolve({ userId: 7, login: "Carol", orgs: [] }),
      ...keys,
      sessionTtlMs: 3600_000,
      operators: [],
      now: () => 1_700_000_000_000,
      newState: () => "s",
    });

  it("public and GitHub URLs with several trailing slashes → the callback and authorize URLs without them", async () => {
    const flow = flowAt("https://github.example//", "https://system.example.com//");
    const res = await flow({ method: "GET", path: "/login", query: {}, headers: {}, body: Buffer.alloc(0) });
    const location = new URL(res.headers!.location!);
    expect(`${location.origin}${location.pathname}`).toBe("https://github.example/login/oauth/authorize");
    expect(location.searchParams.get("redirect_uri")).toBe("https://system.example.com/auth/oauth2/authorized");
  });

  it("over https: the state and session cookies end in Secure, so a browser never sends them over plain http", async () => {
    const flow = flowAt("https://github.example", "https://system.example.com");
    const call = (path: string, query: Record<string, string>, cookie?: string) =>
      flow({ method: "GET", path, query, headers: cookie ? { cookie } : {}, body: Buffer.alloc(0) });
    const login = await call("/login", {});
    const state = cookies(login.headers as Record<string, string>);
    expect(state).toEqual([`${stateCookie("s", "/")}; Max-Age=600; Path=/; HttpOnly; SameSite=Lax; Secure`]);
    const done = await call("/oauth2/authorized", { code: "c", state: "s" }, state[0]!.split(";")[0]);
    const session = cookies(done.headers as Record<string, string>);
    expect(session.length).toBeGreaterThan(0);
    for (const c of session) expect(c).toMatch(/; HttpOnly; SameSite=Lax; Secure$/);
  });

  it.each(["/login/", "/login//", "/me//"])(
    "a path with trailing slashes (%s) → routed as without them",
    async (path) => {
      expect((await get(path)).status).toBe(path.startsWith("/me") ? 401 : 302);
    },
  );

  it("the callback with GitHub's error (access denied) and the right state → 401 naming the error, no session", async () => {
    const res = await get(
      "/oauth2/authorized",
      { error: "access_denied", state: "fixed-state" },
      stateCookie("fixed-state", "/"),
    );
    expect([res.status, text(res)]).toEqual([401, "GitHub did not log you in (access_denied)"]);
    expect(res.headers["set-cookie"]).toBeUndefined();
  });

  it("the callback with the right state but no code → 400", async () => {
    const res = await get("/oauth2/authorized", { state: "fixed-state" }, stateCookie("fixed-state", "/"));
    expect([res.status, text(res)]).toEqual([400, "the callback has no code: start again at /auth/login"]);
  });

  it("a state cookie holding the hash of an empty state, and no state in the callback → 403", async () => {
    const res = await get("/oauth2/authorized", { code: "c" }, stateCookie("", "/"));
    expect(res.status).toBe(403);
  });

  it("a state cookie without the page to return to → back to /", async () => {
    const res = await get("/oauth2/authorized", { code: "c", state: "fixed-state" }, stateCookie("fixed-state"));
    expect([res.status, res.headers.location]).toEqual([302, "/"]);
  });

  it("the callback's answer and /me → not cached; the session cookie over http without Secure", async () => {
    const done = await get("/oauth2/authorized", { code: "c", state: "fixed-state" }, stateCookie("fixed-state", "/"));
    expect([done.headers["cache-control"], text(done)]).toEqual(["no-store", ""]);
    expect(cookies(done.headers)[0]).toMatch(
      /^openfaas_cloud_token=[^;]+; Max-Age=3600; Path=\/; HttpOnly; SameSite=Lax$/,
    );
    const me = await get("/me", {}, cookies(done.headers)[0]!.split(";")[0]);
    expect(me.headers["cache-control"]).toBe("no-store");
  });

  it.each([
    ["POST /login", "/login", "POST", "edge-auth answers GET only"],
    ["GET /elsewhere", "/elsewhere", "GET", "no such path: /auth/login, /logout, /oauth2/authorized and /me exist"],
  ] as const)("%s → the refusal names the rule", async (_name, path, method, message) => {
    expect(text(await get(path, {}, undefined, method))).toBe(message);
  });
});
