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
export { EARLIEST_INPUT_TIME, isInputTime, isRealTime, isUint64, LATEST_INPUT_TIME, MAX_STORED_SEQUENCE, MAX_UINT64 } from './formats';
