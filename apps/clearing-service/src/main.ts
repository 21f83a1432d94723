import { assertProductionInternalSecret } from '@unstuck/auth';
import { runService } from '@unstuck/platform';
import { AppModule } from './app.module';
import { envShape, productionProblems } from './env';

runService({
  envShape,
  port: (env) => env.CLEARING_PORT,
  module: (env) => {
    assertProductionInternalSecret(env);
    const problems = productionProblems(env);
    if (problems.length) throw new Error(`clearing-service refuses to start in production:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    return AppModule.register(env);
  },
});
