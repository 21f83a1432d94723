// Integration tests boot services and wait for them (see jest.config.js): 60 s per test and hook unless they say.
jest.setTimeout(60_000);
