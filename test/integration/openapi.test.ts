import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { clientTypes, clientTypesFile, documentFile } from '../../scripts/openapi-artifacts.ts';
import { serviceForFile } from '../support/service.ts';

// The committed OpenAPI document and client types are what the service serves, and the document is
// clean under `redocly lint` with redocly.yaml.
const root = fileURLToPath(new URL('../..', import.meta.url));
const read = (file: string): string => readFileSync(`${root}/${file}`, 'utf8');
const outOfDate = (file: string): string =>
  `${file} is out of date: run \`npm run openapi\` and commit the result`;

interface Operation {
  operationId?: string;
  summary?: string;
  security?: unknown[];
  parameters?: { name: string; in: string; description?: string }[];
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
}

const methods = ['get', 'put', 'post', 'patch', 'delete'] as const;

function operations(document: { paths: Record<string, Record<string, Operation>> }): [string, Operation][] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    methods.flatMap((method) => (item[method] ? [[`${method.toUpperCase()} ${path}`, item[method]]] : [])),
  ) as [string, Operation][];
}

const service = serviceForFile();

describe('the OpenAPI document', () => {
  it(`is served exactly as committed in ${documentFile}`, async () => {
    const served = await service.api('/api/rh-trex/v1/openapi', { token: null });
    expect(served.status).toBe(200);
    expect(served.body, outOfDate(documentFile)).toEqual(parse(read(documentFile)));
  });

  it(`matches the committed client types in ${clientTypesFile}`, async () => {
    const document = parse(read(documentFile));
    expect(await clientTypes(document), outOfDate(clientTypesFile)).toBe(read(clientTypesFile));
  });

  it('names every operation, describes every parameter, and gives every error the Error schema', () => {
    const document = parse(read(documentFile));
    const ids = new Set<string>();
    for (const [name, operation] of operations(document)) {
      expect(operation.operationId, name).toMatch(/^[a-z][A-Za-z]+$/);
      ids.add(operation.operationId ?? '');
      expect(operation.summary, name).toBeTruthy();
      for (const parameter of operation.parameters ?? []) {
        expect(parameter.description, `${name}: ${parameter.in} ${parameter.name}`).toBeTruthy();
      }
      const errors = Object.keys(operation.responses).filter((status) => /^[45]/.test(status));
      expect(errors, name).toContain('500');
      for (const status of errors) {
        expect(
          operation.responses[status]?.content?.['application/json']?.schema,
          `${name} ${status}`,
        ).toEqual({
          $ref: '#/components/schemas/Error',
        });
      }
      // A route that needs a token documents both ways of being refused.
      if (operation.security === undefined || operation.security.length > 0) {
        expect(operation.security, name).toEqual([{ Bearer: [] }]);
        expect(errors, name).toEqual(expect.arrayContaining(['401', '403']));
      }
    }
    expect(ids.size).toBe(operations(document).length);
    expect(document.components.securitySchemes.Bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('is clean under redocly lint (redocly.yaml; offline)', async () => {
    const result = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(
        `${root}/node_modules/.bin/redocly`,
        ['lint', '--config', 'redocly.yaml', documentFile],
        {
          cwd: root,
          env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
        },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }),
      );
    });
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/Your API description is valid/);
  }, 60_000);
});
