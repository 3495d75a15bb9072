/**
 * The functions this system runs itself (stack.yml: github-event, github-push, gitlab-event, gitlab-push, git-tar,
 * buildshiprun, garbage-collect, pipeline-log, build-reaper, edge-auth, dashboard-api, import-secrets). Community
 * Edition counts them against its cap like any other: the dashboard's three APIs share dashboard-api to leave users
 * more of the 15 (issue #11); an installation without GitLab may leave gitlab-event and gitlab-push out
 * (docs/gitlab.md), which gives its users two of them back.
 */
export const SYSTEM_FUNCTIONS = 12;

// GitHub cuts commit status descriptions at 140 characters (shared/github.ts).
const MAX = 140;

/**
 * The status for an image Community Edition cannot pull anonymously: it names the image's repository and what to do,
 * in at most 140 characters (a long name loses its start, never the advice).
 */
export function notPublic(image: string): string {
  const repository = image.replace(/@.*$/, "").replace(/:[^/:]*$/, "");
  const rest = image.startsWith("ghcr.io/")
    ? " is private (ghcr.io's default); OpenFaaS CE runs only public images: make it public or use Standard/Enterprise"
    : " is not public; OpenFaaS CE runs only public images: make it public or use OpenFaaS Standard/Enterprise";
  const room = MAX - rest.length;
  const shown = repository.length <= room ? repository : `…${repository.slice(repository.length - room + 1)}`;
  return shown + rest;
}

/**
 * A clear status for a refusal Community Edition's provider answered a deploy with, or undefined for any other:
 * faas-netes 0.18.17 pkg/handlers/{validate,deploy,update}.go and faasd 0.19.7 pkg/provider/handlers/deploy.go.
 * `message` is the gateway client's error; `image` the image deployed.
 */
export function explainRefusal(message: string, image: string): string | undefined {
  if (/only (allows|supports) public images/.test(message)) return notPublic(image);
  // faas-netes: "unable to create function, maximum: 15, …"; faasd: "the OpenFaaS CE EULA allows 15/16 function(s)".
  const cap = /maximum: (\d+), visit|EULA allows (\d+)\/\d+ function/.exec(message);
  if (cap) {
    const most = cap[1] ?? cap[2];
    return `OpenFaaS CE runs at most ${most} functions, ${SYSTEM_FUNCTIONS} of them this system's: remove unused ones or use Standard/Enterprise`;
  }
  if (/EULA allows \d+\/\d+ namespace/.test(message)) {
    return "OpenFaaS CE (faasd) allows one function namespace: remove the others or use faasd Pro";
  }
  const annotation = /annotation "([^"]*)" is not supported in the Community Edition/.exec(message);
  if (annotation) {
    const key = annotation[1]!.length > 50 ? `${annotation[1]!.slice(0, 49)}…` : annotation[1]!;
    return `OpenFaaS CE refuses the annotation ${key}: remove it from stack.yml or use Standard/Enterprise`;
  }
  if (/topic annotation may only support one value/.test(message)) {
    return "OpenFaaS CE takes one topic per function: keep one in stack.yml or use Standard/Enterprise";
  }
  const label = /(com\.openfaas\.scale\.[a-z-]+) (?:not available|is set too high) for Community Edition/.exec(message);
  if (label) {
    return `the gateway runs OpenFaaS CE, which refused ${label[1]!}: the operator sets openfaas_edition to auto or ce`;
  }
  return undefined;
}
