"""Projects from config: ontologies, workflow templates and projects found by title or created (no Airflow).

- `structure`: an `OntologyConfig` as the SDK's `OntologyStructure`, and the comparable form of any structure;
- `drift`: what a found ontology or project has that the config does not say, and the report of one run;
- `bootstrap`: find or create the ontology, the datasets and the project through the Encord gateway.
"""
