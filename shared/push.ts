import type { PushEvent } from "@octokit/webhooks-types";
import { z } from "zod";
import { parseJsonBody } from "./json-body.js";
import { isGitlabOwner, ownerIdSchema } from "./naming.js";

/** The parts of a webhook's `repository` the pipeline reads (pushes and re-runs, issue #17). */
export const githubRepository = z.object({
  name: z.string().min(1),
  full_name: z.string().min(1),
  clone_url: z.url(),
  html_url: z.url(),
  private: z.boolean(),
  default_branch: z.string().min(1),
  owner: z.object({ login: z.string().min(1), id: z.number().int() }),
});
export type GithubRepository = z.infer<typeof githubRepository>;

/** The parts of GitHub's push payload the pipeline reads; validated once at the front door. */
const githubPush = z.object({
  ref: z.string().min(1),
  after: z.string().regex(/^[0-9a-f]{40}$/, "expected a 40-character hex SHA"),
  deleted: z.boolean().optional(),
  repository: githubRepository,
  installation: z.object({ id: z.number().int().positive() }).optional(),
});
export type GithubPush = z.infer<typeof githubPush>;

// Compile-time guard: GitHub's own payload type (from @octokit/webhooks-types) fits the schema above.
const fits = (event: PushEvent): z.input<typeof githubPush> => ({ ...event, installation: event.installation });
void fits;

// Path segments of `<github_url>/<owner>/<repo>.git`: no slash, and never `.` or `..`, so a payload cannot steer the
// clone to another path on the git host (issue #10). Loose enough for GitHub Enterprise logins (`_`) and `.github`,
// and for GitLab owner keys (`group-sub-1a2b3c4d--gl`, shared/naming.ts), which name no path: GitLab builds clone
// `<gitlab_url>/<fullName>.git`, each segment of fullName checked by the repository rule (issue #19).
const owner = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "expected a login: letters, digits, '.', '_', '-'");
const repo = z
  .string()
  .regex(/^[A-Za-z0-9._-]+$/, "expected a repository name: letters, digits, '.', '_', '-'")
  .refine((name) => name !== "." && name !== "..", "expected a repository name, not . or ..");

/**
 * The body github-push sends to git-tar (and git-tar to later stages): one normalised push to build. It carries no
 * clone URL: git-tar clones `<github_url>/<owner>/<repo>.git`, so no payload can point it (and the installation
 * token) at another host (issue #10).
 */
const buildRequest = z
  .object({
    /** Where the push came from (issue #19); absent: github, so messages queued before it stay valid. */
    scm: z.enum(["github", "gitlab"]).optional(),
    owner,
    /** GitHub's account id, or `gitlab-<namespace id>` (shared/naming.ts ownerIdSchema). */
    ownerId: ownerIdSchema,
    repo,
    /** `owner/repo` on GitHub; GitLab's `path_with_namespace` (`group/sub/project`), the path git-tar clones. */
    fullName: z.string().min(1),
    repoUrl: z.url(),
    private: z.boolean(),
    sha: z.string().regex(/^[0-9a-f]{40}$/),
    ref: z.string().min(1),
    branch: z.string().min(1),
    /** The GitHub App installation; on GitLab the project id, which the GitLab API addresses. */
    installationId: z.number().int().positive(),
    deliveryId: z.string(),
    /**
     * A branch other than the build branch, built as a preview (issue #17, docs/previews.md) when enable_previews is on;
     * git-tar builds it only when the repository's .openfaas-cloud.yml opts in.
     */
    preview: z.boolean().optional(),
    /** The `stack-deploy` check run github-push created queued (issue #17); absent when it could not. */
    checkRunId: z.number().int().positive().optional(),
  })
  .superRefine((request, ctx) => {
    const gitlab = request.scm === "gitlab";
    // An owner id of the other SCM would let one side's build claim the other's functions (labels compare it).
    if (gitlab !== (typeof request.ownerId === "string")) {
      ctx.addIssue({
        code: "custom",
        path: ["ownerId"],
        message: gitlab
          ? 'expected "gitlab-<namespace id>" for a GitLab build'
          : "expected GitHub's numeric account id",
      });
    }
    if (gitlab && (!isGitlabOwner(request.owner) || request.owner !== request.owner.toLowerCase())) {
      ctx.addIssue({ code: "custom", path: ["owner"], message: "expected a GitLab owner key (<slug>-<hash>--gl)" });
    }
    if (gitlab && !isProjectPath(request.fullName)) {
      ctx.addIssue({
        code: "custom",
        path: ["fullName"],
        message: "expected a GitLab project path: 2 or more segments of letters, digits, '.', '_', '-', none . or ..",
      });
    }
    if (gitlab && (request.preview === true || request.checkRunId !== undefined)) {
      ctx.addIssue({ code: "custom", path: ["scm"], message: "previews and check runs are GitHub-only" });
    }
  });
export type BuildRequest = z.infer<typeof buildRequest>;

/** `group/sub/project`: each segment a repository name (never `.` or `..`), so the clone path stays on the project. */
const isProjectPath = (fullName: string) => {
  const segments = fullName.split("/");
  return segments.length >= 2 && segments.every((s) => repo.safeParse(s).success);
};

/** Parses a GitHub push payload; a 400 naming the bad fields otherwise. */
export function parseGithubPush(body: Buffer): GithubPush {
  return parseJsonBody(githubPush, body, "push event");
}

/** Parses the internal build request hop body; a 400 naming the bad fields otherwise. */
export function parseBuildRequest(body: Buffer): BuildRequest {
  return parseJsonBody(buildRequest, body, "build request");
}

/** A push that removed its ref (a deleted branch or tag): nothing to build, and no commit to put a status on. */
export function isDeletion(push: GithubPush): boolean {
  return push.deleted === true || /^0{40}$/.test(push.after);
}
