export {
  assertProductionInternalSecret,
  assertProductionSecret,
  authEnvShape,
  DEV_INTERNAL_SECRET,
  DEV_SECRET,
  internalEnvShape,
  WalletTokens,
} from './wallet-tokens';
