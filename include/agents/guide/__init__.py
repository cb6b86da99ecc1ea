"""The Encord getting-started guide's agent scripts, as the guide gives them (see docs/agents-and-export.md,
"The guide's agent scripts"); each file's header lists the lines a user changes."""
