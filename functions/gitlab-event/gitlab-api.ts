import axios, { type AxiosInstance } from "axios";
import { z } from "zod";
import { HttpError } from "../../shared/http-error.js";

// The fields of GET /projects/:id gitlab-event reads (docs.gitlab.com/api/projects/#get-a-single-project). `topics`
// replaced `tag_list` in GitLab 14.0; older instances send only `tag_list`.
const project = z.object({
  id: z.number().int().positive(),
  path: z.string().min(1),
  path_with_namespace: z.string().min(1),
  web_url: z.string().min(1),
  visibility: z.enum(["public", "internal", "private"]),
  default_branch: z.string().min(1).nullish(),
  topics: z.array(z.string()).optional(),
  tag_list: z.array(z.string()).optional(),
  namespace: z.object({ id: z.number().int().positive(), full_path: z.string().min(1) }),
});
export type GitlabProject = z.infer<typeof project>;

// GET /namespaces/:id (docs.gitlab.com/api/namespaces/#get-details-on-a-namespace): `:id` may be the full path.
const namespace = z.object({ id: z.number().int().positive(), full_path: z.string().min(1) });
export type GitlabNamespace = z.infer<typeof namespace>;

/** The two GitLab reads gitlab-event needs that the commit-status client (shared/gitlab.ts) has no use for. */
export interface GitlabApi {
  /** The project, or undefined when GitLab answers 404 (deleted, or the token cannot see it). */
  project(id: number): Promise<GitlabProject | undefined>;
  /** The namespace (user, group or subgroup) at `fullPath`, or undefined when GitLab answers 404. */
  namespace(fullPath: string): Promise<GitlabNamespace | undefined>;
}

/**
 * The GitLab API at `<url>/api/v4` with the `gitlab-api-token` (contract §6). Only `url` is ever asked, never a
 * payload's URL. A 404 is undefined; any other failure, or an answer not shaped as GitLab's, is HttpError 502.
 */
export function createGitlabApi(deps: {
  url: string;
  token: string;
  http?: AxiosInstance;
  timeoutMs?: number;
}): GitlabApi {
  const http = deps.http ?? axios.create();
  const base = `${deps.url.replace(/\/+$/, "")}/api/v4`;

  async function get<T extends z.ZodType>(path: string, schema: T): Promise<z.infer<T> | undefined> {
    let res;
    try {
      res = await http.get<unknown>(`${base}${path}`, {
        headers: { "PRIVATE-TOKEN": deps.token, accept: "application/json" },
        timeout: deps.timeoutMs ?? 5000,
        validateStatus: () => true,
      });
    } catch (error) {
      throw new HttpError(502, `GitLab API: GET ${path} failed: ${(error as Error).message}`, { cause: error });
    }
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new HttpError(502, `GitLab API: GET ${path} answered ${res.status}`);
    const parsed = schema.safeParse(res.data);
    if (!parsed.success)
      throw new HttpError(502, `GitLab API: GET ${path}: unexpected answer`, { cause: parsed.error });
    return parsed.data;
  }

  return {
    project: (id) => get(`/projects/${id}`, project),
    namespace: (fullPath) => get(`/namespaces/${encodeURIComponent(fullPath)}`, namespace),
  };
}
