/** Resolves `%NAME%` app-setting references in binding properties, as the Functions host does. */
export function resolveSettingReferences(
  value: string,
  env: Record<string, string | undefined> = process.env,
): string {
  return value.replace(/%([^%]+)%/g, (_whole, name: string) => {
    const resolved = env[name];
    if (resolved === undefined) throw new Error(`App setting "${name}" referenced as %${name}% is not set.`);
    return resolved;
  });
}

/** The connection string a binding's `connection` property names (default `AzureWebJobsStorage`). */
export function storageConnectionFor(
  connection: unknown,
  env: Record<string, string | undefined> = process.env,
): string {
  const name = typeof connection === 'string' && connection.length > 0 ? connection : 'AzureWebJobsStorage';
  const value = env[name] ?? env[`${name}__connectionString`];
  if (!value) throw new Error(`Storage connection setting "${name}" is not set.`);
  return value;
}
