import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** Queue depth (read from the outbox when scraped), delivery latency, failures by gateway and reason. */
export function createMessagingMetrics(
  registry: Registry,
  depth: () => Promise<Array<{ channel: string; status: string; count: number }>>,
) {
  new Gauge({
    name: "provisiond_messages_queue_depth",
    help: "Messages waiting for delivery (queued) or being handed to a gateway (sending), by channel",
    labelNames: ["channel", "status"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const row of await depth()) this.set({ channel: row.channel, status: row.status }, row.count);
    },
  });
  const deliveryLatency = new Histogram({
    name: "provisiond_message_delivery_seconds",
    help: "From queued to accepted by the gateway, by gateway",
    labelNames: ["gateway"] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
    registers: [registry],
  });
  const failures = new Counter({
    name: "provisiond_message_failures_total",
    help: "Failed delivery attempts by gateway and reason (final marks the ones not retried)",
    labelNames: ["gateway", "reason", "final"] as const,
    registers: [registry],
  });
  return { deliveryLatency, failures };
}

export type MessagingMetrics = ReturnType<typeof createMessagingMetrics>;
