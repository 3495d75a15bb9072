import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import axios from "axios";
import { createGateway } from "./gateway.js";
import { HttpError } from "./http-error.js";
import { createLogger, scrubText } from "./log.js";

const PASSWORD = "gateway-password-8c1f";
const TOKEN = "ghs_installationToken0123456789abcdef";
const BASIC = Buffer.from(`admin:${PASSWORD}`).toString("base64");

/** A logger writing JSON lines into an array. */
function memoryLogger() {
  const lines: string[] = [];
  const log = createLogger("test", "debug", { write: (line: string) => void lines.push(line) });
  return { log, lines, text: () => lines.join("") };
}

/** The forms a leaked credential takes in a log line. */
function leaks(text: string): string[] {
  return [PASSWORD, BASIC, TOKEN, "Authorization: Basic", "x-access-token:"].filter((s) => text.includes(s));
}

let server: Server;
let url: string;
beforeAll(async () => {
  server = createServer((_, res) => res.writeHead(500).end("boom"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("createLogger: no credential in any log line (issue #10)", () => {
  it("an axios error from a basic-auth call (config.headers, request, response) → method, url, status only", async () => {
    const { log, text } = memoryLogger();
    const error = await axios
      .get(`${url}/system/functions`, { auth: { username: "admin", password: PASSWORD } })
      .catch((e: unknown) => e);
    log.error({ err: error }, "gateway call failed");
    const line = JSON.parse(text()) as { err: Record<string, unknown> };
    expect(leaks(text())).toEqual([]);
    expect(line.err).toMatchObject({ type: "AxiosError", status: 500, method: "GET", url: `${url}/system/functions` });
    expect(line.err).not.toHaveProperty("config");
    expect(line.err).not.toHaveProperty("request");
    expect(line.err).not.toHaveProperty("response");
  });

  it("the gateway client's refusal (HttpError with the axios error as cause) → no Basic header anywhere", async () => {
    const { log, text } = memoryLogger();
    const gateway = createGateway({
      url: "http://127.0.0.1:1/", // nothing listens on port 1: connection refused
      payloadSecret: "payload",
      auth: { user: "admin", password: PASSWORD },
      http: axios.create(),
      log,
      sleep: () => Promise.resolve(),
      retries: 1,
    });
    const error = await gateway.listFunctions().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    log.warn({ err: (error as HttpError).cause ?? error }, "gateway unreachable");
    log.error({ err: error }, "unhandled");
    expect(text()).toMatch(/ECONNREFUSED/);
    expect(leaks(text())).toEqual([]);
  });

  it.each([
    ["a clone URL with a token", `https://x-access-token:${TOKEN}@github.com/alice/repo.git`],
    ["a Basic header in text", `Authorization: Basic ${BASIC}`],
    ["a Bearer header in text", `authorization: Bearer ${TOKEN}`],
    ["a bare installation token", `token ${TOKEN}`],
  ])("%s in the message, a field and an error → scrubbed", (_, secretText) => {
    const { log, text } = memoryLogger();
    log.info(`clone of ${secretText} failed`);
    log.info({ detail: { url: secretText, list: [secretText] } }, "detail");
    log.error({ err: new Error(`fetch ${secretText}`, { cause: new Error(secretText) }) }, "error");
    log.warn({ error: new Error(secretText) }, "another key");
    expect(text().split("\n").filter(Boolean)).toHaveLength(4);
    expect(leaks(text())).toEqual([]);
  });

  it("header objects (any case), passwords and private keys in logged objects → [redacted]", () => {
    const { log, text } = memoryLogger();
    const pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----";
    log.info({ headers: { authorization: `Basic ${BASIC}`, "X-Registry-Auth": BASIC, cookie: "s=1" } }, "a");
    log.info({ req: { headers: { Authorization: `Bearer ${TOKEN}` } } }, "b");
    log.info({ auth: { user: "admin", password: PASSWORD }, key: pem }, "c");
    expect(leaks(text())).toEqual([]);
    expect(text()).not.toContain("MIIEabc");
    expect(text()).not.toContain("s=1");
    expect(JSON.parse(text().split("\n")[0]!)).toMatchObject({ headers: { authorization: "[redacted]" } });
  });

  it("ordinary text is left as it was", () => {
    const text = "deployed alice--echo at http://127.0.0.1:8080/function/alice--echo (Basic realm)";
    expect(scrubText(text)).toBe(text);
  });
});
