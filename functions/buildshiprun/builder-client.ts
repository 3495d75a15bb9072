import type { AxiosInstance } from "axios";
import { z } from "zod";
import { CLOUD_SIGNATURE_HEADER, signPayload } from "../../shared/hmac.js";

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

/** Sends a signed build tar to of-builder; waits and retries while it answers 429 (all build slots busy). */
export function createBuilderClient(deps: {
  url: string;
  payloadSecret: string;
  http: AxiosInstance;
  sleep?: (ms: number) => Promise<void>;
  busyRetries?: number;
}): BuilderClient {
  const endpoint = `${deps.url.replace(/\/+$/, "")}/build`;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const busyRetries = deps.busyRetries ?? 30;

  return {
    async build(tar) {
      for (let attempt = 0; ; attempt++) {
        let res;
        try {
          res = await deps.http.post<unknown>(endpoint, tar, {
            headers: {
              "content-type": "application/octet-stream",
              [CLOUD_SIGNATURE_HEADER]: signPayload(deps.payloadSecret, tar),
            },
            validateStatus: () => true,
            maxBodyLength: Infinity,
            maxContentLength: Infinity,
            maxRedirects: 0,
            timeout: 15 * 60_000,
          });
        } catch (error) {
          return { ok: false, imageName: "", log: [], reason: `builder unreachable: ${(error as Error).message}` };
        }
        // 429: of-builder is at max_inflight; a slot frees up when a running build ends.
        if (res.status === 429 && attempt < busyRetries) {
          await sleep(Math.min(2000 * 2 ** attempt, 30_000));
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
