export { assertProductionSecret, authEnvShape, DEV_SECRET, WalletTokens } from './wallet-tokens';
