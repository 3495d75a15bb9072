import { explainRefusal, notPublic } from "./ce-refusals.js";

// The texts are the providers' own: faas-netes 0.18.17 pkg/handlers and faasd 0.19.7 pkg/provider/handlers, as the
// gateway client wraps them (shared/gateway.ts).
const IMAGE = "registry.example.com/alice/fns--api:latest-6113728";
const answered = (text: string, method = "POST") => `gateway: ${method} /system/functions answered 400: ${text}`;

describe("explainRefusal: Community Edition's refusals → statuses that say what to do (issue #11)", () => {
  it.each([
    [
      "faas-netes: private image",
      answered("the Community Edition license agreement only allows public images"),
      "registry.example.com/alice/fns--api is not public; OpenFaaS CE runs only public images: make it public or use OpenFaaS Standard/Enterprise",
    ],
    [
      "faas-netes before 2024: private image",
      answered("the Community Edition license agreement only supports public images", "PUT"),
      "registry.example.com/alice/fns--api is not public; OpenFaaS CE runs only public images: make it public or use OpenFaaS Standard/Enterprise",
    ],
    [
      "faas-netes: the 16th function",
      answered(
        "unable to create function, maximum: 15, visit https://openfaas.com/pricing to upgrade to OpenFaaS Standard",
      ),
      "OpenFaaS CE runs at most 15 functions, 12 of them this system's: remove unused ones or use Standard/Enterprise",
    ],
    [
      "faasd: the 16th function",
      answered("the OpenFaaS CE EULA allows 15/16 function(s), upgrade to faasd Pro to continue"),
      "OpenFaaS CE runs at most 15 functions, 12 of them this system's: remove unused ones or use Standard/Enterprise",
    ],
    [
      "faasd: a second namespace",
      answered("the OpenFaaS CE EULA allows 1/2 namespace(s), upgrade to faasd Pro to continue"),
      "OpenFaaS CE (faasd) allows one function namespace: remove the others or use faasd Pro",
    ],
    [
      "faas-netes: a cloud annotation (create)",
      answered(
        'failed create Deployment spec: annotation "iam.amazonaws.com/role" is not supported in the Community Edition',
      ),
      "OpenFaaS CE refuses the annotation iam.amazonaws.com/role: remove it from stack.yml or use Standard/Enterprise",
    ],
    [
      "faas-netes: two topics (update)",
      answered("the topic annotation may only support one value in the Community Edition", "PUT"),
      "OpenFaaS CE takes one topic per function: keep one in stack.yml or use Standard/Enterprise",
    ],
    [
      "faas-netes: scale to zero sent (openfaas_edition=pro on CE)",
      answered("validation failed: com.openfaas.scale.zero not available for Community Edition"),
      "the gateway runs OpenFaaS CE, which refused com.openfaas.scale.zero: the operator sets openfaas_edition to auto or ce",
    ],
    [
      "faas-netes: over 5 replicas sent",
      answered("validation failed: com.openfaas.scale.max is set too high for Community Edition"),
      "the gateway runs OpenFaaS CE, which refused com.openfaas.scale.max: the operator sets openfaas_edition to auto or ce",
    ],
  ])("%s → a status of at most 140 characters", (_, message, expected) => {
    expect(explainRefusal(message, IMAGE)).toBe(expected);
    expect(expected.length).toBeLessThanOrEqual(140);
  });

  it.each([
    ["a missing secret", answered("unable to fetch secrets: secret alice--db not found")],
    ["an existing function", "gateway: POST /system/functions answered 500: unable to create function: exists"],
    ["an unreachable gateway", "gateway unreachable: POST system/functions: connect ECONNREFUSED"],
  ])("%s → undefined (the gateway's own text is shown)", (_, message) => {
    expect(explainRefusal(message, IMAGE)).toBeUndefined();
  });
});

describe("notPublic", () => {
  it("ghcr.io → says its packages start private", () => {
    expect(notPublic("ghcr.io/alice/fns--api:latest-6113728")).toBe(
      "ghcr.io/alice/fns--api is private (ghcr.io's default); OpenFaaS CE runs only public images: make it public or use Standard/Enterprise",
    );
  });

  it.each([
    ["ghcr.io", `ghcr.io/${"a".repeat(39)}/${"r".repeat(100)}--${"f".repeat(63)}:latest-6113728`],
    [
      "another registry, a digest",
      `registry.example.com:5000/${"o".repeat(39)}--${"r".repeat(100)}--api@sha256:${"0".repeat(64)}`,
    ],
  ])("the longest names (%s) → cut at the start, the advice kept, 140 characters", (_, image) => {
    const text = notPublic(image);
    expect(text.length).toBe(140);
    expect(text).toMatch(/^…/);
    expect(text).toMatch(/ make it public or use (OpenFaaS )?Standard\/Enterprise$/);
    expect(text).toMatch(/(f|--api) is (not public|private)[;( ]/);
  });
});
