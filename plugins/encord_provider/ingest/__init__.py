"""The ingest domain: plan a run, register chunks, link items, reconcile with Encord, report.

Plain Python over object stores, the ledger and an Encord client; no Airflow. The operators, the DAG
factory and the triggers in `encord_provider.operators` / `encord_provider.triggers` are thin glue over it.
"""
