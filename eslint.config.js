// Type-checked typescript-eslint (STYLE §2.19): no floating promises anywhere.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  // build/ is what faas-cli build writes. template/ is compiled inside each function's image build (its imports
  // resolve only in the build context), where tsc checks it; test/e2e/dogfood.test.ts runs that build.
  // .stryker-tmp/ and reports/ are mutation testing's sandboxes and report (docs/testing.md).
  {
    ignores: [
      "node_modules/**",
      "coverage/**",
      ".local/**",
      "**/*.js",
      "template/**",
      "build/**",
      ".stryker-tmp/**",
      "reports/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/only-throw-error": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
  {
    // jest's asymmetric matchers (expect.stringMatching, …) are typed `any`.
    files: ["**/*.test.ts"],
    rules: { "@typescript-eslint/no-unsafe-assignment": "off" },
  },
);
