/**
 * Object names are prism's own (hex ids, record names, URI-encoded database names), but a
 * crafted repository or a bug must not turn one into a path outside the repository on any store:
 * no empty part, no `.` or `..`, no leading slash, no backslash or NUL.
 */
export function checkedName(name: string): string {
  if (name === '' || name.startsWith('/') || name.includes('\\') || name.includes('\0') || name.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw new Error(`invalid object name: ${JSON.stringify(name)}`);
  }
  return name;
}
