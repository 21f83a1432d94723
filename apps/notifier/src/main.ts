import { runService } from '@unstuck/platform';
import { AppModule } from './app.module';
import { envShape } from './env';

runService({ envShape, port: (env) => env.NOTIFIER_PORT, module: (env) => AppModule.register(env) });
