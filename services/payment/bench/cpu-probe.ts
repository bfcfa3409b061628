/**
 * Preloaded into each benchmarked server (`node -r`): answers a `cpu` message on the IPC
 * channel with the process's own CPU counters (process.cpuUsage(), user + system, in µs), so
 * the benchmark can divide the CPU a fixed number of requests cost by that number. It adds no
 * route and no work per request.
 */
process.on('message', (message) => {
  if (message === 'cpu') process.send?.({ cpu: process.cpuUsage() });
});
// The IPC channel must not keep a server alive that is asked to stop.
process.channel?.unref();
