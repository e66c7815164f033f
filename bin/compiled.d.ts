// The types of compiled.js, which stays JavaScript: bin/trex.js loads it before anything compiles TypeScript.
export function currentCompiledEntry(): URL | undefined;
