# Train on the bundled sample:   docker build -t anime-dcgan . && docker run -v $PWD/runs:/app/runs anime-dcgan --epochs 5
# Train on your own faces:       docker run -v $PWD/runs:/app/runs -v /path/to/faces:/faces anime-dcgan --data /faces
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first, so a change to the code does not reinstall TensorFlow.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY pyproject.toml README.md ./
COPY anime_dcgan/ anime_dcgan/
COPY data/ data/
RUN pip install --no-deps -e .

# Runs land in /app/runs/docker: mount /app/runs to keep them, and run again with a larger --epochs to resume.
ENTRYPOINT ["python", "-m", "anime_dcgan.fit", "--out", "runs/docker"]
CMD ["--epochs", "10"]
