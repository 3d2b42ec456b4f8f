import { Testing, TerraformLocal, TerraformOutput, TerraformStack } from "cdktf";
import fc from "fast-check";
import { SsmParameter } from "@cdktf/provider-aws/lib/ssm-parameter";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { terraformJson, terraformLiteral } from "../modules/terraform-literal";
import { stackTemplateProblems, templateProblems } from "./helpers/terraform-references";
import { synthAll } from "./helpers/synth";

const declared = {
  resources: new Set(["aws_sqs_queue.jobs"]),
  data: new Set(["aws_region.current"]),
  variables: new Set(["workspaces"]),
  locals: new Set(["workspace"]),
  modules: new Set<string>(),
};
const scope = { declared, forEach: false, count: false };
const problemsOf = (text: string) => templateProblems(text, scope).map((p) => p.problem);

/** How Terraform reads a template with no sequences in it: `$${` is `${` and `%%{` is `%{`. */
function asTerraformReadsIt(text: string): string {
  return text.replace(/([$%])\1\{/g, "$1{");
}

describe("the Terraform reference check", () => {
  const synthesized = [...synthAll().values()];

  it.each(synthesized.map((s) => [s.name, s]))("finds every ${…} in %s well-formed and naming what the stack declares", (_name, stack) => {
    expect(stackTemplateProblems(stack.tf)).toEqual([]);
  });

  it("fails a stack with a deliberately unescaped literal, naming the resource and the text", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "unescaped");
    new AwsProvider(stack, "aws", { region: "us-east-1" });
    new SsmParameter(stack, "flow-log-format", { name: "/flowtap/format", type: "String", value: "${interface-id} ${srcaddr}" });
    new SsmParameter(stack, "escaped-format", { name: "/flowtap/escaped", type: "String", value: terraformLiteral("${interface-id} ${srcaddr}") });
    const problems = stackTemplateProblems(JSON.parse(Testing.synth(stack)));
    expect(problems).toEqual([
      expect.objectContaining({ address: expect.stringMatching(/^aws_ssm_parameter\.flow-log-format/), attribute: "value", text: "${interface-id}", problem: expect.stringContaining("resource type interface-id") }),
      expect.objectContaining({ address: expect.stringMatching(/^aws_ssm_parameter\.flow-log-format/), attribute: "value", text: "${srcaddr}" }),
    ]);
  });

  it("accepts references to what is declared, in operators, function calls, for expressions and nested strings", () => {
    expect(problemsOf("${var.workspaces[terraform.workspace]}")).toEqual([]);
    expect(problemsOf('${local.workspace.region == "us-east-1" ? aws_sqs_queue.jobs.arn : data.aws_region.current.name}')).toEqual([]);
    expect(problemsOf('${[for key, val in toset(values(local.workspace)): "arn:${data.aws_region.current.name}:${val}"]}')).toEqual([]);
    expect(problemsOf("${{ a = 1, b: local.workspace }}")).toEqual([]);
    expect(problemsOf("%{ if local.workspace.x }yes%{ else }no%{ endif }")).toEqual([]);
    expect(problemsOf("$${srcaddr} %%{ literal } $$${x}")).toEqual([]);
  });

  it("names each undeclared or malformed reference", () => {
    expect(problemsOf("${local.missing}")).toEqual(["local.missing is not a declared local value"]);
    expect(problemsOf("${var.other}")).toEqual(["var.other is not a declared variable"]);
    expect(problemsOf("${aws_sqs_queue.other.arn}")).toEqual(["aws_sqs_queue.other is not a declared resource"]);
    expect(problemsOf("${data.aws_region.other.name}")).toEqual(["data.aws_region.other is not a declared data source"]);
    expect(problemsOf("${terraform.env}")).toEqual(["terraform.env is not a value Terraform has (only terraform.workspace)"]);
    expect(problemsOf("${each.value}")).toEqual(["each.value outside a block with for_each"]);
    expect(problemsOf('${"a${local.missing}"}')).toEqual([expect.stringContaining("local.missing is not a declared local value")]);
    expect(problemsOf("${(local.workspace]}")).toEqual([expect.stringContaining("not a well-formed expression")]);
    expect(problemsOf("${local.workspace +}")).toEqual([expect.stringContaining("not a well-formed expression")]);
    expect(problemsOf("${}")).toEqual([expect.stringContaining("an empty expression")]);
    expect(problemsOf("%{ while x }")).toEqual([expect.stringContaining("a directive other than")]);
    expect(problemsOf("${local.workspace")).toEqual(["a template sequence that is never closed"]);
  });

  it("terraformLiteral makes any text one that Terraform reads back unchanged", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("$", "%", "{", "}", "a", " ", '"', "\\") }), (text) => {
        const literal = terraformLiteral(text);
        expect(problemsOf(literal)).toEqual([]);
        expect(asTerraformReadsIt(literal)).toBe(text);
      }),
    );
  });

  it("terraformLiteral and terraformJson keep cdktf references as references", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "mixed");
    const region = new TerraformLocal(stack, "region", "us-east-1");
    new TerraformOutput(stack, "format", { value: terraformLiteral(`\${srcaddr} in ${region.asString}`) });
    new TerraformOutput(stack, "pattern", { value: terraformJson({ format: "${srcaddr}", region: region.asString }) });
    const tf = JSON.parse(Testing.synth(stack));
    expect(tf.output.format.value).toBe("$${srcaddr} in ${local.region}");
    expect(tf.output.pattern.value).toBe('{"format":"$${srcaddr}","region":"${local.region}"}');
    expect(stackTemplateProblems(tf)).toEqual([]);
  });
});
