import type { AxiosInstance } from "axios";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { z } from "zod";
import { CLOUD_SIGNATURE_HEADER, signHop } from "../../shared/hmac.js";

/** The waits before each resend of a build whose connection to of-builder was lost (issue #16): about 14 s in all. */
const RESEND_AFTER_MS = [1_000, 4_000, 9_000];

/** of-builder's answer (DESIGN §6). */
const resultSchema = z.object({
  imageName: z.string().optional(),
  status: z.string(),
  log: z.array(z.string()).nullable().optional(),
  digest: z.string().optional(),
  error: z.string().optional(),
});

/** One log line of the stream. */
const logLineSchema = z.object({ log: z.string() }).strict();

/** A build's outcome as a value: a failed build is not an exception (STYLE §2.9). */
export interface BuildOutcome {
  ok: boolean;
  imageName: string;
  log: string[];
  digest?: string;
  /** The line that says why, for the commit status. */
  reason?: string;
}

export interface BuilderClient {
  /** Builds the tar; `onLog` gets each log line while the build runs (of-builder's ndjson stream, DESIGN §6). */
  build(tar: Buffer, onLog?: (line: string) => void): Promise<BuildOutcome>;
}

/**
 * Sends a signed build tar to of-builder, asking for the log as it comes (`Accept: application/x-ndjson`); waits and
 * retries while it answers 429 (all build slots busy), and sends the build again (three times at most) when the
 * connection is lost before the result, as when of-builder is killed mid-build and restarts. The whole wait, queueing and streaming included, ends within
 * `deadlineMs` (default 270 s: buildshiprun's exec_timeout in stack.yml is 5m, so the function reports a slow build
 * itself instead of being cut off with no status). An answer in plain JSON (refusals, older builders) is read as one.
 */
export function createBuilderClient(deps: {
  url: string;
  payloadSecret: string;
  http: AxiosInstance;
  sleep?: (ms: number) => Promise<void>;
  deadlineMs?: number;
  now?: () => number;
  /** Jitter of the 429 waits, in [0, 1). */
  random?: () => number;
}): BuilderClient {
  const endpoint = `${deps.url.replace(/\/+$/, "")}/build`;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const deadlineMs = deps.deadlineMs ?? 270_000;
  const seconds = `${Math.round(deadlineMs / 1000)} s`;
  const failed = (reason: string): BuildOutcome => ({ ok: false, imageName: "", log: [], reason });

  return {
    async build(tar, onLog = () => undefined) {
      const deadline = now() + deadlineMs;
      let lostConnections = 0;
      /** Whether to send the build again after a lost connection: a few times, backing off, within the deadline. */
      const waitToResend = async (why: string): Promise<boolean> => {
        const wait = RESEND_AFTER_MS[lostConnections++];
        if (wait === undefined || now() + wait >= deadline) return false;
        onLog(`buildshiprun: ${why}; sending the build again in ${wait / 1000} s`);
        await sleep(wait);
        return true;
      };
      for (let attempt = 0; ; attempt++) {
        // A socket timeout would not end a build whose log keeps arriving: the deadline aborts the whole call.
        const overdue = new AbortController();
        const timer = setTimeout(() => overdue.abort(), Math.max(1, deadline - now()));
        let answer: { status: number; body: unknown; streamed: boolean };
        try {
          const res = await deps.http.post<Readable>(endpoint, tar, {
            headers: {
              "content-type": "application/octet-stream",
              accept: "application/x-ndjson, application/json",
              [CLOUD_SIGNATURE_HEADER]: signHop(deps.payloadSecret, "of-builder", tar),
            },
            responseType: "stream",
            signal: overdue.signal,
            validateStatus: () => true,
            maxBodyLength: Infinity,
            maxContentLength: Infinity,
            maxRedirects: 0,
          });
          const streamed = String(res.headers["content-type"] ?? "").startsWith("application/x-ndjson");
          answer = {
            status: res.status,
            body: streamed ? await readStream(res.data, onLog) : await readJson(res.data),
            streamed,
          };
        } catch (error) {
          if (overdue.signal.aborted) return failed(`build took longer than ${seconds}`);
          // of-builder restarting (killed mid-build, redeployed): the build is sent again once it is back. A build is
          // the same image whenever it runs, so a second run only redoes the work the lost one did not finish.
          const lost = `builder unreachable: ${(error as Error).message}`;
          if (await waitToResend(lost)) continue;
          return failed(lost);
        } finally {
          clearTimeout(timer);
        }
        // An ndjson stream that ended without its result line: of-builder died mid-build, after it answered 200.
        if (answer.streamed && answer.status === 200 && answer.body === undefined) {
          if (await waitToResend("of-builder stopped mid-build")) continue;
          return failed("builder lost the build: of-builder stopped mid-build");
        }
        // 429: of-builder is at max_inflight; a slot frees up when a running build ends. Asked again within 4 s at
        // most (1, 2, then 4 s, each shortened by up to half at random so waiting builds do not ask in step): a slot
        // that freed up stays idle until someone asks, which cost 20 pushes at once a third of their build time
        // when the wait doubled up to 30 s (bench/many-owners.ts, docs/performance.md).
        if (answer.status === 429) {
          const wait = Math.round(Math.min(1000 * 2 ** attempt, 4_000) * (1 - random() / 2));
          if (now() + wait >= deadline) return failed(`of-builder had no free build slot within ${seconds}`);
          await sleep(wait);
          continue;
        }
        const parsed = resultSchema.safeParse(answer.body);
        if (!parsed.success) return failed(`builder answered ${answer.status} without a build result`);
        const result = parsed.data;
        const log = result.log ?? [];
        const ok = answer.status === 200 && result.status === "success";
        return {
          ok,
          imageName: result.imageName ?? "",
          log,
          ...(result.digest ? { digest: result.digest } : {}),
          ...(ok ? {} : { reason: result.error ?? lastErrorLine(log) ?? result.status }),
        };
      }
    },
  };
}

/** A plain answer: its JSON, or undefined when it is none. */
async function readJson(body: Readable): Promise<unknown> {
  try {
    return JSON.parse(await text(body)) as unknown;
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/**
 * of-builder's stream (build-handler.ts): `{"log": line}` per log line as it comes, then the result. Resolves to the
 * result line, or undefined when the stream ended without one (the builder died mid-build).
 */
async function readStream(body: Readable, onLog: (line: string) => void): Promise<unknown> {
  let result: unknown;
  for await (const line of createInterface({ input: body, crlfDelay: Infinity })) {
    if (line.trim() === "") continue;
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      continue; // not a line of the protocol: nothing to show or to conclude from
    }
    const logLine = logLineSchema.safeParse(message);
    if (logLine.success) onLog(logLine.data.log);
    else result = message;
  }
  return result;
}

/** The last log line that looks like an error, else the last line: what a user needs first. */
export function lastErrorLine(log: string[]): string | undefined {
  const lines = log.map((l) => l.trim()).filter(Boolean);
  return [...lines].reverse().find((l) => /error|failed|exception|exit code/i.test(l)) ?? lines.at(-1);
}
