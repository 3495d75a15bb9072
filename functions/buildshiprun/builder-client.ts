import type { AxiosInstance } from "axios";
import { z } from "zod";
import { CLOUD_SIGNATURE_HEADER, signHop } from "../../shared/hmac.js";

/** of-builder's answer (DESIGN §6). */
const resultSchema = z.object({
  imageName: z.string().optional(),
  status: z.string(),
  log: z.array(z.string()).nullable().optional(),
  digest: z.string().optional(),
  error: z.string().optional(),
});

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
  build(tar: Buffer): Promise<BuildOutcome>;
}

/**
 * Sends a signed build tar to of-builder; waits and retries while it answers 429 (all build slots busy). The whole
 * wait, queueing included, ends within `deadlineMs` (default 270 s: buildshiprun's exec_timeout in stack.yml is 5m,
 * so the function reports a slow build itself instead of being cut off with no status).
 */
export function createBuilderClient(deps: {
  url: string;
  payloadSecret: string;
  http: AxiosInstance;
  sleep?: (ms: number) => Promise<void>;
  deadlineMs?: number;
  now?: () => number;
}): BuilderClient {
  const endpoint = `${deps.url.replace(/\/+$/, "")}/build`;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = deps.now ?? Date.now;
  const deadlineMs = deps.deadlineMs ?? 270_000;
  const seconds = `${Math.round(deadlineMs / 1000)} s`;

  return {
    async build(tar) {
      const deadline = now() + deadlineMs;
      for (let attempt = 0; ; attempt++) {
        let res;
        try {
          res = await deps.http.post<unknown>(endpoint, tar, {
            headers: {
              "content-type": "application/octet-stream",
              [CLOUD_SIGNATURE_HEADER]: signHop(deps.payloadSecret, "of-builder", tar),
            },
            validateStatus: () => true,
            maxBodyLength: Infinity,
            maxContentLength: Infinity,
            maxRedirects: 0,
            timeout: Math.max(1, deadline - now()),
          });
        } catch (error) {
          const timedOut = (error as { code?: string }).code === "ECONNABORTED";
          const reason = timedOut
            ? `build took longer than ${seconds}`
            : `builder unreachable: ${(error as Error).message}`;
          return { ok: false, imageName: "", log: [], reason };
        }
        // 429: of-builder is at max_inflight; a slot frees up when a running build ends.
        if (res.status === 429) {
          const wait = Math.min(2000 * 2 ** attempt, 30_000);
          if (now() + wait >= deadline) {
            return { ok: false, imageName: "", log: [], reason: `of-builder had no free build slot within ${seconds}` };
          }
          await sleep(wait);
          continue;
        }
        const parsed = resultSchema.safeParse(res.data);
        if (!parsed.success)
          return { ok: false, imageName: "", log: [], reason: `builder answered ${res.status} without a build result` };
        const result = parsed.data;
        const log = result.log ?? [];
        const ok = res.status === 200 && result.status === "success";
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

/** The last log line that looks like an error, else the last line: what a user needs first. */
export function lastErrorLine(log: string[]): string | undefined {
  const lines = log.map((l) => l.trim()).filter(Boolean);
  return [...lines].reverse().find((l) => /error|failed|exception|exit code/i.test(l)) ?? lines.at(-1);
}
