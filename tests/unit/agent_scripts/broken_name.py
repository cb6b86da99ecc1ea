"""A script with the kind of bug the guide's pre-classification script has: an undefined name."""

if __name__ == "__main__":
    radio_ontology_classification.create_instance()  # type: ignore[name-defined]  # noqa: F821
