"""USEF/UFTP interoperability: the Flex* XML messages (WiseGRID D4.2 Annex 10.9, the USEF
XSDs), their codec, and their mapping to and from flexmarket's requests, offers and awards.

Pure: no web, Kafka or SQL here; ``market/api/v1/uftp.py`` is the adapter.
"""
