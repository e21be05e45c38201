"""Partner webhooks: endpoints, the event-type catalogue, and signed, retried deliveries."""
