import { assertProductionSecret } from '@unstuck/auth';
import { runService } from '@unstuck/platform';
import { AppModule } from './app.module';
import { envShape } from './env';
import { RealtimeServer } from './realtime.server';

runService({
  envShape,
  port: (env) => env.NOTIFIER_PORT,
  module: (env) => {
    assertProductionSecret(env);
    return AppModule.register(env);
  },
  configure: (app) => {
    app.get(RealtimeServer).attach(app.getHttpServer());
  },
});
