// What the benchmark drives, each against TRex and, where one exists, against the bare baseline doing
// the same SQL. Reads run before writes, so searches see the seeded data unchanged.
import type { Request } from 'autocannon';
import { seededId, seededRows } from './database.ts';
import type { LoadOptions } from './load.ts';

export interface Target {
  readonly url: string; // the server's base URL
  readonly prefix: string; // `/api/rh-trex/v1` for TRex, `` for the baseline
  readonly headers: Record<string, string>;
}

export interface Workload {
  readonly name: string;
  readonly load: (target: Target) => LoadOptions;
  readonly baseline: boolean; // measured against the bare server too
  readonly minimumRatio?: number; // the target, as a share of the baseline's requests/s
  readonly maximumP99Ratio?: number; // the target for its p99 latency, as a multiple of the baseline's
}

export const connections = 64;
const json = { 'content-type': 'application/json' };
const randomSeeded = (): string => seededId(1 + Math.floor(Math.random() * seededRows));
let written = 0;
const species = (): string => `bench written ${++written}`;

const options = (target: Target, requests: Request[]): LoadOptions => ({
  url: target.url,
  connections,
  headers: target.headers,
  requests,
});

// The search parameters of TRex and the baseline's equivalent query string.
const listSearch = (target: Target, search: string, bare: string, fields = ''): string =>
  target.prefix === '' ? bare : `?${new URLSearchParams({ search, ...(fields ? { fields } : {}) })}`;

export const workloads: readonly Workload[] = [
  {
    name: 'GET by id',
    baseline: true,
    minimumRatio: 0.85,
    maximumP99Ratio: 1.2,
    load: (target) =>
      options(target, [
        {
          method: 'GET',
          setupRequest: (request) => ({ ...request, path: `${target.prefix}/dinosaurs/${randomSeeded()}` }),
        },
      ]),
  },
  {
    name: 'list 100 of 10,000',
    baseline: true,
    minimumRatio: 1,
    load: (target) => options(target, [{ method: 'GET', path: `${target.prefix}/dinosaurs` }]),
  },
  {
    name: 'list, search on an indexed field',
    baseline: true,
    minimumRatio: 1,
    load: (target) =>
      options(target, [
        {
          method: 'GET',
          path: `${target.prefix}/dinosaurs${listSearch(target, "species = 'bench species 7'", '?species=bench%20species%207')}`,
        },
      ]),
  },
  {
    name: 'list fossils, search and embed dinosaur.species',
    baseline: true,
    minimumRatio: 1,
    load: (target) =>
      options(target, [
        {
          method: 'GET',
          path: `${target.prefix}/fossils${listSearch(
            target,
            "dinosaur.species = 'bench species 7'",
            '?species=bench%20species%207',
            'id,site,dinosaur.species',
          )}`,
        },
      ]),
  },
  {
    name: 'create',
    baseline: true,
    minimumRatio: 0.9,
    load: (target) =>
      options(target, [
        {
          method: 'POST',
          path: `${target.prefix}/dinosaurs`,
          headers: { ...target.headers, ...json },
          setupRequest: (request) => ({ ...request, body: JSON.stringify({ species: species() }) }),
        },
      ]),
  },
  {
    name: 'patch',
    baseline: true,
    minimumRatio: 0.8,
    load: (target) =>
      options(target, [
        {
          method: 'PATCH',
          headers: { ...target.headers, ...json },
          setupRequest: (request) => ({
            ...request,
            path: `${target.prefix}/dinosaurs/${randomSeeded()}`,
            body: JSON.stringify({ species: species() }),
          }),
        },
      ]),
  },
  {
    // rh-trex's k6 script: list, create, get the created one, patch it.
    name: 'k6 mix (list, create, get, patch)',
    baseline: true,
    minimumRatio: 1,
    load: (target) => {
      const created = (context: object): string => (context as { id?: string }).id ?? '';
      return options(target, [
        { method: 'GET', path: `${target.prefix}/dinosaurs` },
        {
          method: 'POST',
          path: `${target.prefix}/dinosaurs`,
          headers: { ...target.headers, ...json },
          setupRequest: (request) => ({ ...request, body: JSON.stringify({ species: species() }) }),
          onResponse: (_status, body, context) => {
            (context as { id?: string }).id = (JSON.parse(body) as { id: string }).id;
          },
        },
        {
          method: 'GET',
          setupRequest: (request, context) => ({
            ...request,
            path: `${target.prefix}/dinosaurs/${created(context)}`,
          }),
        },
        {
          method: 'PATCH',
          headers: { ...target.headers, ...json },
          setupRequest: (request, context) => ({
            ...request,
            path: `${target.prefix}/dinosaurs/${created(context)}`,
            body: JSON.stringify({ species: species() }),
          }),
        },
      ]);
    },
  },
];
