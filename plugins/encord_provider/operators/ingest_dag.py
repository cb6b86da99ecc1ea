"""Build the one `encord_ingest__<name>` DAG of a pipeline: cron, manual Params and, with a trigger
mode, the source Asset's watcher (`AssetOrTimeSchedule`), so every kind of run shares `max_active_runs=1`.

prepare -> shards -> plan (mapped over shard groups) -> batches -> [approve ->] register (mapped over register
batches of chunk plans, deferrable) -> link (mapped over shard groups) -> finalize -> announce (the Asset
event, only when something new was registered or linked); release_lease is the teardown. With
`approval.above_deletions`, plan -> approve_archive -> archive -> link as well. An unsharded
pipeline has one implicit shard: prepare -> plan -> [approve ->] register (mapped) -> link -> finalize, plan
and link unmapped. No `.expand` passes `max_map_length`: at most 1,024 shard groups, and plan batches chunks
so all groups together make at most `shards.max_register_tasks` (<= 1,024) register tasks.
Nothing here touches a bucket or Encord at parse time; tasks only receive the pipeline as a dict.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, AssetWatcher, Param, TriggerRule, task, teardown

from encord_provider.config.ingest import DATA_TYPES, IngestPipeline
from encord_provider.config.task_defaults import default_args
from encord_provider.deadlines import deadline_alert
from encord_provider.ingest.shards import is_sharded, pipeline_ledger_prefix
from encord_provider.ingest.stores import ledger_prefix

START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")


def ingest_params(pipeline: IngestPipeline) -> dict[str, Param]:
    """The manual-run form. Every optional field is nullable: left empty, the pipeline config applies."""
    return {
        "prefix": Param(
            None, type=["null", "string"], title="Prefix",
            description=f"Empty = configured prefix {pipeline.source.prefix!r}.",
        ),
        "since": Param(
            None, type=["null", "string"], format="date-time", title="Modified since",
            description="Only objects modified at or after this time (ISO 8601). Empty = no lower bound.",
        ),
        "dry_run": Param(False, type="boolean", title="Dry run", description="Write manifests, register nothing."),
        "data_types": Param(
            None, type=["null", "array"], items={"type": "string", "enum": list(DATA_TYPES)},
            examples=list(DATA_TYPES), title="Data types",
            description="Empty = every type. One or more of: " + ", ".join(DATA_TYPES) + ".",
        ),
        "max_objects": Param(
            None, type=["null", "integer"], minimum=0, title="Max objects", description="Empty or 0 = no limit."
        ),
        "chunk_size": Param(
            None, type=["null", "integer"], minimum=0, maximum=10_000, title="Entries per chunk",
            description=f"Empty or 0 = configured {pipeline.chunking.max_entries}.",
        ),
    }  # fmt: skip


def _add_ingest_tasks(pipeline: IngestPipeline) -> None:
    """The task chain, inside the current `with DAG(...)` block. Each task only calls `operators.ingest`."""
    from encord_provider.ingest.changes import deletions_need_approval
    from encord_provider.operators.ingest import EncordRegisterChunkOperator

    config = pipeline.model_dump(mode="json")

    def _pipeline() -> IngestPipeline:
        return IngestPipeline.model_validate(config)

    @task
    def prepare(**context: Any) -> dict[str, Any]:
        from encord_provider.operators.ingest import prepare_step

        return prepare_step(_pipeline(), dict(context["params"]), context["dag"].dag_id, context["run_id"])

    @task
    def shards(targets: Any, **context: Any) -> list[int]:
        from encord_provider.operators.ingest import shards_step

        return shards_step(_pipeline(), context["run_id"], dict(context["params"]))

    @task
    def plan(targets: Any, group: int | None = None, **context: Any) -> list[str]:
        from encord_provider.ingest.events import keys_from_asset_events
        from encord_provider.operators.ingest import plan_step, shards_step

        announced = keys_from_asset_events(context.get("triggering_asset_events"))
        if announced:
            print(f"started by events naming {len(announced)} objects, e.g. {announced[:5]}")
        if group is None:  # an unsharded pipeline: its one shard, fixed here
            shards_step(_pipeline(), context["run_id"])
        return plan_step(_pipeline(), dict(context["params"]), context["run_id"], targets, group or 0)

    @task
    def batches(per_group: Any) -> list[str]:
        """The register batches of every plan group as one list (what register is expanded over)."""
        return [uri for uris in per_group for uri in uris]

    @task
    def archive(targets: Any, **context: Any) -> dict[str, Any]:
        from encord_provider.operators.ingest import archive_step

        return archive_step(_pipeline(), targets, context["run_id"])

    @task(trigger_rule=TriggerRule.NONE_FAILED)
    def link(targets: Any, group: int = 0, **context: Any) -> dict[str, Any]:
        from encord_provider.operators.ingest import link_step

        return link_step(_pipeline(), targets, context["run_id"], group)

    @task(trigger_rule=TriggerRule.NONE_FAILED)
    def finalize(chunks: Any, linked: Any, targets: Any, **context: Any) -> dict[str, Any]:
        from encord_provider.operators.ingest import finalize_step

        results = [chunks[i] for i in range(len(chunks))] if chunks is not None else []
        links = linked if isinstance(linked, dict) else [linked[i] for i in range(len(linked or []))]
        return finalize_step(_pipeline(), dict(context["params"]), context["run_id"], results, links, targets)

    @task(outlets=[Asset(pipeline.asset_uri)])
    def announce(finalized: dict[str, Any], **context: Any) -> dict[str, Any]:
        from encord_provider.operators.ingest import announce_step

        return announce_step(_pipeline(), finalized, context["run_id"], context["outlet_events"])

    @teardown
    def release_lease(**context: Any) -> bool:
        from encord_provider.operators.ingest import release_step

        targets = context["ti"].xcom_pull(task_ids="prepare")  # None when prepare failed (it released)
        return release_step(_pipeline(), targets)

    targets = prepare()
    register = EncordRegisterChunkOperator.partial(task_id="register", pipeline=config, targets=targets)
    if is_sharded(pipeline):  # plan and link mapped per shard group
        groups = shards(targets)
        plan_uris = batches(plan.partial(targets=targets).expand(group=groups))
        linked = link.partial(targets=targets).expand(group=groups)
    else:  # one implicit shard: the same steps, unmapped (the DAG's shape is the one before shards)
        plan_uris = plan(targets)
        linked = link(targets)
    registered = register.expand(plan_uri=plan_uris)
    if pipeline.approval is not None and pipeline.approval.above_objects is not None:
        from encord_provider.operators.approval import approval_task

        plan_uris >> approval_task(pipeline) >> registered  # type: ignore[operator]
    if deletions_need_approval(pipeline):  # before link, which must see the archived records as deleted
        from encord_provider.operators.approval import archive_approval_task

        plan_uris >> archive_approval_task(pipeline) >> archive(targets) >> linked  # type: ignore[operator]
    registered >> linked
    finalized = finalize(registered.output, linked, targets)  # type: ignore[arg-type]  # XComArgs resolve at run time
    announced = announce(finalized)  # type: ignore[arg-type]
    released = release_lease()
    targets >> released  # type: ignore[operator]
    announced >> released


def ingest_schedule(pipeline: IngestPipeline) -> Any:
    """The cron schedule, the source Asset, or both (`AssetOrTimeSchedule`): one DAG per pipeline, so
    `max_active_runs=1` keeps scheduled, manual and event-driven runs from overlapping."""
    if pipeline.trigger.mode == "schedule":
        return pipeline.schedule
    asset = source_asset(pipeline)
    if pipeline.schedule is None:
        return [asset]
    if pipeline.schedule in ("@once", "@continuous"):
        raise ValueError(f"pipeline {pipeline.name!r}: schedule {pipeline.schedule} cannot be combined with "
                         f"trigger mode {pipeline.trigger.mode!r}")  # fmt: skip
    from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable

    timetable = CronTriggerTimetable(pipeline.schedule, timezone="UTC")
    return AssetOrTimeSchedule(timetable=timetable, assets=[asset])


def build_ingest_dag(pipeline: IngestPipeline) -> DAG:
    triggers = {"schedule": "", "s3_events": " or S3 event notifications", "polling": " or bucket polling"}
    with DAG(
        dag_id=pipeline.dag_id,
        schedule=ingest_schedule(pipeline),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=default_args(pipeline),
        params=ingest_params(pipeline),
        tags=["encord", "ingest", *pipeline.tags],
        deadline=deadline_alert(pipeline.deadline, pipeline.name, pipeline.dag_id),
        doc_md=f"Register new objects of `{pipeline.source.bucket_url}/{pipeline.source.prefix}` into Encord "
        f"folder **{pipeline.folder.name}** and link them into {[d.title for d in pipeline.datasets]}. "
        f"Runs on its schedule{triggers[pipeline.trigger.mode]}, and manually.",
    ) as dag:
        _add_ingest_tasks(pipeline)
    return dag


def source_watcher(pipeline: IngestPipeline) -> AssetWatcher:
    """SQS (S3 event notifications) or bucket polling, per the pipeline's trigger mode."""
    name = f"encord_source_watch__{pipeline.name}"
    if pipeline.trigger.mode == "s3_events":
        from airflow.providers.amazon.aws.triggers.sqs import SqsSensorTrigger

        trigger: Any = SqsSensorTrigger(
            sqs_queue=str(pipeline.trigger.sqs_queue_url),
            aws_conn_id=pipeline.trigger.aws_conn_id or pipeline.source.conn_id,
            max_messages=10,
            waiter_delay=max(1, int(pipeline.trigger.poll_interval_seconds)),
        )
        return AssetWatcher(name=name, trigger=trigger)
    from encord_provider.triggers.bucket_poll import BucketPollTrigger

    staging = pipeline.staging
    trigger = BucketPollTrigger(
        scheme=pipeline.source.scheme,
        bucket=pipeline.source.bucket,
        prefix=pipeline.source.prefix,
        conn_id=pipeline.source.conn_id,
        endpoint_url=pipeline.source.endpoint_url,
        poll_interval=pipeline.trigger.poll_interval_seconds,
        safety_lag_seconds=pipeline.ledger.watermark_lag_seconds,
        partitions=_poll_partitions(pipeline),
        staging={
            "scheme": staging.scheme,
            "bucket": staging.bucket,
            "conn_id": staging.conn_id,
            "endpoint_url": staging.endpoint_url,
            "ledger_prefix": pipeline_ledger_prefix(pipeline),  # the watermark (sharded: no records)
            **_poll_shards(pipeline),
        },
    )
    return AssetWatcher(name=name, trigger=trigger)


def _poll_shards(pipeline: IngestPipeline) -> dict[str, Any]:
    """Where a sharded pipeline's known objects are: the trigger looks each listed key up in its shard."""
    if not is_sharded(pipeline):
        return {}
    layout = {"prefix": pipeline.source.prefix, "shards": pipeline.shards.model_dump(mode="json"),
              "ledger_root": ledger_prefix(pipeline)}  # fmt: skip
    return {"shard_layout": layout}


def _poll_partitions(pipeline: IngestPipeline) -> dict[str, Any] | None:
    """The source's date partitions as plain trigger kwargs (serialised with the trigger)."""
    partitions = pipeline.source.listing.partitions
    if partitions is None or pipeline.source.listing.mode != "list":
        return None
    return {"format": partitions.format, "safety_lag": partitions.safety_lag.total_seconds(),
            "pruning": partitions.pruning}  # fmt: skip


def source_asset(pipeline: IngestPipeline) -> Asset:
    source = pipeline.source
    return Asset(
        name=f"encord_source__{pipeline.name}",
        uri=f"{source.scheme}://{source.bucket}/{source.prefix}",
        watchers=[source_watcher(pipeline)],
    )
