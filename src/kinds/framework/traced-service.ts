import type { Tracer } from '../../observability/tracing.ts';
import type { KindDao, ListResult, ListSelection } from './dao.ts';
import type { IdempotencyKey } from './idempotency.ts';
import type { FieldValues, KindDefinition, KindRow } from './kind.ts';
import type { Referrer } from './relations.ts';
import type { KindRules } from './rules.ts';
import { type Condition, KindService, type ServiceDependencies } from './service.ts';

// A Kind service whose every call is a span (`Dinosaur.create`), between the request's span and the
// SQL spans of the call. The composition root builds it instead of a KindService only when tracing is
// on, so an untraced service pays nothing.
export class TracedKindService extends KindService {
  constructor(
    kind: KindDefinition,
    dao: KindDao,
    deps: ServiceDependencies,
    referrers: readonly Referrer[],
    rules: KindRules | undefined,
    private readonly tracer: Tracer,
  ) {
    super(kind, dao, deps, referrers, rules);
  }

  override get(id: string): Promise<KindRow> {
    return this.traced('get', id, () => super.get(id));
  }

  override getIncludingDeleted(id: string): Promise<KindRow> {
    return this.traced('getIncludingDeleted', id, () => super.getIncludingDeleted(id));
  }

  override list(selection: ListSelection): Promise<ListResult> {
    return this.traced('list', undefined, () => super.list(selection));
  }

  override create(values: FieldValues, idempotency?: IdempotencyKey): Promise<KindRow> {
    return this.traced('create', undefined, () => super.create(values, idempotency));
  }

  override patch(id: string, changes: FieldValues, condition?: Condition): Promise<KindRow> {
    return this.traced('patch', id, () => super.patch(id, changes, condition));
  }

  override delete(id: string, condition?: Condition): Promise<void> {
    return this.traced('delete', id, () => super.delete(id, condition));
  }

  private traced<T>(method: string, id: string | undefined, call: () => Promise<T>): Promise<T> {
    return this.tracer.inSpan(
      `${this.kind.name}.${method}`,
      'internal',
      { 'trex.kind': this.kind.name, 'trex.resource.id': id },
      call,
    );
  }
}

// The service the composition root hands to a Kind's routes and controllers.
export function createKindService(
  kind: KindDefinition,
  dao: KindDao,
  deps: ServiceDependencies,
  referrers: readonly Referrer[],
  rules: KindRules | undefined,
  tracer: Tracer | undefined,
): KindService {
  return tracer
    ? new TracedKindService(kind, dao, deps, referrers, rules, tracer)
    : new KindService(kind, dao, deps, referrers, rules);
}
