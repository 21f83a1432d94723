// Prints one plain closing line, "Tests: N passed, N failed, N skipped", that CI reads as the run's result.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const failedSuites = results.numFailedTestSuites + results.numRuntimeErrorTestSuites;
    const line = `Tests: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${results.numPendingTests + results.numTodoTests} skipped`;
    process.stdout.write(`\n${line}\n`);
    if (failedSuites > 0) process.stdout.write(`(${failedSuites} test suite(s) failed to run or had failures)\n`);
  }
}
module.exports = SummaryReporter;
