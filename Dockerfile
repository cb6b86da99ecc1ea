# Airflow image with this project's pinned runtime requirements (no test or lint tools) and the provider.
FROM apache/airflow:3.3.2-python3.11

USER airflow
COPY --chown=airflow:root requirements.txt /opt/project/requirements.txt
RUN pip install --no-cache-dir "apache-airflow==3.3.2" -r /opt/project/requirements.txt

# Installed (not editable) for its metadata: the `encord` connection type and the "Encord pipelines" UI plugin
# are entry points. At run time PYTHONPATH (docker-compose.yaml) puts the mounted plugins/ and include/
# first, so the code in the mounts is what runs.
COPY --chown=airflow:root pyproject.toml README.md /opt/project/
COPY --chown=airflow:root plugins /opt/project/plugins
COPY --chown=airflow:root include /opt/project/include
RUN pip install --no-cache-dir --no-deps /opt/project
