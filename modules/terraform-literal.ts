/** Text Terraform must take as it is: `$${` keeps it from reading `${field}` (a flow log format's fields) as an expression. */
export function terraformLiteral(text: string): string {
  return text.replaceAll("${", () => "$${");
}
