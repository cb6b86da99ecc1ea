"""Projects service: project documents, workflow templates and the data a project sees."""
