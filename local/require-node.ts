/** The local tooling targets the production runtime (Node 22); npm scripts put the project's Node 22 first on PATH. */
export function requireNode22(): void {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 22) {
    process.stderr.write(
      `Node ${process.versions.node} is too old: run this through npm (npm start, npm run start:host), which uses the project's Node 22.\n`,
    );
    process.exit(2);
  }
}
