import { generateKeyPairSync } from "node:crypto";
import { pino } from "pino";
import type { BuildRecord } from "../../shared/build-history.js";
import type { FunctionEvent, Reply } from "../../shared/function-handler.js";
import { HttpError } from "../../shared/http-error.js";
import { SESSION_COOKIE, signSession } from "../../shared/session.js";
import { escapeHtml, html } from "./html.js";
import { CSP } from "./layout.js";
import type { ListedFunction } from "./list.js";
import { createPages } from "./pages.js";
import { failingStep } from "./view-build.js";

// The pages (issue #14) over answers of the JSON APIs they read through: each API's own rules are tested in its own
// suite and on the real runtime (test/e2e/dashboard.test.ts); here, what the pages make of the answers,
// including hostile ones, and the session rules they apply before asking anything.
const log = pino({ level: "silent" });
const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
const NOW = Date.parse("2026-11-30T12:00:00Z");
const SHA = "0123456789abcdef0123456789abcdef01234567";
const HOSTILE = `x"><img src=x onerror=alert(1)><script>alert(1)</script>`;

const fn = (name: string, extra: Partial<ListedFunction> = {}): ListedFunction => ({
  name,
  deployedName: `demo--${name}`,
  image: `demo/hello-stack--${name}:latest-0123456`,
  repo: "hello-stack",
  repoUrl: "https://github.com/demo/hello-stack",
  branch: "main",
  sha: SHA,
  deployedAt: "2026-11-30T11:00:00.000Z",
  replicas: 1,
  availableReplicas: 1,
  invocationCount: 8,
  url: `http://demo.localhost:8081/${name}`,
  ...extra,
});
const build = (extra: Partial<BuildRecord> = {}): BuildRecord => ({
  owner: "demo",
  repo: "hello-stack",
  branch: "main",
  sha: SHA,
  function: "hello",
  state: "success",
  startedAt: "2026-11-30T10:59:00.000Z",
  durationMs: 12_300,
  ...extra,
});
const FAILING_LOG = [
  "#1 [internal] load build definition",
  "#1 DONE 0.1s",
  "#7 [build 5/6] RUN npm test",
  "#7 0.812 FAIL ./handler.test.js",
  "#7 0.813   ✕ says hello (3 ms)",
  "#7 0.900 npm ERR! Test failed.",
  `#7 ERROR: process "/bin/sh -c npm test" did not complete successfully: exit code: 1`,
  "#8 [ship 2/2] COPY --from=build /home/app /home/app",
  "#8 CANCELED",
  "",
].join("\n");

/** The APIs' answers by path; a function throws as the API would. */
type Answers = Record<string, Reply | ((event: FunctionEvent) => Reply)>;
const DEFAULT_ANSWERS: Answers = {
  "/list-functions": { status: 200, body: [fn("hello"), fn("echo")] },
  "/builds": { status: 200, body: { builds: [build()] } },
  "/function-logs": {
    status: 200,
    body: [
      { timestamp: "2026-11-30T11:58:00Z", instance: "a", text: "first line" },
      { timestamp: "2026-11-30T11:59:00Z", instance: "a", text: "second line" },
    ],
  },
  "/system-metrics": (e) => ({
    status: 200,
    body: { invocations: { byCode: e.query.window === "1h" ? { "200": 5, "500": 3 } : { "200": 50, "404": 2 } } },
  }),
  "/build-log": { status: 200, body: { build: build(), log: "#1 DONE 0.1s\n", offset: 13, done: true } },
};

async function get(path: string, opts: { login?: string; answers?: Answers } = {}) {
  const asked: string[] = [];
  const answers = { ...DEFAULT_ANSWERS, ...opts.answers };
  const pages = createPages({
    viewer: { publicKey: keys.publicKey, operators: [], now: () => NOW },
    // Async: a function answer that throws becomes a rejection, as an API's HttpError does.
    api: async (apiPath, event) => {
      asked.push(`${apiPath}?${new URLSearchParams(event.query as Record<string, string>).toString()}`);
      const answer = answers[apiPath];
      if (!answer) throw new HttpError(404, `no such dashboard API: ${apiPath}`);
      return Promise.resolve(typeof answer === "function" ? answer(event) : answer);
    },
    appUrl: "https://github.com/apps/ofc-test",
    log,
  });
  const token =
    opts.login &&
    (await signSession({ userId: 7, login: opts.login, orgs: [] }, keys.privateKey, { nowMs: NOW, ttlMs: 60_000 }));
  const [pathname = "", search = ""] = path.split("?");
  const reply = await pages({
    method: "GET",
    path: pathname,
    query: Object.fromEntries(new URLSearchParams(search)),
    headers: token ? { cookie: `${SESSION_COOKIE}=${token}` } : {},
    body: Buffer.alloc(0),
  });
  // Whitespace collapsed: the markup's layout is Prettier's (it formats html`` templates), not the test's business.
  const text = typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
  return { ...reply, body: text.replace(/\s+/g, " "), asked };
}

/** What no page may hold: script that is not a same-origin file, inline handlers or styles, javascript: links. */
function expectNoInlineCode(page: string) {
  // Attribute values out first: escaped, a value may say anything (an aria-label naming a hostile function).
  const body = page.replace(/"[^"]*"/g, '""');
  expect(page).not.toMatch(/<script(?![^>]*\bsrc="\/dashboard\/_\/app\.js\?v=[0-9a-f]+")/);
  // Inside a tag: text may say "onerror=" (escaped, it is only text), an element may not carry it.
  expect(body).not.toMatch(/<[a-z][^>]*\son[a-z]+\s*=/i);
  expect(body).not.toMatch(/<[a-z][^>]*\sstyle\s*=/i);
  expect(page).not.toMatch(/href="javascript:/i);
}

describe("escaping", () => {
  it.each([
    [`<script>alert("x")</script>`, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"],
    [`a & b 'c'`, "a &amp; b &#39;c&#39;"],
  ])("escapeHtml(%j) → %j", (input, expected) => {
    expect(escapeHtml(input)).toBe(expected);
    expect(html`<p title="${input}">${input}</p>`.value).toBe(`<p title="${expected}">${expected}</p>`);
  });
});

describe("the dashboard's pages", () => {
  it("no session → 302 to edge-auth's login, coming back to the page asked for", async () => {
    const res = await get("/dashboard/demo/functions/hello?tab=logs");
    expect([res.status, res.headers?.location]).toEqual([
      302,
      `/auth/login?redirect=${encodeURIComponent("/dashboard/demo/functions/hello?tab=logs")}`,
    ]);
    expect(res.asked).toEqual([]);
  });

  it("/dashboard → 302 to the session's own owner page", async () => {
    const res = await get("/dashboard", { login: "Demo" });
    expect([res.status, res.headers?.location]).toEqual([302, "/dashboard/demo"]);
  });

  it.each(["/dashboard/demo", "/dashboard/demo/functions/hello", `/dashboard/demo/builds/hello-stack/${SHA}/hello`])(
    "mallory on %s → 403 page naming nothing of demo's, no API asked",
    async (path) => {
      const res = await get(path, { login: "mallory" });
      expect(res.status).toBe(403);
      expect(res.body).toContain("mallory may not see demo&#39;s dashboard.");
      expect(res.body).not.toContain("hello-stack");
      expect(res.asked).toEqual([]);
    },
  );

  it("the owner's page: every function with its URL, repo, branch and commit links, windows and last build", async () => {
    const res = await get("/dashboard/demo", { login: "demo" });
    expect(res.status).toBe(200);
    expect(res.headers).toMatchObject({ "content-security-policy": CSP, "content-type": "text/html; charset=utf-8" });
    expect(res.body).toContain('<a href="/dashboard/demo/functions/hello">hello</a>');
    expect(res.body).toContain(
      '<a href="http://demo.localhost:8081/echo" class="mono">http://demo.localhost:8081/echo</a>',
    );
    expect(res.body).toContain(`<a href="https://github.com/demo/hello-stack/commit/${SHA}" class="mono">0123456</a>`);
    expect(res.body).toContain('<a href="https://github.com/demo/hello-stack/tree/main">main</a>');
    expect(res.body).toContain(
      `<a href="/dashboard/demo/builds/hello-stack/${SHA}/hello" ><span class="state state-success" >success</span></a >`,
    );
    expect(res.body).toContain("2 functions of demo");
    expectNoInlineCode(res.body);
  });

  it("hostile function name, branch, repository URL and log line → shown as text, never as markup", async () => {
    const hostile = fn(HOSTILE, { branch: HOSTILE, repoUrl: "javascript:alert(1)", url: "javascript:alert(2)" });
    const answers: Answers = {
      "/list-functions": { status: 200, body: [hostile] },
      "/function-logs": { status: 200, body: [{ timestamp: "", instance: "", text: `</li>${HOSTILE}` }] },
      "/builds": { status: 200, body: { builds: [build({ branch: HOSTILE, function: HOSTILE })] } },
    };
    for (const path of ["/dashboard/demo", `/dashboard/demo/functions/${encodeURIComponent(HOSTILE)}`]) {
      const res = await get(path, { login: "demo", answers });
      expect(res.status).toBe(200);
      expect(res.body).not.toContain("<img");
      expect(res.body).not.toContain("<script>alert");
      expect(res.body).toContain(escapeHtml(HOSTILE));
      expectNoInlineCode(res.body);
      // A javascript: repository URL is no link at all.
      expect(res.body).not.toContain('href="javascript:alert(1)');
    }
  });

  it("one function: details, chart counts by window, logs newest first with their refresh source, builds", async () => {
    const res = await get("/dashboard/demo/functions/hello", { login: "demo" });
    expect(res.status).toBe(200);
    expect(res.body).toContain(
      'aria-label="Invocations of hello: last 1h: 5 succeeded, 3 failed; last 24h: 50 succeeded, 2 failed"',
    );
    expect(res.body.indexOf("second line")).toBeLessThan(res.body.indexOf("first line"));
    expect(res.body).toContain('data-logs-src="/function-logs?owner=demo&amp;function=hello&amp;tail=100"');
    expect(res.body).toContain('<script src="/dashboard/_/app.js?v=');
    expect(res.body).toContain("12.3 s");
    expect(res.asked).toEqual(
      expect.arrayContaining([
        "/system-metrics?owner=demo&function=hello&window=1h",
        "/system-metrics?owner=demo&function=hello&window=24h",
        "/builds?owner=demo&function=hello",
      ]),
    );
    expectNoInlineCode(res.body);
  });

  it("a failed build: the failing step's lines marked, its first error line linked at the top", async () => {
    const failed = build({ state: "failure", reason: "npm test failed" });
    const answers: Answers = {
      "/build-log": { status: 200, body: { build: failed, log: FAILING_LOG, offset: FAILING_LOG.length, done: true } },
    };
    const res = await get(`/dashboard/demo/builds/hello-stack/${SHA}/hello`, { login: "demo", answers });
    expect(res.status).toBe(200);
    expect(res.body).toContain(
      '<li class="step-failed line-error" id="failing-line">#7 0.812 FAIL ./handler.test.js</li>',
    );
    expect(res.body).toContain('<li class="step-failed">#7 [build 5/6] RUN npm test</li>');
    expect(res.body).toContain("<li>#8 CANCELED</li>");
    expect(res.body).toContain('Step #7 failed: <a href="#failing-line">#7 0.812 FAIL ./handler.test.js</a>');
    expect(res.body).toContain('data-done="true"');
  });

  it("a running build: its log so far, the offset to continue from, and done=false for the script", async () => {
    const answers: Answers = {
      "/build-log": {
        status: 200,
        body: { build: build({ state: "running" }), log: "#1 load\n#2 RUN np", offset: 17, done: false },
      },
    };
    const res = await get(`/dashboard/demo/builds/hello-stack/${SHA}/hello`, { login: "demo", answers });
    expect(res.body).toContain(
      `data-build-log-src="/build-log?owner=demo&amp;repo=hello-stack&amp;sha=${SHA}&amp;function=hello" data-offset="17" data-done="false"`,
    );
    expect(res.body).toContain('<li data-partial="true">#2 RUN np</li>');
    expect(res.body).toContain('<span class="state state-running" data-build-state>running</span>');
  });

  it("failingStep: no ERROR line → undefined (a successful or still running log marks nothing)", () => {
    expect(failingStep(["#1 DONE 0.1s", "#2 error: not really"])).toBeUndefined();
    expect(failingStep(FAILING_LOG.split("\n"))?.errors).toEqual(new Set([3, 4, 5, 6]));
  });

  it("an unknown build → 404 page", async () => {
    const answers: Answers = { "/build-log": { status: 404, body: "no such build" } };
    const res = await get(`/dashboard/demo/builds/hello-stack/${SHA}/nope`, { login: "demo", answers });
    expect(res.status).toBe(404);
  });

  it("no functions → the empty state: the App's install link and a stack.yml to push", async () => {
    const answers: Answers = {
      "/list-functions": { status: 200, body: [] },
      "/builds": { status: 200, body: { builds: [] } },
    };
    const res = await get("/dashboard/demo", { login: "demo", answers });
    expect(res.status).toBe(200);
    expect(res.body).toContain('<a href="https://github.com/apps/ofc-test">Install the GitHub App</a>');
    expect(res.body).toContain("functions: hello: lang: node24 handler: ./hello");
  });

  it("list-functions fails → 502 page with the error; builds fail → the table still, with an alert", async () => {
    const down = await get("/dashboard/demo", {
      login: "demo",
      answers: {
        "/list-functions": () => {
          throw new HttpError(503, "gateway unavailable");
        },
      },
    });
    expect(down.status).toBe(502);
    expect(down.body).toContain('<div class="alert" role="alert">');
    expect(down.body).toContain("503: gateway unavailable");
    const noBuilds = await get("/dashboard/demo", {
      login: "demo",
      answers: { "/builds": { status: 500, body: "internal error" } },
    });
    expect(noBuilds.status).toBe(200);
    expect(noBuilds.body).toContain("Could not load the builds (the last build column).");
    expect(noBuilds.body).toContain(">hello</a>");
  });

  it("the function page: logs fail → its section shows the error, the rest of the page stays", async () => {
    const res = await get("/dashboard/demo/functions/hello", {
      login: "demo",
      answers: { "/function-logs": { status: 502, body: "log request failed" } },
    });
    expect(res.status).toBe(200);
    expect(res.body).toContain("Could not load the runtime logs.");
    expect(res.body).toContain("last 1h: 5 succeeded");
  });

  it("assets: app.js and style.css served with their types; anything else under /dashboard/_/ → 404", async () => {
    const js = await get("/dashboard/_/app.js");
    expect([js.status, js.headers?.["content-type"]]).toEqual([200, "text/javascript; charset=utf-8"]);
    expect((await get("/dashboard/_/style.css")).headers?.["content-type"]).toBe("text/css; charset=utf-8");
    expect((await get("/dashboard/_/handler.js")).status).toBe(404);
  });
});
