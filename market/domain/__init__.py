"""Pure market rules: the session calendar (and, to come, clearing); no Kafka, SQL or HTTP."""
