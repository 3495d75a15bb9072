import { jest } from "@jest/globals";
import { createPrivateKey } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { request } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import axios from "axios";
import { pino } from "pino";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { loadPorts } from "../../local/ports.js";
import { startLocalCloud, type LocalCloud } from "../../local/runtime.js";
import { dashboardUrls } from "../../shared/dashboard-url.js";
import { SESSION_COOKIE, signSession, type Session } from "../../shared/session.js";

// Issues #13 and #14 on one local runtime (one start, one build of the function both read): a function that answers
// the status code it is asked for is pushed and called N times with some failures, then
// - the dashboard's JSON APIs (list-functions, function-logs, system-metrics, all in dashboard-api) at their public
//   paths through the edge router's system host, with sessions signed by the runtime's own edge-auth key: the real
//   Prometheus counts the calls by code, list-functions reports the same N, the logs hold a line the function printed;
// - the dashboard in real Chromium (Debian's, driven by playwright-core): the GitHub stand-in's OAuth login, the three
//   pages with what was just pushed, called and printed, a failing build followed live, another owner's dashboard
//   refused, every commit status link opened, axe-core on each page, and the screenshots the README shows
//   (docs/images/dashboard-*-{desktop,phone}.png).
jest.setTimeout(600_000);

const IMAGES = fileURLToPath(new URL("../../docs/images/", import.meta.url));
const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const OK = 5;
const FAILED = 3;
const CALLS = { ok: OK, failed: FAILED };
const FLAKY = {
  "stack.yml": [
    "version: 1.0",
    "provider:",
    "  name: openfaas",
    "functions:",
    "  flaky:",
    "    lang: node24",
    "    handler: ./flaky",
    "    image: flaky:latest",
    "",
  ].join("\n"),
  "flaky/package.json": JSON.stringify({ name: "flaky", version: "1.0.0", private: true, main: "handler.js" }),
  "flaky/handler.js": [
    '"use strict";',
    "// Answers with the status code it is asked for, and says so on stdout.",
    "module.exports = async (event, context) => {",
    "  const code = Number(event.query.code || 200);",
    "  console.log(`flaky answered ${code} to call ${event.query.n}`);",
    "  context.status(code);",
    "  return `code ${code}\\n`;",
    "};",
    "",
  ].join("\n"),
};

// A test that runs for a while before it fails, so the build page is open while the build still runs.
const FAILING_LINE = "FAIL broken: expected 2 + 2 to be 4, got 5";
const BROKEN = {
  "stack.yml":
    "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  broken:\n    lang: node24\n    handler: ./broken\n    image: broken:latest\n",
  "broken/package.json": JSON.stringify({
    name: "broken",
    version: "1.0.0",
    private: true,
    main: "handler.js",
    scripts: { test: "node check.js" },
  }),
  "broken/handler.js": 'module.exports = async () => "never deployed";\n',
  "broken/check.js": [
    "let n = 0;",
    "const tick = setInterval(() => console.log(`checking ${++n}`), 1000);",
    "setTimeout(() => {",
    "  clearInterval(tick);",
    `  console.log(${JSON.stringify(FAILING_LINE)});`,
    "  process.exit(1);",
    "}, 12000);",
    "",
  ].join("\n"),
};

let dir: string;
let cloud: LocalCloud;
let sign: (session: Partial<Session> & { login: string }) => Promise<string>;
let browser: Browser;
let demo: BrowserContext;
let page: Page;
const problems: string[] = [];
const system = (path: string) => `http://system.localhost:${cloud.edgePort}${path}`;
const urls = () => dashboardUrls(system(""));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "e2e-dashboard-"));
  const { gateway } = await loadPorts(join(dir, "ports.json"));
  cloud = await startLocalCloud({
    dir,
    owners: ["demo", "mallory"],
    log: pino({ level: "silent" }),
    gatewayPort: gateway,
    scrapeIntervalMs: 1_000,
    settings: { operators: "root" },
  });
  // The key edge-auth signs with (the runtime made it in <dir>/secrets): the functions verify with its public half.
  const key = createPrivateKey(await readFile(join(dir, "secrets", "jwt-private-key"), "utf8"));
  sign = async (session) =>
    `${SESSION_COOKIE}=${await signSession({ userId: 1, orgs: [], ...session }, key, { nowMs: Date.now(), ttlMs: 600_000 })}`;
  // Chromium refuses to run as root with its sandbox; CI runs the tests as root (DESIGN §8).
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
  });
  demo = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await watched(demo);
  await mkdir(IMAGES, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await cloud?.close();
  await rm(dir, { recursive: true, force: true });
});

/** GET `http://system.localhost:<edge><path>`, sent to 127.0.0.1 with the system host's name, as a browser would. */
function apiGet(path: string, cookie?: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: cloud.edgePort,
        path,
        headers: { host: `system.localhost:${cloud.edgePort}`, ...(cookie ? { cookie } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // A refusal's plain-text message.
          }
          resolve({ status: res.statusCode!, body });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** Asks until `done` holds (Prometheus scrapes every second; container logs arrive as the daemon writes them). */
async function poll<T>(ask: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await ask();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

type Listed = Array<{ name: string; deployedName: string; invocationCount: number; sha: string; url: string }>;
type Metrics = {
  invocations: { total: number; byCode: Record<string, number> };
  latencySeconds: Record<string, unknown>;
};

/** A page whose CSP violations and script errors are collected: the pages must work under their strict CSP. */
async function watched(context: BrowserContext): Promise<Page> {
  const p = await context.newPage();
  p.on("console", (m) => {
    if (m.type() === "error" && /Content.Security.Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });
  p.on("pageerror", (error) => problems.push(`script error: ${error.message}`));
  return p;
}

/** Logs in through edge-auth and the stand-in's authorize page, as a newcomer would with `npm start`. */
async function logIn(p: Page, login: string) {
  await p.goto(system(`/dashboard/${login}`));
  expect(p.url()).toContain(`${cloud.github.url}/login/oauth/authorize?`);
  await p.getByRole("link", { name: `Sign in as ${login}` }).click();
  await p.waitForURL(system(`/dashboard/${login}`));
}

/** axe-core in the page: no serious or critical violation (issue #14). */
async function expectAccessible(p: Page) {
  await p.evaluate(await readFile(AXE, "utf8"));
  type Violation = { id: string; impact: string; nodes: Array<{ target: string[] }> };
  // Strings, not functions: evaluated in the page as written (this project compiles without the DOM's types).
  const result = await p.evaluate<{ violations: Violation[] }>("axe.run()");
  const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
}

/** Desktop and phone screenshots of the page; at phone width nothing may scroll sideways but the tables' own boxes. */
async function screenshots(p: Page, name: string) {
  for (const [label, width, height] of [
    ["phone", 390, 844],
    ["desktop", 1280, 800],
  ] as const) {
    await p.setViewportSize({ width, height });
    const overflow = await p.evaluate("document.documentElement.scrollWidth - window.innerWidth");
    expect([label, overflow]).toEqual([label, 0]);
    await p.screenshot({ path: join(IMAGES, `dashboard-${name}-${label}.png`), fullPage: true });
  }
}

async function pollPage(p: Page, url: string, done: () => Promise<boolean>, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await p.goto(url);
    if ((await done()) || Date.now() > deadline) return;
    await p.waitForTimeout(1_000);
  }
}

let sha: string;

describe("demo's function on the local runtime", () => {
  it(`demo pushes flaky; it is called ${OK + FAILED} times, ${FAILED} failing; mallory has a function of their own`, async () => {
    sha = await cloud.publish("demo", "flaky-stack", FLAKY, "flaky");
    expect((await cloud.sendPush("demo", "flaky-stack", sha)).status).toBe(202);
    expect((await cloud.waitForStatus("demo", "flaky-stack", sha, "stack-deploy", 300_000)).state).toBe("success");
    const codes = [...Array<number>(CALLS.ok).fill(200), ...Array<number>(CALLS.failed).fill(500)];
    for (const [n, code] of codes.entries()) {
      const res = await axios.get(`${cloud.gatewayUrl}function/demo--flaky`, {
        params: { code, n },
        validateStatus: () => true,
      });
      expect(res.status).toBe(code);
    }
    // Another owner's function, deployed straight through the gateway from flaky's image (no second build).
    const admin = { auth: { username: cloud.auth.user, password: cloud.auth.password } };
    const flaky = await axios.get<{ image: string }>(`${cloud.gatewayUrl}system/function/demo--flaky`, admin);
    const labels = { "com.openfaas.cloud.git-owner": "mallory", "com.openfaas.cloud.git-repo": "other-stack" };
    const deployed = await axios.post(
      `${cloud.gatewayUrl}system/functions`,
      { service: "mallory--other", image: flaky.data.image, labels },
      { ...admin, validateStatus: () => true },
    );
    expect(deployed.status).toBeLessThan(300);
  });
});

describe("the dashboard APIs (issue #13)", () => {
  it(`list-functions as demo → flaky with its SHA, its pretty URL and ${OK + FAILED} calls (from Prometheus)`, async () => {
    const cookie = await sign({ login: "demo" });
    const res = await poll(
      () => apiGet("/list-functions?owner=demo", cookie),
      (r) => (r.body as Listed)[0]?.invocationCount === OK + FAILED,
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject([
      {
        name: "flaky",
        deployedName: "demo--flaky",
        repo: "flaky-stack",
        sha,
        invocationCount: OK + FAILED,
        url: `http://demo.localhost:${cloud.edgePort}/flaky`,
      },
    ]);
  });

  it("list-functions: mallory → 403, no cookie → 401, a demo org member and the operator → 200", async () => {
    const mallory = await apiGet("/list-functions?owner=demo", await sign({ login: "mallory" }));
    expect([mallory.status, JSON.stringify(mallory.body)]).toEqual([403, expect.not.stringContaining("flaky")]);
    expect((await apiGet("/list-functions?owner=demo")).status).toBe(401);
    const member = await apiGet("/list-functions?owner=demo", await sign({ login: "bob", orgs: ["demo"] }));
    const operator = await apiGet("/list-functions?owner=demo", await sign({ login: "root" }));
    expect([member.status, operator.status]).toEqual([200, 200]);
    expect((operator.body as Listed).map((f) => f.name)).toEqual(["flaky"]);
    // mallory's own list has mallory's function only: demo's function is not mallory's.
    const own = await apiGet("/list-functions?owner=mallory", await sign({ login: "mallory" }));
    expect((own.body as Listed).map((f) => f.name)).toEqual(["other"]);
  });

  it("function-logs as demo → the lines flaky printed; mallory → 403; an unknown function → 404", async () => {
    const cookie = await sign({ login: "demo" });
    const res = await poll(
      () => apiGet("/function-logs?owner=demo&function=flaky&tail=50", cookie),
      (r) => JSON.stringify(r.body).includes(`flaky answered 500 to call ${OK + FAILED - 1}`),
    );
    expect(res.status).toBe(200);
    const texts = (res.body as Array<{ text: string }>).map((l) => l.text);
    expect(texts.join("\n")).toContain("flaky answered 200 to call 0");
    expect(texts.join("\n")).toContain(`flaky answered 500 to call ${OK + FAILED - 1}`);
    expect((await apiGet("/function-logs?owner=demo&function=flaky", await sign({ login: "mallory" }))).status).toBe(
      403,
    );
    expect((await apiGet("/function-logs?owner=demo&function=nope", cookie)).status).toBe(404);
  });

  it(`system-metrics as demo, 1h and 24h → ${OK} × 200 and ${FAILED} × 500, with latency; mallory → 403`, async () => {
    const cookie = await sign({ login: "demo" });
    for (const window of ["1h", "24h"]) {
      const res = await poll(
        () => apiGet(`/system-metrics?owner=demo&function=flaky&window=${window}`, cookie),
        (r) => (r.body as Metrics).invocations?.total === OK + FAILED,
      );
      expect(res.status).toBe(200);
      const metrics = res.body as Metrics;
      expect(metrics.invocations).toEqual({ total: OK + FAILED, byCode: { "200": OK, "500": FAILED } });
      for (const q of ["average", "p50", "p99"]) {
        expect([q, typeof metrics.latencySeconds[q]]).toEqual([q, "number"]);
      }
    }
    // Prometheus' own query API says the same: N calls of demo--flaky, split by status code.
    const query = 'sum by (code) (gateway_function_invocation_total{function_name=~"demo--flaky([.].+)?"})';
    const direct = await axios.get<{ data: { result: Array<{ metric: { code: string }; value: [number, string] }> } }>(
      `${cloud.prometheusUrl}/api/v1/query`,
      { params: { query }, auth: { username: cloud.auth.user, password: cloud.auth.password } },
    );
    const byCode = Object.fromEntries(direct.data.data.result.map((r) => [r.metric.code, Number(r.value[1])]));
    expect(byCode).toEqual({ "200": OK, "500": FAILED });
    const refused = await apiGet("/system-metrics?owner=demo&function=flaky", await sign({ login: "mallory" }));
    expect(refused.status).toBe(403);
  });
});

describe("the dashboard in Chromium (issue #14)", () => {
  let brokenSha: string;

  it("the stand-in's login → demo's functions page: exactly flaky, its short SHA and URL; accessible", async () => {
    await logIn(page, "demo");
    const rows = page.locator("table.functions tbody tr");
    expect(await rows.locator("th").allTextContents()).toEqual(["flaky"]);
    expect((await rows.locator('td[data-label="Commit"]').textContent())?.trim()).toBe(sha.slice(0, 7));
    expect((await rows.locator('td[data-label="URL"]').textContent())?.trim()).toBe(
      `http://demo.localhost:${cloud.edgePort}/flaky`,
    );
    expect(await rows.locator('td[data-label="Commit"] a').getAttribute("href")).toMatch(new RegExp(`/commit/${sha}$`));
    await pollPage(page, system("/dashboard/demo"), async () =>
      /^\s*8\s*$/.test((await rows.locator('td[data-label="Invocations 1 h"]').textContent()) ?? ""),
    );
    expect((await rows.locator('td[data-label="Invocations 24 h"]').textContent())?.trim()).toBe("8");
    await expectAccessible(page);
    await screenshots(page, "functions");
  });

  it("flaky's page: a chart of 5 successes and 3 failures, the lines it printed, and Refresh shows a new one", async () => {
    await page.goto(system("/dashboard/demo"));
    await page.getByRole("link", { name: "flaky", exact: true }).click();
    await page.waitForURL(urls().function("demo", "flaky"));
    const chart = page.locator("figure.chart svg");
    const expected = `last 1h: ${CALLS.ok} succeeded, ${CALLS.failed} failed`;
    await pollPage(page, urls().function("demo", "flaky"), async () =>
      ((await chart.getAttribute("aria-label")) ?? "").includes(expected),
    );
    expect(await chart.getAttribute("aria-label")).toContain(expected);
    await pollPage(page, urls().function("demo", "flaky"), async () =>
      ((await page.locator("#logs ol.log").textContent()) ?? "").includes("flaky answered 500 to call 7"),
    );
    const logs = page.locator("#logs ol.log li");
    expect(await logs.allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining("flaky answered 200 to call 0")]),
    );
    // A call after the page loaded: Refresh (the script, under the page's CSP) brings its line to the top.
    await axios.get(`${cloud.gatewayUrl}function/demo--flaky`, { params: { code: 200, n: 99 } });
    for (let i = 0; i < 30 && !(await logs.first().textContent())?.includes("call 99"); i++) {
      await page.getByRole("link", { name: "Refresh logs" }).click();
      await page.waitForTimeout(1_000);
    }
    expect(await logs.first().textContent()).toContain("flaky answered 200 to call 99");
    expect(await page.locator("section[aria-labelledby=builds-title] tbody tr").count()).toBeGreaterThanOrEqual(1);
    await expectAccessible(page);
    await screenshots(page, "function");
  });

  it("a push whose npm test fails: the build page goes from running to failure live, the failing line in view", async () => {
    brokenSha = await cloud.publish("demo", "broken-stack", BROKEN, "broken");
    expect((await cloud.sendPush("demo", "broken-stack", brokenSha)).status).toBe(202);
    const buildUrl = urls().build("demo", "broken-stack", brokenSha, "broken");
    const badge = page.locator("[data-build-state]");
    // The build's record exists from its start: ask until the page is there, then watch it without reloading.
    const deadline = Date.now() + 240_000;
    for (;;) {
      const res = await page.goto(buildUrl);
      if (res?.status() === 200 || Date.now() > deadline) break;
      await page.waitForTimeout(1_000);
    }
    expect(await badge.textContent()).toBe("running");
    let navigations = 0;
    page.on("framenavigated", () => navigations++);
    await page.locator("[data-build-state].state-failure").waitFor({ timeout: 240_000 });
    expect(navigations).toBe(0);
    const failing = page.locator("ol.log li.line-error").first();
    await failing.waitFor();
    expect(await page.locator("ol.log li.line-error").allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining(FAILING_LINE)]),
    );
    const box = await failing.boundingBox();
    const inView = box !== null && box.y >= 0 && box.y + box.height <= (page.viewportSize()?.height ?? 0);
    expect(inView).toBe(true);
    await page.reload();
    await expectAccessible(page);
    await screenshots(page, "build");
  });

  it("another owner's dashboard is refused: mallory on demo's → 403; demo on mallory's → 403", async () => {
    const context = await browser.newContext();
    const mallory = await watched(context);
    await logIn(mallory, "mallory");
    expect(await mallory.locator("table.functions tbody th").allTextContents()).toEqual(["other"]);
    for (const path of ["/dashboard/demo", "/dashboard/demo/functions/flaky"]) {
      const res = await mallory.goto(system(path));
      expect([path, res?.status()]).toEqual([path, 403]);
      expect(await mallory.locator("main").textContent()).not.toContain("flaky-stack");
    }
    await context.close();
    expect((await page.goto(system("/dashboard/mallory")))?.status()).toBe(403);
  });

  it("every status link of both commits opens a page showing its object", async () => {
    const commits = [
      { repo: "flaky-stack", sha },
      { repo: "broken-stack", sha: brokenSha },
    ];
    for (const { repo, sha: commit } of commits) {
      const statuses = cloud.github.statuses({ owner: "demo", repo, sha: commit });
      expect(statuses.map((s) => s.context)).toEqual(expect.arrayContaining(["stack-deploy"]));
      for (const s of statuses) {
        const what = `${repo} ${s.context} ${s.state} → ${s.target_url ?? "(no link)"}`;
        expect([what, Boolean(s.target_url)]).toEqual([what, true]);
        const res = await page.goto(s.target_url!);
        expect([what, res?.status()]).toEqual([what, 200]);
        const text = (await page.locator("body").textContent()) ?? "";
        if (new URL(s.target_url!).hostname === "demo.localhost") {
          // A function's success links to the function itself: it answers.
          expect([what, text.trim()]).toEqual([what, "code 200"]);
        } else if (s.context === "stack-deploy") {
          // The owner's dashboard or the build: either shows this commit.
          expect([what, text]).toEqual([what, expect.stringContaining(commit.slice(0, 7))]);
        } else {
          // A function's build (pending, failure) or page: it names the function and this commit.
          expect([what, text]).toEqual([what, expect.stringContaining(s.context)]);
          expect([what, text]).toEqual([what, expect.stringContaining(commit.slice(0, 7))]);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
