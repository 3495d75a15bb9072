import { Octokit } from "@octokit/rest";
import axios from "axios";
import type { Logger } from "pino";
import { HttpError } from "../../shared/http-error.js";
import type { Session } from "../../shared/session.js";

/** Where and as whom edge-auth asks GitHub who logged in. */
export interface GithubUserDeps {
  /** GitHub's web host (github_oauth_url), where codes are exchanged. */
  oauthUrl: string;
  /** GitHub's API (github_api_url). */
  apiUrl: string;
  clientId: string;
  clientSecret: string;
  log: Logger;
}

/** The GitHub user token, as the code exchange answers it; any other answer carries `error` (with status 200). */
type TokenAnswer = { access_token?: string; error?: string; error_description?: string };

/**
 * Returns `(code, redirectUri) → Session`: exchanges the OAuth code for a user token, then reads the user and their
 * organisations with it. The token is used for these two reads only: never stored, returned or logged.
 */
export function createGithubUser(deps: GithubUserDeps) {
  const tokenUrl = `${deps.oauthUrl.replace(/\/+$/, "")}/login/oauth/access_token`;
  return async function githubUser(code: string, redirectUri: string): Promise<Session> {
    let data: TokenAnswer;
    try {
      ({ data } = await axios.post<TokenAnswer>(
        tokenUrl,
        { client_id: deps.clientId, client_secret: deps.clientSecret, code, redirect_uri: redirectUri },
        { headers: { accept: "application/json" }, timeout: 10_000 },
      ));
    } catch (error) {
      // An axios error carries the request body, client secret included: only its message goes on (to the log).
      throw new HttpError(502, "GitHub's login did not answer: try again", { cause: new Error(String(error)) });
    }
    if (!data.access_token) {
      // GitHub answers 200 with {"error": …}: a stale or reused code, or a wrong client secret (operator's fault).
      deps.log.warn({ error: data.error, description: data.error_description }, "GitHub refused the OAuth code");
      throw new HttpError(401, `GitHub refused the login (${data.error ?? "no access_token"}): log in again`);
    }
    const octokit = new Octokit({
      auth: data.access_token,
      baseUrl: deps.apiUrl.replace(/\/+$/, ""),
      log: { debug: () => {}, info: () => {}, warn: (m: string) => deps.log.warn(m), error: () => {} },
    });
    const user = (await octokit.rest.users.getAuthenticated()).data;
    const orgs = await octokit.paginate(octokit.rest.orgs.listForAuthenticatedUser, { per_page: 100 });
    return { userId: user.id, login: user.login, orgs: orgs.map((o) => o.login.toLowerCase()) };
  };
}
