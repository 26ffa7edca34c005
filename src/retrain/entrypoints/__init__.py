"""Entry points: Azure Functions blueprints and the CLI. Sinks and settings are set here."""
