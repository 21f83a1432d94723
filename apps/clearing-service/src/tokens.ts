export const CLEARING_ENV = Symbol('CLEARING_ENV');
