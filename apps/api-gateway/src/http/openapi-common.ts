import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { Type } from '@sinclair/typebox';
import { plain } from './validation';

/** The error body every endpoint answers with, documented once. */
export const ErrorSchema = Type.Object({
  error: Type.Object({
    code: Type.String({ examples: ['invalid_query_parameter'] }),
    message: Type.String(),
    details: Type.Optional(Type.Unknown()),
    /** On a 500 only: the request its error log line names. */
    request_id: Type.Optional(Type.String({ description: 'on a 500: the request the error was logged as' })),
  }),
});

export const ERROR_RESPONSES = applyDecorators(
  ApiResponse({ status: 400, description: 'bad input; the message names the parameter', schema: plain(ErrorSchema) }),
  ApiResponse({ status: 429, description: 'rate limited; see Retry-After', schema: plain(ErrorSchema) }),
  ApiResponse({ status: 503, description: 'a dependency is down; see Retry-After', schema: plain(ErrorSchema) }),
);
