export { JetStreamConnection, streamConfigs, type JetStreamContext } from './connection';
export { DurableConsumer, PoisonMessageError, type ConsumerOptions, type Delivery, type DeliveryHandler, type HandlerResult } from './consumer';
export { natsEnvShape, type NatsEnv } from './env';
export { ConsumerHost, JetStreamHandler, MessagingModule, NATS_ENV, NatsReadiness } from './messaging.module';
export { AckInbox, PublishError, type PendingPublish } from './ack-inbox';
export { EventPublisher, InvalidEventError, type OutgoingEvent } from './publisher';
export { DeadLetters, REPLAYABLE_REASONS, REPLAY_OF_HEADER, type DeadLetter, type JetStreamSource } from './dead-letters';
