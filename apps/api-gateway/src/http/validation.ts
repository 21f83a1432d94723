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

/**
 * Parses one part of a request against its TypeBox schema: query strings are converted to the schema's types
 * (page=2 → 2), defaults filled in, and the first problem answered as a 400 naming the parameter.
 */
export function parseWith<T extends TSchema>(schema: T, input: unknown, where: Where): Static<T> {
  if (where === 'body' && (input === undefined || input === null) && schema.type === 'object') {
    throw ApiError.badRequest('invalid_body', 'the request needs a JSON body');
  }
  const value = where === 'body' ? structuredClone(input) : Value.Convert(schema, Value.Default(schema, { ...(input as object) }));
  const checker = checkerOf(schema);
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
