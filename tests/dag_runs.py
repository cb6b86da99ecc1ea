"""Reading results of `dag.test()` runs; shared by the DAG tests and the `make demo` driver."""

from __future__ import annotations

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
