import { applyDecorators, type PipeTransform } from '@nestjs/common';
import { ApiBody, ApiParam, ApiQuery } from '@nestjs/swagger';
import { type Static, type TObject, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, ValueErrorType, type TypeCheck, type ValueError } from '@sinclair/typebox/compiler';
import '@unstuck/contracts';
import { ApiError } from './errors';

type Where = 'query' | 'body' | 'path';

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();
const checkerOf = (schema: TSchema) => {
  let c = compiled.get(schema);
  if (!c) compiled.set(schema, (c = TypeCompiler.Compile(schema)));
  return c;
};

type Converter = (input: Record<string, unknown>, where: 'query' | 'path') => Record<string, unknown>;
const converters = new WeakMap<TSchema, Converter>();

/** Integers as people write them: plain decimal digits (no exponent, hex, fraction, sign other than '-'). */
const INTEGER_TEXT = /^-?[0-9]{1,15}$/;
const NUMBER_TEXT = /^-?[0-9]{1,15}(\.[0-9]{1,15})?$/;

/**
 * The converter of a query or path schema (flat: every property a primitive or a union of literals): numbers and
 * booleans from their text, strictly — `1e12`, `0x10`, `2.9` for an integer, `true` for a number stay text and are
 * refused by the schema, never read as 1, 16, 2 or 1 — defaults filled in. A parameter given twice is refused here.
 */
function converterOf(schema: TSchema): Converter {
  let convert = converters.get(schema);
  if (convert) return convert;
  const props = Object.entries((schema as Partial<TObject>).properties ?? {});
  const integer = new Set(props.filter(([, p]) => p.type === 'integer').map(([k]) => k));
  const number = new Set(props.filter(([, p]) => p.type === 'number').map(([k]) => k));
  const boolean = new Set(props.filter(([, p]) => p.type === 'boolean').map(([k]) => k));
  const defaults = props.filter(([, p]) => p.default !== undefined).map(([k, p]) => [k, p.default as unknown] as const);
  convert = (input, where) => {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(input)) {
      const v = input[k];
      if (Array.isArray(v)) throw ApiError.badRequest(`invalid_${where === 'path' ? 'path' : 'query'}_parameter`, `${where} parameter "${k}" is given ${v.length} times; give it once`, { parameter: k });
      if (typeof v !== 'string') out[k] = v;
      else if (integer.has(k)) out[k] = INTEGER_TEXT.test(v) ? Number(v) : v;
      else if (number.has(k)) out[k] = NUMBER_TEXT.test(v) ? Number(v) : v;
      else if (boolean.has(k)) out[k] = v === 'true' ? true : v === 'false' ? false : v;
      else out[k] = v;
    }
    for (const [k, d] of defaults) if (out[k] === undefined) out[k] = d;
    return out;
  };
  converters.set(schema, convert);
  return convert;
}

/** What a format asks for, in words (the schema's description adds the specifics). */
const FORMAT_WORDS: Record<string, string> = {
  'date-time': 'an RFC 3339 time that exists, such as 2026-01-31T12:00:00Z',
  'input-time': 'an RFC 3339 time that exists, such as 2026-01-31T12:00:00Z, between 2000 and 2100',
  uuid: 'a UUID',
  uint64: 'an unsigned 64-bit integer in decimal (at most 18446744073709551615)',
};

/** Allowed values of a union of literals, or undefined for another union. */
function literals(schema: TSchema): unknown[] | undefined {
  const options = (schema as { anyOf?: TSchema[] }).anyOf;
  if (!options?.every((o) => o.const !== undefined)) return undefined;
  return options.map((o) => o.const as unknown);
}

/** One validation problem in the words a caller can act on (TypeBox's own messages name its internals). */
function problem(error: ValueError): string {
  const s = error.schema as TSchema & Record<string, unknown>;
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return 'is missing';
    case ValueErrorType.Union: {
      const allowed = literals(s);
      return allowed ? `must be one of ${allowed.map(String).join(', ')}` : error.message.toLowerCase();
    }
    case ValueErrorType.StringPattern:
      return `must match the pattern ${String(s.pattern)}`;
    case ValueErrorType.StringFormat:
      return `must be ${FORMAT_WORDS[String(s.format)] ?? `in ${String(s.format)} format`}`;
    case ValueErrorType.StringMaxLength:
      return `must be at most ${String(s.maxLength)} characters long`;
    case ValueErrorType.StringMinLength:
      return `must be at least ${String(s.minLength)} character${s.minLength === 1 ? '' : 's'} long`;
    case ValueErrorType.String:
      return 'must be a string';
    case ValueErrorType.Integer:
      return 'must be an integer written in decimal digits';
    case ValueErrorType.Number:
      return 'must be a number written in decimal digits';
    case ValueErrorType.Boolean:
      return 'must be true or false';
    case ValueErrorType.Literal:
      return `must be ${JSON.stringify(s.const)}`;
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.NumberMinimum:
      return `must be at least ${String(s.minimum)}`;
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMaximum:
      return `must be at most ${String(s.maximum)}`;
    case ValueErrorType.ArrayMinItems:
      return `must have at least ${String(s.minItems)} item${s.minItems === 1 ? '' : 's'}`;
    case ValueErrorType.ArrayMaxItems:
      return `must have at most ${String(s.maxItems)} items`;
    case ValueErrorType.Array:
      return 'must be a list';
    case ValueErrorType.Object:
      return 'must be a JSON object';
    default:
      return error.message.toLowerCase();
  }
}

/**
 * Parses one part of a request against its TypeBox schema: query strings and path segments are converted to the
 * schema's types strictly (page=2 → 2, never 2.9 → 2), defaults filled in, and the first problem answered as a 400
 * naming the parameter and what it must be. Unknown parameters are refused, every one named.
 */
export function parseWith<T extends TSchema>(schema: T, input: unknown, where: Where): Static<T> {
  if (where === 'body' && (input === undefined || input === null) && schema.type === 'object') {
    throw ApiError.badRequest('invalid_body', 'the request needs a JSON body');
  }
  const checker = checkerOf(schema);
  const value = where === 'body' ? input : converterOf(schema)({ ...(input as Record<string, unknown>) }, where);
  if (checker.Check(value)) return value as Static<T>;
  const errors = [...checker.Errors(value)];
  const extra = errors.filter((e) => e.type === ValueErrorType.ObjectAdditionalProperties);
  if (extra.length && where !== 'body') {
    const names = Object.keys(value as object).filter((k) => !((schema as unknown as TObject).properties ?? {})[k]);
    throw ApiError.badRequest(`unknown_${where === 'path' ? 'path' : 'query'}_parameter`, `unknown ${where} parameter${names.length > 1 ? 's' : ''}: ${names.join(', ')}`);
  }
  const first = errors.find((e) => e.type !== ValueErrorType.ObjectAdditionalProperties) ?? errors[0]!;
  const name = first.path.replace(/^\//, '').replace(/\//g, '.');
  if (first.type === ValueErrorType.ObjectAdditionalProperties) {
    // Body fields the schema does not have: TypeBox reports each at its own path.
    const names = extra.map((e) => e.path.replace(/^\//, '').replace(/\//g, '.'));
    throw ApiError.badRequest('unknown_body_parameter', `unknown body field${names.length > 1 ? 's' : ''}: ${names.join(', ')}`, { parameter: names[0] });
  }
  const described = (first.schema as { description?: string }).description;
  const code = where === 'body' ? 'invalid_body' : `invalid_${where === 'path' ? 'path' : 'query'}_parameter`;
  const label = where === 'body' ? 'body field' : `${where} parameter`;
  throw ApiError.badRequest(
    code,
    name
      ? `${label} "${name}" ${problem(first)}${described && first.type !== ValueErrorType.ObjectRequiredProperty && first.type !== ValueErrorType.Union ? ` (${described})` : ''}`
      : `${where === 'body' ? 'the body' : where} ${problem(first)}`,
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
  // A parameter with a default is optional to the caller, whatever TypeBox's `required` says.
  const required = new Set((schema.required ?? []).filter((name) => (schema.properties[name] as { default?: unknown } | undefined)?.default === undefined));
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
