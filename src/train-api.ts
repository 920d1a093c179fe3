/**
 * The public `train` namespace: the training layer (src/train/) and the dashboard callback,
 * which lives with its server in the services layer (src/dashboard/) and loads fastify only
 * when a dashboard starts.
 */
export * from './train/index.js';
export { Dashboard, type DashboardOptions } from './dashboard/callback.js';
