// Every test runs in UTC so that dates and hourly/daily buckets are the same on every machine.
process.env.TZ = 'UTC';
process.env.LOG_LEVEL = process.env.LOG_LEVEL || 'silent';
