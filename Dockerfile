# Airflow image with this project's pinned requirements and the provider package baked in.
FROM apache/airflow:3.3.2-python3.11

USER airflow
COPY --chown=airflow:root requirements.txt /opt/project/requirements.txt
RUN pip install --no-cache-dir "apache-airflow==3.3.2" -r /opt/project/requirements.txt

COPY --chown=airflow:root pyproject.toml README.md /opt/project/
COPY --chown=airflow:root plugins /opt/project/plugins
COPY --chown=airflow:root include /opt/project/include
RUN pip install --no-cache-dir --no-deps /opt/project
