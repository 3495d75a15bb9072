import { jest } from "@jest/globals";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
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

// Issue #14 in real Chromium (Debian's, driven by playwright-core) on one local runtime: the GitHub stand-in's OAuth
// login, the three pages with what was just pushed, called and printed, a failing build followed live, another
// owner's dashboard refused, every commit status link opened, axe-core on each page, and the screenshots the README
// shows (docs/images/dashboard-*-{desktop,phone}.png). Two pushes build images on this machine: the suite is lean.
jest.setTimeout(600_000);

const IMAGES = fileURLToPath(new URL("../../docs/images/", import.meta.url));
const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const CALLS = { ok: 5, failed: 3 };
const FLAKY = {
  "stack.yml":
    "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n  flaky:\n    lang: node24\n    handler: ./flaky\n    image: flaky:latest\n",
  "flaky/package.json": JSON.stringify({ name: "flaky", version: "1.0.0", private: true, main: "handler.js" }),
  "flaky/handler.js": [
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
let browser: Browser;
let demo: BrowserContext;
let page: Page;
const problems: string[] = [];
const system = (path: string) => `http://system.localhost:${cloud.edgePort}${path}`;
const urls = () => dashboardUrls(system(""));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "e2e-dashboard-browser-"));
  const { gateway } = await loadPorts(join(dir, "ports.json"));
  cloud = await startLocalCloud({
    dir,
    owners: ["demo", "mallory"],
    log: pino({ level: "silent" }),
    gatewayPort: gateway,
    scrapeIntervalMs: 1_000,
  });
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

describe("the dashboard in Chromium", () => {
  let sha: string;
  let brokenSha: string;

  it("demo pushes flaky; it is called 8 times, 3 failing; mallory has a function of their own", async () => {
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
