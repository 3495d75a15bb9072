import { z } from "zod";
import { ownerIdSchema } from "./naming.js";

/** Set on a preview deployment (issue #17) to its branch's key (shared/naming.ts previewKey); main ones lack it. */
export const PREVIEW_LABEL = "com.openfaas.cloud.preview-branch";

/**
 * What buildshiprun needs to deploy one function, decided by git-tar. It travels inside the signed build tar, as the
 * `deploy` key of `com.openfaas.docker.config` (of-builder reads only `ref` and `buildArgs`), so the metadata is
 * covered by the same signature as the build context and is not limited by header sizes (the original sent it in
 * unsigned headers).
 */
export const deploySpecSchema = z.object({
  owner: z.string().min(1),
  /** GitHub's account id or `gitlab-<namespace id>`: the `git-owner-id` label, as `String(ownerId)`. */
  ownerId: ownerIdSchema,
  /** Where the push came from (issue #19): the `git-scm` label and where statuses go; absent: github. */
  scm: z.enum(["github", "gitlab"]).optional(),
  repo: z.string().min(1),
  repoUrl: z.string(),
  sha: z.string().regex(/^[0-9a-f]{40}$/),
  branch: z.string().min(1),
  private: z.boolean(),
  installationId: z.number().int().positive(),
  /** The function's name as written in stack.yml: the commit status context. */
  function: z.string().min(1),
  /** `<owner>--<fn>` (shared/naming.ts), already validated. */
  service: z.string().min(1),
  image: z.string().min(1),
  environment: z.record(z.string(), z.string()),
  secrets: z.array(z.string()),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()),
  limits: z.object({ memory: z.string().optional(), cpu: z.string().optional() }).optional(),
  requests: z.object({ memory: z.string().optional(), cpu: z.string().optional() }).optional(),
  readonlyRootFilesystem: z.boolean().optional(),
  constraints: z.array(z.string()),
  /** A preview build's key (shared/naming.ts previewKey), labelled `com.openfaas.cloud.preview-branch` (issue #17). */
  preview: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/)
    .optional(),
  /** The function's `handler` folder in stack.yml: build errors are annotated on the repository's files (issue #17). */
  handler: z.string().optional(),
  /** The function's check run git-tar created queued; absent when use_checks is off or the create failed. */
  checkRunId: z.number().int().positive().optional(),
});
export type DeploySpec = z.infer<typeof deploySpecSchema>;

/** buildshiprun's answer to git-tar: the function's outcome, already reported to GitHub by buildshiprun. */
export const deployResultSchema = z.object({
  function: z.string(),
  status: z.enum(["success", "failure"]),
  description: z.string(),
  url: z.string().optional(),
  image: z.string().optional(),
  /**
   * false when GitHub refused the function's commit status even after the client's retries (issue #16: a 5xx or
   * rate-limit spell): git-tar posts it again, later, so the context does not stay pending for good.
   */
  statusPosted: z.boolean().optional(),
});
export type DeployResult = z.infer<typeof deployResultSchema>;
