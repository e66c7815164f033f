// `npm run openapi`: writes the OpenAPI document the service serves to openapi/openapi.yaml, and the
// typed client's types generated from it to src/client/schema.ts. Run it after changing a route, a Kind
// or its fields (`trex generate` runs it itself); a test fails while the files are out of date.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildOpenApiDocument } from '../src/app/openapi-document.ts';
import { clientTypes, clientTypesFile, documentFile, documentYaml } from './openapi-artifacts.ts';

const root = process.cwd();
const document = await buildOpenApiDocument();
const files: [string, string][] = [
  [documentFile, documentYaml(document)],
  [clientTypesFile, await clientTypes(document)],
];
for (const [file, content] of files) {
  mkdirSync(dirname(join(root, file)), { recursive: true });
  writeFileSync(join(root, file), content);
  process.stdout.write(`wrote ${file}\n`);
}
