"""Ontologies service: ontology documents and their editor structure."""
