/** Injection token of the notifier's validated environment. */
export const NOTIFIER_ENV = Symbol('NOTIFIER_ENV');
