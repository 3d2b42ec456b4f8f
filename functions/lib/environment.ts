/** A function's setting from its environment; a missing one is an error naming it (a deployment fault, not an event's). */
export function requiredSetting(environment: NodeJS.ProcessEnv, name: string): string {
  const value = environment[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}
