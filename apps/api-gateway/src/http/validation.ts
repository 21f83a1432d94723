import { applyDecorators, type PipeTransform } from '@nestjs/common';
import { ApiBody, ApiParam, ApiQuery } from '@nestjs/swagger';
import { type Static, type TObject, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import '@unstuck/contracts';
import { ApiError } from './errors';

type Where = 'query' | 'body' | 'path';

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();
const checkerOf = (schema: TSchema) => {
  let c = compiled.get(schema);
  if (!c) compiled.set(schema, (c = TypeCompiler.Compile(schema)));
  return c;
};

type QuickParse = (input: Record<string, unknown>) => Record<string, unknown>;
const quickParsers = new WeakMap<TSchema, QuickParse | null>();

/**
 * For a flat object of primitives (every query and path schema here), a converter that does what TypeBox's generic
 * Default + Convert walk does for well-formed input, at a fraction of its cost: numbers and booleans from their
 * text, defaults filled in. Its result is only used when it passes the schema; anything else takes the full path.
 */
function quickParserOf(schema: TSchema): QuickParse | null {
  let quick = quickParsers.get(schema);
  if (quick !== undefined) return quick;
  const props = Object.entries((schema as Partial<TObject>).properties ?? {});
  const numeric = new Set(props.filter(([, p]) => p.type === 'integer' || p.type === 'number').map(([k]) => k));
  const boolean = new Set(props.filter(([, p]) => p.type === 'boolean').map(([k]) => k));
  const defaults = props.filter(([, p]) => p.default !== undefined).map(([k, p]) => [k, p.default as unknown] as const);
  const flat = schema.type === 'object' && props.every(([, p]) => ['string', 'integer', 'number', 'boolean'].includes(p.type as string) || (p.anyOf as TSchema[] | undefined)?.every((a) => a.const !== undefined));
  quick = flat
    ? (input) => {
        const out: Record<string, unknown> = {};
        for (const k in input) {
          const v = input[k];
          out[k] = typeof v !== 'string' ? v : numeric.has(k) && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : boolean.has(k) && (v === 'true' || v === 'false') ? v === 'true' : v;
        }
        for (const [k, d] of defaults) if (out[k] === undefined) out[k] = d;
        return out;
      }
    : null;
  quickParsers.set(schema, quick);
  return quick;
}

/**
 * Parses one part of a request against its TypeBox schema: query strings are converted to the schema's types
 * (page=2 → 2), defaults filled in, and the first problem answered as a 400 naming the parameter.
 */
export function parseWith<T extends TSchema>(schema: T, input: unknown, where: Where): Static<T> {
  if (where === 'body' && (input === undefined || input === null) && schema.type === 'object') {
    throw ApiError.badRequest('invalid_body', 'the request needs a JSON body');
  }
  const checker = checkerOf(schema);
  const quick = where === 'body' ? null : quickParserOf(schema);
  if (quick) {
    const value = quick({ ...(input as Record<string, unknown>) });
    if (checker.Check(value)) return value as Static<T>;
  }
  const value = where === 'body' ? structuredClone(input) : Value.Convert(schema, Value.Default(schema, { ...(input as object) }));
  if (checker.Check(value)) return value as Static<T>;
  const first = checker.Errors(value).First()!;
  const name = first.path.replace(/^\//, '').replace(/\//g, '.');
  if (first.type === 45 /* ValueErrorType.ObjectAdditionalProperties */ || /Unexpected property/i.test(first.message)) {
    const extra = Object.keys(value as object).filter((k) => !((schema as unknown as TObject).properties ?? {})[k]);
    const names = extra.length ? extra : [name];
    throw ApiError.badRequest(`unknown_${where === 'path' ? 'path' : where}_parameter`, `unknown ${where} parameter${names.length > 1 ? 's' : ''}: ${names.join(', ')}`);
  }
  const described = (first.schema as { description?: string }).description;
  const code = where === 'body' ? 'invalid_body' : `invalid_${where === 'path' ? 'path' : 'query'}_parameter`;
  throw ApiError.badRequest(
    code,
    name ? `${where} parameter "${name}": ${first.message.toLowerCase()}${described ? ` (${described})` : ''}` : `${where}: ${first.message.toLowerCase()}`,
    { parameter: name || undefined },
  );
}

/** A Nest pipe that applies `parseWith`; use as `@Query(new Schema(QuerySchema, 'query'))`. */
export class Schema<T extends TSchema> implements PipeTransform<unknown, Static<T>> {
  constructor(
    private readonly schema: T,
    private readonly where: Where,
  ) {}
  transform(value: unknown): Static<T> {
    return parseWith(this.schema, value, this.where);
  }
}

/** OpenAPI for a query or path schema: one parameter per property, from the same schema that validates. */
export function ApiParams(schema: TObject, where: 'query' | 'path'): MethodDecorator & ClassDecorator {
  const required = new Set(schema.required ?? []);
  return applyDecorators(
    ...Object.entries(schema.properties).map(([name, prop]) =>
      where === 'query'
        ? ApiQuery({ name, required: required.has(name), schema: plain(prop), description: (prop as { description?: string }).description })
        : ApiParam({ name, required: true, schema: plain(prop), description: (prop as { description?: string }).description }),
    ),
  );
}

export function ApiJsonBody(schema: TSchema): MethodDecorator {
  return ApiBody({ schema: plain(schema) });
}

/** A TypeBox schema as plain JSON Schema (TypeBox adds symbol keys OpenAPI has no use for). */
export function plain(schema: TSchema): Record<string, never> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, never>;
}
