"""Airflow provider for onboarding cloud-bucket data into Encord."""

from encord_provider.sdk_logging import apply_sdk_log_level

__version__ = "0.1.0"

apply_sdk_log_level()  # every process that uses the provider gets the same SDK log level
