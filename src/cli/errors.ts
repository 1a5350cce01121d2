/** An error the user can fix (bad option, missing file): printed as one line, exit code 2. */
export class UsageError extends Error {}
