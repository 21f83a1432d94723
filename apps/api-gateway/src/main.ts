import { RequestMethod } from '@nestjs/common';
import { runService } from '@unstuck/platform';
import { AppModule } from './app.module';
import { envShape } from './env';

runService({
  envShape,
  port: (env) => env.GATEWAY_PORT,
  module: (env) => AppModule.register(env),
  // The public REST API lives under /api/v1; probes and scrapes stay at the root where platforms expect them.
  configure: (app) => {
    app.setGlobalPrefix('api/v1', {
      exclude: [
        { path: 'health/live', method: RequestMethod.GET },
        { path: 'health/ready', method: RequestMethod.GET },
        { path: 'metrics', method: RequestMethod.GET },
      ],
    });
  },
});
