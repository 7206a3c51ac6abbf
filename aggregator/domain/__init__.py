"""Pure aggregator rules and events: no Kafka, SQL, web3 or HTTP here."""
