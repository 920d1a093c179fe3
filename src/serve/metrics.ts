/**
 * The server's Prometheus metrics (GET /metrics, text exposition format), on a
 * prom-client registry of the server's own, so that several servers in one
 * process (tests, an application embedding two models) keep their counts apart.
 * The process metrics (resident memory, CPU, event-loop lag, heap) come with it.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface ServeMetrics {
  registry: Registry;
  requests: Counter<'method' | 'route' | 'status'>;
  latency: Histogram<'route'>;
  batchSize: Histogram;
  images: Counter;
  errors: Counter<'kind'>;
  preprocessSeconds: Histogram;
  inferenceSeconds: Histogram;
}

/** The metrics, with `queued` read at each scrape for the queue-depth gauge. */
export function createMetrics(queued: () => number): ServeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const seconds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
  const metrics: ServeMetrics = {
    registry,
    requests: new Counter({
      name: 'tsvision_http_requests_total',
      help: 'HTTP requests answered, by method, route and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    latency: new Histogram({
      name: 'tsvision_http_request_duration_seconds',
      help: 'time to answer a request, by route',
      labelNames: ['route'],
      buckets: seconds,
      registers,
    }),
    batchSize: new Histogram({ name: 'tsvision_batch_size', help: 'pictures per batch run by the model', buckets: [1, 2, 4, 8, 16, 32, 64, 128], registers }),
    images: new Counter({ name: 'tsvision_images_classified_total', help: 'pictures classified', registers }),
    errors: new Counter({ name: 'tsvision_errors_total', help: 'requests refused or failed, by kind', labelNames: ['kind'], registers }),
    preprocessSeconds: new Histogram({
      name: 'tsvision_preprocess_seconds',
      help: 'time to preprocess a batch in the inference thread',
      buckets: seconds,
      registers,
    }),
    inferenceSeconds: new Histogram({ name: 'tsvision_inference_seconds', help: "time of a batch's forward pass", buckets: seconds, registers }),
  };
  new Gauge({
    name: 'tsvision_queue_depth',
    help: 'pictures waiting for a batch',
    registers,
    collect() {
      this.set(queued());
    },
  });
  return metrics;
}
