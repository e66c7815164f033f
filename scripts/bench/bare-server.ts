// The baseline: the same reads and writes as TRex's dinosaur routes, in a bare Fastify server over a
// pg pool, with no framework (no auth, validation, events, metrics or logs). Started by the benchmark
// as a process of its own; prints `ready` when it listens.
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.BENCH_DATABASE_URL, max: 20 });
const app = Fastify({ logger: false });

type Params = { id: string };

app.get<{ Params: Params }>('/dinosaurs/:id', async (request, reply) => {
  const { rows } = await pool.query('select * from dinosaurs where id = $1 and deleted_at is null', [
    request.params.id,
  ]);
  return rows[0] ?? reply.code(404).send();
});

// TRex's count: exact up to 10,000 rows (its --exact-count-limit), PostgreSQL's estimate beyond, so a
// list over a table the write workloads have grown counts as TRex's does.
const exactCountLimit = 10_000;
async function count(from: string, values: string[]): Promise<number> {
  const matching = `select 1 from ${from}`;
  const capped = await pool.query(
    `select count(*) from (${matching} limit ${exactCountLimit + 1}) matching`,
    values,
  );
  const total = Number(capped.rows[0].count);
  if (total <= exactCountLimit) return total;
  const plan = await pool.query(`explain (format json) ${matching}`, values);
  return Math.max(Math.round(plan.rows[0]['QUERY PLAN'][0].Plan['Plan Rows']), exactCountLimit + 1);
}

// The two statements of a TRex list: the count and the page.
app.get<{ Querystring: { species?: string } }>('/dinosaurs', async (request) => {
  const species = request.query.species;
  const where = species === undefined ? '' : ' and species = $1';
  const values = species === undefined ? [] : [species];
  const total = await count(`dinosaurs where deleted_at is null${where}`, values);
  const page = await pool.query(
    `select * from dinosaurs where deleted_at is null${where} order by created_at, id limit 100 offset 0`,
    values,
  );
  return { total, items: page.rows };
});

// The relation list: fossils of one species with the species embedded, as TRex's join reads them.
app.get<{ Querystring: { species: string } }>('/fossils', async (request) => {
  const values = [request.query.species];
  const from = `fossils left join dinosaurs as dinosaur on dinosaur.id = fossils.dinosaur_id
    and dinosaur.deleted_at is null where fossils.deleted_at is null and dinosaur.species = $1`;
  const total = await count(from, values);
  const page = await pool.query(
    `select fossils.*, dinosaur.species as "dinosaur.species" from ${from}
     order by fossils.created_at, fossils.id limit 100 offset 0`,
    values,
  );
  return { total, items: page.rows };
});

app.post<{ Body: { species: string } }>('/dinosaurs', async (request, reply) => {
  const now = new Date();
  const { rows } = await pool.query(
    'insert into dinosaurs (id, species, created_at, updated_at) values ($1, $2, $3, $3) returning *',
    [randomUUID(), request.body.species, now],
  );
  return reply.code(201).send(rows[0]);
});

app.patch<{ Params: Params; Body: { species: string } }>('/dinosaurs/:id', async (request, reply) => {
  const { rows } = await pool.query(
    'update dinosaurs set species = $2, updated_at = $3 where id = $1 and deleted_at is null returning *',
    [request.params.id, request.body.species, new Date()],
  );
  return rows[0] ?? reply.code(404).send();
});

await app.listen({ host: '127.0.0.1', port: Number(process.env.BENCH_PORT) });
process.stdout.write('ready\n');
// Exits by itself on SIGTERM, so that a CPU profile (--cpu-prof) is written.
process.once('SIGTERM', () => {
  void app.close().then(() => pool.end());
});
