// A mistake in what `trex generate` or `trex clone` was asked to do: one line, nothing written.
export class GeneratorError extends Error {}
