"""Airflow provider for onboarding cloud-bucket data into Encord."""

__version__ = "0.1.0"
