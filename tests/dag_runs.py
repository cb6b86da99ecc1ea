"""Reading results of `dag.test()` runs; shared by the DAG tests and the `make demo` driver."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def xcom_value(dag_run: Any, task_id: str) -> Any:
    """The XCom return value `task_id` pushed in `dag_run`, or None when it pushed nothing."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        query = XComModel.get_many(
            run_id=dag_run.run_id, key="return_value", dag_ids=dag_run.dag_id, task_ids=task_id
        )
        row = session.scalars(query).first()
        return None if row is None else XComModel.deserialize_value(row)


def run_dag_test(dag: Any, **kwargs: Any) -> Any:
    """`dag.test(**kwargs)`, also for a DAG with a deadline alert (see `deadline_alerts_decoded`)."""
    with deadline_alerts_decoded():
        return dag.test(**kwargs)


@contextmanager
def deadline_alerts_decoded() -> Iterator[list[Any]]:
    """Work around apache/airflow#73428 (Airflow 3.3.2) while `dag.test()` runs.

    `DAG.test()` (airflow/sdk/definitions/dag.py:1280) builds its scheduler DAG with an in-memory
    serialize/deserialize round trip, and `DagSerialization.deserialize_dag`
    (airflow/serialization/serialized_objects.py:1889) keeps `deadline` as the encoded alerts (dicts), not
    the ids of `deadline_alert` rows that `SerializedDagModel.write_dag` stores for the real scheduler. When the run
    succeeds, `DagRun.update_state` (airflow/models/dagrun.py:1270) passes each entry to
    `DeadlineAlertModel.get_by_id`, whose UUID bind fails: `'dict' object has no attribute 'hex'`, and
    `dag.test()` raises for a run that succeeded. `update_state` only reads the alert's `reference_class` (to
    prune the run's deadlines), so an encoded alert is decoded into an unsaved row instead of looked up, as
    the open fix apache/airflow#73430 does. Ids (the real scheduler's path) go to Airflow's own lookup.
    Yields the list of alerts it decoded.
    """
    from airflow.models.deadline_alert import DeadlineAlert
    from airflow.serialization.definitions.deadline import DeadlineAlertFields
    from airflow.serialization.enums import Encoding

    defined, lookup = DeadlineAlert.__dict__["get_by_id"], DeadlineAlert.get_by_id
    decoded: list[Any] = []

    def get_by_id(deadline_alert_id: Any, **kwargs: Any) -> Any:
        if not isinstance(deadline_alert_id, dict):
            return lookup(deadline_alert_id, **kwargs)
        data = deadline_alert_id.get(Encoding.VAR, deadline_alert_id)
        decoded.append(DeadlineAlert(
            reference=data[DeadlineAlertFields.REFERENCE],
            interval=data[DeadlineAlertFields.INTERVAL],
            callback_def=data[DeadlineAlertFields.CALLBACK],
        ))  # fmt: skip
        return decoded[-1]

    DeadlineAlert.get_by_id = staticmethod(get_by_id)  # type: ignore[method-assign,assignment]
    try:
        yield decoded
    finally:
        DeadlineAlert.get_by_id = defined  # type: ignore[method-assign]
