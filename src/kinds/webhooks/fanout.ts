import { type RawBuilder, type SqlBool, sql } from 'kysely';
import type { Db, Tx } from '../../db/database.ts';
import type { EventRecord } from '../../events/controllers.ts';
import type { CompiledSearch } from '../../search/compiler.ts';
import { apiBase } from '../../service-name.ts';
import type { KindDefinition, KindRow } from '../framework/kind.ts';
import { createPresenter } from '../framework/presenter.ts';
import { relationJoins } from '../framework/relations.ts';
import { compiledFilterSearch, filterOf, listsAdmit, ownerSees } from './filter.ts';
import { webhookKind } from './model.ts';
import { deliveryPayload, type PayloadEvent } from './payload.ts';

interface EventRow extends PayloadEvent {
  seq: string;
  tenant_id: string | null; // the tenant of a tenant-scoped Kind's row; null otherwise
}

// The controller-manager handler for every event: one delivery per enabled webhook whose filter the
// event passes and whose owner may list the event's Kind, of the event's tenant (any webhook for a Kind
// that belongs to no tenant), with the payload fixed now, in one transaction that also marks the event
// fanned out. Most events have no webhook to go to, and for them one read finds that and writes nothing. Running it
// again for the same event (a retry, another replica after a crash) adds nothing.
export function fanOut({
  db,
  kinds,
  newId,
  grants,
}: {
  readonly db: Db;
  readonly kinds: readonly KindDefinition[];
  readonly newId: () => string;
  // Whether the authorization policy lets a webhook's owner (these claims) list a Kind.
  readonly grants: (
    claims: Readonly<Record<string, unknown>> | undefined,
    kind: string,
    verb: string,
  ) => boolean;
}): (event: EventRecord) => Promise<number> {
  const byEventSource = new Map(kinds.map((kind) => [kind.eventSource, kind]));
  return async (record) => {
    const { rows: candidates } = await sql<{ subscribed: boolean }>`
      select exists (
        select 1 from webhooks w
        where ${subscribedBefore(sql`e.seq`)} and ${ofTenant(byEventSource.get(record.source), sql`e.tenant_id`)}
      ) as subscribed
      from events e where e.id = ${record.id}`.execute(db);
    if (candidates[0]?.subscribed !== true) return 0;
    return await db.transaction().execute(async (trx) => {
      const { rows: marked } = await sql`
        insert into webhook_fanouts (event_id) values (${record.id}) on conflict do nothing
        returning event_id`.execute(trx);
      if (marked.length === 0) return 0;
      const { rows: events } = await sql<EventRow>`
        select id, source, source_id, event_type, created_at, actor, operation_id, seq::text as seq, tenant_id
        from events where id = ${record.id}`.execute(trx);
      const event = events[0];
      if (!event) return 0;
      const kind = byEventSource.get(event.source);
      const { rows: webhooks } = await sql<Record<string, unknown> & { id: string }>`
        select w.id, w.sources, w.event_types, w.search, w.owner_claims, w.tenant_id from webhooks w
        where ${subscribedBefore(sql`${event.seq}::bigint`)} and ${ofTenant(kind, sql`${event.tenant_id}::text`)}
        order by w.id`.execute(trx);
      const resource = kind ? await resourceOf(trx, kind, event.id) : undefined;
      const payload = deliveryPayload(
        event,
        resource && createPresenter(apiBase, resource.kind)(resource.row),
      );
      let made = 0;
      for (const webhook of webhooks) {
        const filter = filterOf(webhook);
        if (!listsAdmit(filter, event.source, event.event_type)) continue;
        // Only while the owner may still list what the event is about (and what its search reads).
        const owner = (webhook.owner_claims ?? undefined) as Readonly<Record<string, unknown>> | undefined;
        const ownerMay = (target: KindDefinition): boolean => grants(owner, target.name, 'list');
        // An event of a Kind no longer served goes only where the owner may list every Kind.
        if (!(kind ? ownerSees(filter, kind, ownerMay) : grants(owner, '*', 'list'))) continue;
        const searchedAs = { eventId: event.id, tenant: String(webhook.tenant_id) };
        if (
          filter.search !== undefined &&
          !(kind && (await searchAdmits(trx, kind, filter.search, searchedAs)))
        )
          continue;
        await sql`
          insert into webhook_deliveries
            (id, webhook_id, event_id, event_seq, source, source_id, event_type, payload)
          values (${newId()}, ${webhook.id}, ${event.id}, ${event.seq}::bigint, ${event.source},
            ${event.source_id}, ${event.event_type}, ${payload})
          on conflict (webhook_id, event_id) where redelivery_of is null do nothing`.execute(trx);
        made++;
      }
      return made;
    });
  };
}

// Whether any webhook could take the claimed event `e`, its tenant aside: where none could, the fan-out
// is not called for it, and an event costs it no statement (the claim answers).
export const anyWebhookFor: RawBuilder<SqlBool> = sql<SqlBool>`exists (
  select 1 from webhooks w where ${subscribedBefore(sql`e.seq`)})`;

// The webhooks that an event at `seq` goes to, before their filters: live and enabled, and created
// before the event. A webhook receives the events written after its own Create event, not older ones
// fanned out late, nor its own creation.
function subscribedBefore(seq: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`w.deleted_at is null and w.enabled
    and (select min(c.seq) from events c where c.source = ${webhookKind.eventSource} and c.source_id = w.id)
      < ${seq}`;
}

// A webhook of the event's tenant (an event written without one belongs to no tenant, ''), or any
// webhook when the event's Kind is not tenant-scoped.
function ofTenant(kind: KindDefinition | undefined, tenant: RawBuilder<unknown>): RawBuilder<unknown> {
  return kind?.tenantScoped ? sql`w.tenant_id = coalesce(${tenant}, '')` : sql`true`;
}

// The resource as the event's change left it (events keep a copy), typed by its table's columns.
async function resourceOf(
  trx: Tx,
  kind: KindDefinition,
  eventId: string,
): Promise<{ kind: KindDefinition; row: KindRow } | undefined> {
  const table = sql.table(kind.plural);
  const { rows } = await sql<KindRow>`
    select ${table}.* from events e
      cross join lateral jsonb_populate_record(null::${table}, e.object) as ${table}
    where e.id = ${eventId} and e.object is not null`.execute(trx);
  return rows[0] && { kind, row: rows[0] };
}

// Whether the resource, as the event left it, matches a webhook's search; a search through a relation
// (`dinosaur.species`) sees the related row as it is now, if it belongs to the webhook's tenant. A search that no longer means anything for
// this Kind (a field since removed) matches nothing.
async function searchAdmits(
  trx: Tx,
  kind: KindDefinition,
  search: string,
  event: { readonly eventId: string; readonly tenant: string }, // the webhook's tenant
): Promise<boolean> {
  let compiled: CompiledSearch;
  try {
    compiled = compiledFilterSearch(search, kind);
  } catch {
    return false;
  }
  const table = sql.table(kind.plural);
  const { rows } = await sql<{ matches: boolean }>`
    select coalesce(${compiled.where}, false) as matches from events e
      cross join lateral jsonb_populate_record(null::${table}, e.object) as ${table}
      ${relationJoins(kind, compiled.relations, kind.plural, (target, alias) =>
        target.tenantScoped ? sql<SqlBool>`${sql.ref(`${alias}.tenant_id`)} = ${event.tenant}` : undefined,
      )}
    where e.id = ${event.eventId} and e.object is not null`.execute(trx);
  return rows[0]?.matches === true;
}
