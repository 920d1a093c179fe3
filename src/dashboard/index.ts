/**
 * The live training dashboard: the Dashboard callback (also `train.Dashboard`), and the
 * server and file watching behind `tsvision dashboard` (docs/dashboard.md).
 */
export { Dashboard, type DashboardOptions } from './callback.js';
export { DashboardServer, DashboardError, startDashboard, type DashboardServerOptions, type NewRun } from './server.js';
export { watchRuns } from './watch.js';
export { findRunDirs, isRunDir, readRun, type Run, type Evaluation } from './runs.js';
