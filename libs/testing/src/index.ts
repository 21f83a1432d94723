export { REPO_ROOT, serverDownFor, startServer, stopServer, superuser, uniqueSuffix, untilUp, waitFor, type Component } from './infra';
export { packetSentFixture } from './fixtures';
export { startBuiltApp, unlessExited, untilReady, type ServiceProcess } from './processes';
export { ChainSimAdmin, simChains, startChainSimRun, writeChainsFile, writeChainsFileFromStart, type SimChainEntry, type SimEndpoint, type SimPacket } from './chain-sim';
export { sumSamples } from './metrics';
export { packetDifferences, packetKeys, statsGrowth, statsRecount, statsTotals, type StatsCounts, type TruthPacket } from './pipeline-truth';
export { consumeFromNow } from './jetstream';
