import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { GitlabProject } from "./projects.js";

const execFileAsync = promisify(execFile);
const GIT_ENV = { PATH: process.env.PATH ?? "/usr/bin:/bin", GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null" };

/** GET /projects/:id/repository/branches/:branch's body for a branch at `sha`. */
export async function branchBody(project: GitlabProject, name: string, sha: string) {
  const format = "%H%x00%P%x00%an%x00%ae%x00%aI%x00%cI%x00%s%x00%B";
  const out = await git(project.bareDir, ["show", "-s", `--format=${format}`, sha]);
  const [id = sha, parents = "", authorName, authorEmail, authored, committed, title, message] = out.split("\x00");
  return {
    name,
    merged: false,
    protected: name === project.defaultBranch,
    default: name === project.defaultBranch,
    developers_can_push: false,
    developers_can_merge: false,
    can_push: true,
    commit: {
      id,
      short_id: id.slice(0, 8),
      title,
      message: message?.replace(/\n$/, ""),
      author_name: authorName,
      author_email: authorEmail,
      authored_date: authored,
      committed_date: committed,
      created_at: committed,
      parent_ids: parents.split(" ").filter(Boolean),
    },
  };
}

/** The branches holding `sha`, the default branch first. */
export async function branchesContaining(project: GitlabProject, sha: string): Promise<string[]> {
  const out = await git(project.bareDir, [
    "for-each-ref",
    "--contains",
    sha,
    "--format=%(refname:lstrip=2)",
    "refs/heads/",
  ]);
  const branches = out.split("\n").filter(Boolean);
  // The default branch first, as GitLab's branch_names_contains lists it when it holds the commit.
  return branches.sort((a, b) => Number(b === project.defaultBranch) - Number(a === project.defaultBranch));
}

/** Runs git in `cwd`, ignoring the machine's git config; its stdout. */
export async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync("git", args, { cwd, env: { ...GIT_ENV, HOME: cwd } });
  return stdout;
}
