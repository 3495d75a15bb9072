import {
  deployImage,
  functionName,
  gitlabOwner,
  gitlabOwnerId,
  imageName,
  isGitlabOwner,
  ownerIdSchema,
  previewFunctionName,
  previewKey,
  secretName,
  servedName,
} from "./naming.js";

describe("functionName", () => {
  it.each([
    ["alexellis", "tester", "alexellis--tester"],
    ["AlexEllis", "Tester", "alexellis--tester"],
    ["Codertocat", "hello-world", "codertocat--hello-world"],
    ["1234", "api", "1234--api"],
    ["alice-bob", "api", "alice-bob--api"],
    ["alice", "bob-api", "alice--bob-api"],
    ["github", "event", "github--event"],
  ])("%s + %s → %s", (owner, fn, expected) => {
    expect(functionName(owner, fn)).toBe(expected);
  });

  it.each([
    ["an underscore", "my_fn"],
    ["a dot", "my.fn"],
    ["a trailing dash", "fn-"],
    ["a leading dash", "-fn"],
  ])("function with %s → a 400 naming the DNS-1123 label rule", (_, fn) => {
    expect(() => functionName("alex", fn)).toThrow(
      new RegExp(`^function name "${fn.replace(".", "\\.")}" must be a DNS-1123 label`),
    );
  });

  it('a function name with "--" → a 400 naming the separator rule', () => {
    expect(() => functionName("alice", "bob--api")).toThrow(
      /^function name "bob--api" must not contain "--": it separates the owner from the name/,
    );
  });

  it("owner + function over 63 characters → a 400 naming the whole name and the label rule", () => {
    expect(() => functionName("a".repeat(39), "f".repeat(23))).toThrow(
      /^function name "a{39}--f{23}" must be a DNS-1123 label.*at most 63 characters$/,
    );
    expect(functionName("a".repeat(39), "f".repeat(22))).toHaveLength(63);
  });

  it.each([
    ["a double hyphen", "alice--bob"],
    ["a leading hyphen", "-alice"],
    ["a trailing hyphen", "alice-"],
    ["a dot", "alice.bob"],
    ["an underscore", "alice_bob"],
    ["40 characters", "a".repeat(40)],
    ["nothing", ""],
    ["a GitLab-like suffix without its key", "--gl"],
    ["a GitLab-like key over 40 characters", `${"a".repeat(37)}--gl`],
  ])("an owner with %s → a 400 naming the GitHub login rule", (_, owner) => {
    expect(() => functionName(owner, "api")).toThrow(
      `owner ${JSON.stringify(owner)} must be a GitHub login: 1-39 letters, digits or single hyphens`,
    );
  });
});

describe("secretName", () => {
  it.each([
    ["Alex", "API-Key", "alex--api-key"],
    ["alice-bob", "db", "alice-bob--db"],
    ["alice", "bob-db", "alice--bob-db"],
    ["private", "key", "private--key"],
    ["payload", "secret", "payload--secret"],
    ["alice", "tls.crt", "alice--tls.crt"],
  ])("%s + %s → %s", (owner, secret, expected) => {
    expect(secretName(owner, secret)).toBe(expected);
  });

  it("an invalid character → a 400 naming the subdomain rule", () =>
    expect(() => secretName("alex", "api key")).toThrow(/^secret name "api key" must be a DNS-1123 subdomain/));
  it('"--" → a 400 naming the separator rule', () =>
    expect(() => secretName("alex", "db--password")).toThrow(/^secret name "db--password" must not contain "--"/));
  it("an owner that is not a GitHub login → a 400", () =>
    expect(() => secretName("s3-", "secret-key")).toThrow(/^owner "s3-" must be a GitHub login/));

  it("owner + secret up to 253 characters is accepted; 254 → a 400 naming the whole name and the subdomain rule", () => {
    expect(secretName("a".repeat(39), "s".repeat(212))).toHaveLength(253);
    expect(() => secretName("a".repeat(39), "s".repeat(213))).toThrow(
      /^secret name "a{39}--s{213}" must be a DNS-1123 subdomain.*at most 253 characters$/,
    );
  });
});

describe("imageName", () => {
  const sha = "04b8e44aaaabbbbccccddddeeeeffff000011112";
  it.each([
    ["registry:5000", "alexellis", "go-fns", "tester", "registry:5000/alexellis/go-fns--tester:latest-04b8e44"],
    [
      "docker.io/of-community/",
      "AlexEllis",
      "go-fns",
      "func",
      "docker.io/of-community/alexellis--go-fns--func:latest-04b8e44",
    ],
    ["127.0.0.1:5000/", "Codertocat", "Hello-World", "fn", "127.0.0.1:5000/codertocat--hello-world--fn:latest-04b8e44"],
    // The original's `<repo>-<fn>`: repo "a-b" + fn "c" and repo "a" + fn "b-c" were one image.
    ["registry:5000", "alice", "a-b", "c", "registry:5000/alice/a-b--c:latest-04b8e44"],
    ["registry:5000", "alice", "a", "b-c", "registry:5000/alice/a--b-c:latest-04b8e44"],
  ])("%s %s/%s %s → %s", (registry, owner, repo, fn, expected) => {
    expect(imageName(registry, owner, repo, fn, sha)).toBe(expected);
  });

  it("a repo name the registry cannot hold → a 400 naming the component", () => {
    expect(() => imageName("reg:5000", "alex", "my_", "fn", sha)).toThrow(
      /^image path component "my_--fn" must be lowercase letters and digits separated by/,
    );
  });
  it("several trailing slashes on a shared-account prefix are all dropped", () => {
    expect(imageName("127.0.0.1:5000//", "alice", "fns", "fn", sha)).toBe(
      "127.0.0.1:5000/alice--fns--fn:latest-04b8e44",
    );
  });
  // A commit id comes from the webhook body: one with "/" or ":" must not reach the image reference as a tag.
  it.each(["04b8e4/", "04b:e44", "../x"])("a commit id %j that is no valid tag → a 400 naming the tag rule", (bad) => {
    expect(() => imageName("reg:5000", "alex", "fns", "fn", bad)).toThrow(
      /^image tag "latest-.*" must be word characters, '.' or '-', at most 128$/,
    );
  });
  // The registry's limit is on the name before ":<tag>"; "registry:5000/alice/" + repo + "--f" is 23 + repo characters.
  it("an image name of 255 characters before the tag is accepted; 256 → a 400 naming the whole image", () => {
    expect(imageName("registry:5000", "alice", "r".repeat(232), "f", sha)).toBe(
      `registry:5000/alice/${"r".repeat(232)}--f:latest-04b8e44`,
    );
    expect(() => imageName("registry:5000", "alice", "r".repeat(233), "f", sha)).toThrow(
      /^image name "registry:5000\/alice\/r{233}--f:latest-04b8e44" must be at most 255 characters before the tag$/,
    );
  });
  it('a function name with "--" → a 400 naming the separator rule', () => {
    expect(() => imageName("reg:5000", "alex", "fns", "a--b", sha)).toThrow(/^function name "a--b" must not contain/);
  });
});

describe("deployImage", () => {
  it.each([
    ["registry:5000/u/f:1", "registry:5000", "127.0.0.1:5000", "127.0.0.1:5000/u/f:1"],
    ["registry:31115/u/f:1", "registry:31115/", "127.0.0.1", "127.0.0.1/u/f:1"],
    ["other.io/u/f:1", "registry:5000", "127.0.0.1:5000", "other.io/u/f:1"],
    // Prefixes with a path and several trailing slashes: only the trailing ones are dropped, on both sides.
    ["docker.io/ofc/a--r--f:1", "docker.io/ofc//", "127.0.0.1:5000/ofc//", "127.0.0.1:5000/ofc/a--r--f:1"],
  ])("%s (push %s, pull %s) → %s", (image, push, pull, expected) => {
    expect(deployImage(image, push, pull)).toBe(expected);
  });
});

// Issue #19: GitLab namespaces as owners (known-answer vectors: h8 = first 8 hex of SHA-256 of the lowercased path).
describe("gitlabOwner", () => {
  it.each([
    ["alice", "alice-2bd806c9--gl"],
    ["group/sub", "group-sub-fea72908--gl"],
    // GitLab paths are unique case-insensitively: one namespace, one key.
    ["Group/Sub", "group-sub-fea72908--gl"],
    ["my_group.x/Sub-Group", "my-group-x-sub-group-5da3084b--gl"],
    // Nothing of the path is a letter or digit: the hash alone.
    ["___", "bda25155--gl"],
    // The slug is cut to 20 characters, and a "-" left at the cut is trimmed.
    [`${"a".repeat(30)}/b`, `${"a".repeat(20)}-cd545265--gl`],
  ])("%s → %s", (path, key) => {
    expect(gitlabOwner(path)).toBe(key);
    expect(isGitlabOwner(key)).toBe(true);
  });

  it("a slug cut right before a separator loses the trailing hyphen", () => {
    const key = gitlabOwner(`${"a".repeat(19)}/bbb`);
    expect(key).toMatch(/^a{19}-[0-9a-f]{8}--gl$/);
  });

  it("paths whose slugs agree (a/b, a.b, a_b, a-b) → distinct keys", () => {
    const keys = ["a/b", "a.b", "a_b", "a-b"].map(gitlabOwner);
    expect(new Set(keys).size).toBe(4);
    for (const key of keys) expect(key).toMatch(/^a-b-[0-9a-f]{8}--gl$/);
  });

  it.each([
    ["group-sub-fea72908--gl", "api", "group-sub-fea72908--gl--api"],
    ["Group-Sub-FEA72908--GL", "Api", "group-sub-fea72908--gl--api"],
  ])("functionName(%s, %s) → %s", (owner, fn, expected) => {
    expect(functionName(owner, fn)).toBe(expected);
  });

  it("secretName, servedName and imageName take a GitLab key as the owner", () => {
    const key = gitlabOwner("group/sub");
    expect(secretName(key, "db")).toBe(`${key}--db`);
    expect(servedName(key, "api")).toBe(`${key}--api`);
    expect(imageName("reg:5000", key, "project", "api", "04b8e44aaaa")).toBe(
      `reg:5000/${key}/project--api:latest-04b8e44`,
    );
    expect(imageName("reg:5000/", key, "project", "api", "04b8e44aaaa")).toBe(
      `reg:5000/${key}--project--api:latest-04b8e44`,
    );
  });

  it.each(["alice", "alice-bob", "group-sub-fea72908", "alice--bob", "alice--gl--x", "alice-gl"])(
    "%s is not a GitLab owner key",
    (owner) => expect(isGitlabOwner(owner)).toBe(false),
  );
});

describe("the reserved names of issue #19", () => {
  it.each(["gl", "GL"])('function name %s → a 400: "gl" marks GitLab owners\' names', (fn) => {
    expect(() => functionName("group-sub", fn)).toThrow(
      `function name "${fn}" is reserved: it marks GitLab owners' names`,
    );
    expect(() => previewFunctionName("group-sub", fn, "main")).toThrow(/is reserved/);
  });

  // Without the rule, GitHub owner `group-sub-fea72908`'s preview of a function "gl" for branch "x" would be
  // `group-sub-fea72908--gl--<key of x>`: the GitLab owner's main function named `<key of x>`.
  it("a GitHub preview can never be a GitLab main name", () => {
    const fn = previewKey("x");
    expect(functionName(gitlabOwner("group/sub"), fn)).toBe(`group-sub-fea72908--gl--${fn}`);
    expect(() => previewFunctionName("group-sub-fea72908", "gl", "x")).toThrow(/is reserved/);
    expect(() => servedName("group-sub-fea72908", `gl--${fn}`)).toThrow(/is reserved/);
  });

  it('shared-account images: a GitHub repository starting "gl--" → a 400; a GitLab owner\'s repository may', () => {
    const sha = "04b8e44aaaa";
    expect(() => imageName("reg:5000/", "group-sub-fea72908", "GL--project", "api", sha)).toThrow(
      'repository name "GL--project" is reserved: a leading "gl--" marks GitLab owners\' image names',
    );
    // The GitLab owner's image the refused one would have equalled.
    expect(imageName("reg:5000/", gitlabOwner("group/sub"), "project", "api", sha)).toBe(
      "reg:5000/group-sub-fea72908--gl--project--api:latest-04b8e44",
    );
    // One account per owner: the owner is its own path component, nothing to refuse.
    expect(imageName("reg:5000", "group-sub-fea72908", "gl--project", "api", sha)).toBe(
      "reg:5000/group-sub-fea72908/gl--project--api:latest-04b8e44",
    );
    expect(imageName("reg:5000/", gitlabOwner("g"), "gl--x", "api", sha)).toMatch(/--gl--gl--x--api:/);
  });
});

describe("ownerIdSchema and gitlabOwnerId", () => {
  it.each([[42], ["gitlab-42"], ["gitlab-1"]])("%j is an owner id", (id) => {
    expect(ownerIdSchema.safeParse(id).success).toBe(true);
  });
  it.each([[0], [-1], [1.5], ["42"], ["gitlab-0"], ["gitlab-042"], ["gitlab-"], ["GITLAB-4"], ["gitlab-4 "]])(
    "%j is refused",
    (id) => expect(ownerIdSchema.safeParse(id).success).toBe(false),
  );
  it("gitlabOwnerId(7) → gitlab-7, which never equals GitHub's 7 as a label", () => {
    expect(gitlabOwnerId(7)).toBe("gitlab-7");
    expect(String(gitlabOwnerId(7))).not.toBe(String(7));
  });
  it.each([0, -3, 1.5, Number.NaN])("gitlabOwnerId(%p) → a 400", (id) => {
    expect(() => gitlabOwnerId(id)).toThrow(/must be a positive whole number/);
  });
});
