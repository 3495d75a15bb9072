/**
 * The dashboard's page addresses (issue #14), under the system's public address (system_public_url, e.g.
 * `https://system.example.com`): the one place they are spelled, so commit statuses (buildshiprun, github-push) and
 * the pages' own links name the same pages the dashboard serves.
 *
 * - `/dashboard/<owner>`: the owner's functions
 * - `/dashboard/<owner>/functions/<fn>`: one function (its stack.yml name)
 * - `/dashboard/<owner>/builds/<repo>/<sha>/<fn>`: one build of one function of one commit, with its log
 *
 * Each part is lowercased (logins and repository names are case-insensitive on GitHub; deployed names and log keys are
 * lowercase) and percent-encoded.
 */
export interface DashboardUrls {
  owner(owner: string): string;
  function(owner: string, fn: string): string;
  build(owner: string, repo: string, sha: string, fn: string): string;
}

export function dashboardUrls(systemPublicUrl: string): DashboardUrls {
  const base = `${systemPublicUrl.replace(/\/+$/, "")}/dashboard`;
  const part = (value: string) => encodeURIComponent(value.toLowerCase());
  return {
    owner: (owner) => `${base}/${part(owner)}`,
    function: (owner, fn) => `${base}/${part(owner)}/functions/${part(fn)}`,
    build: (owner, repo, sha, fn) => `${base}/${part(owner)}/builds/${part(repo)}/${part(sha)}/${part(fn)}`,
  };
}
