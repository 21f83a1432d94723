import { assertProductionSecret } from '@unstuck/auth';
import { runService } from '@unstuck/platform';
import { AppModule } from './app.module';
import { DEV_HOT_WALLET_MNEMONIC, envShape } from './env';

runService({
  envShape,
  port: (env) => env.CLEARING_PORT,
  module: (env) => {
    assertProductionSecret(env);
    if (env.NODE_ENV === 'production' && env.HOT_WALLET_MNEMONIC === DEV_HOT_WALLET_MNEMONIC) {
      throw new Error('HOT_WALLET_MNEMONIC is the public development mnemonic; set the hot wallet\'s own (a secret) in production');
    }
    return AppModule.register(env);
  },
});
