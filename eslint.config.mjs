import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "cdktf.out/", ".build/", "coverage/", "bin/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // Infrastructure code reaches provider classes by deep path only; the package root costs seconds per process.
      "no-restricted-imports": ["error", { paths: [{ name: "@cdktf/provider-aws", message: "import from @cdktf/provider-aws/lib/<resource> instead" }] }],
    },
  },
  {
    // Terraform reads `${` and `%{` in any string of its JSON as template syntax.
    files: ["modules/**/*.ts", "stacks/**/*.ts"],
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector: "CallExpression[callee.object.name='JSON'][callee.property.name='stringify']",
          message: "a document bound for Terraform goes through terraformJson() from modules/terraform-literal, which escapes ${ and %{",
        },
      ],
    },
  },
  {
    files: ["functions/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["cdktf", "cdktf/*", "constructs", "@cdktf/*"], message: "Lambda code never imports cdktf" }] }],
    },
  },
  {
    files: ["**/*.cjs", "jest.config.js"],
    languageOptions: { sourceType: "commonjs", globals: { module: "writable", require: "readonly", __dirname: "readonly" } },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
