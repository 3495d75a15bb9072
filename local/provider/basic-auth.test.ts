import { createBasicAuth } from "./basic-auth.js";

const basic = (value: string) => `Basic ${Buffer.from(value).toString("base64")}`;

describe("createBasicAuth", () => {
  const check = createBasicAuth({ user: "admin", password: "pa:ss word" });

  it.each([
    ["the right user and password", basic("admin:pa:ss word"), true],
    ["a lower-case scheme", `basic ${Buffer.from("admin:pa:ss word").toString("base64")}`, true],
    ["a wrong password", basic("admin:pa:ss"), false],
    ["a wrong user", basic("root:pa:ss word"), false],
    ["no colon", basic("admin"), false],
    ["another scheme", "Bearer abc", false],
    ["no header", undefined, false],
  ])("%s → %s", (_, header, expected) => {
    expect(check(header)).toBe(expected);
  });
});
