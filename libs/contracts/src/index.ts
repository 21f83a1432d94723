export * from './events/common';
export * from './events/packet';
export * from './events/clearing';
export * from './events/stats';
export * from './subjects';
export {
  EVENTS,
  EVENT_NAMES,
  eventForSubject,
  msgIdFor,
  packetKey,
  streamFor,
  subjectFilter,
  subjectFor,
  validateEvent,
  type EventMap,
  type EventName,
  type ValidationResult,
} from './registry';
export { buildAsyncApiDocument } from './asyncapi';
