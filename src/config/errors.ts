// A configuration mistake: the CLI prints its message as one line and exits non-zero.
export class ConfigError extends Error {}
